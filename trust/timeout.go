package trust

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultTimeout is how long one request may take, from connecting to
// the last byte of its answer: far above what a working server needs
// (milliseconds; a slow registry, seconds), far below "forever".
const DefaultTimeout = 30 * time.Second

// WithTimeout bounds every request to the notary server and the registry
// (connect, TLS, the answer's headers and its body) to d.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// timeoutTransport gives each request its own deadline. notary's client
// has no context and a server that accepts a connection and never
// answers would hold a command forever: this is what ends it.
type timeoutTransport struct {
	inner http.RoundTripper
	limit time.Duration
}

// TimeoutError is a request that got no (whole) answer in time.
type TimeoutError struct {
	Host  string
	Limit time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no answer from %s within %s", e.Host, e.Limit)
}

// Unwrap makes it a deadline, as the caller's own would be.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

func (t timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithTimeout(parent, t.limit)
	resp, err := t.inner.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, t.explain(err, ctx, parent, req)
	}
	// The deadline covers the body too: it ends when the body is closed.
	resp.Body = &deadlineBody{ReadCloser: resp.Body, cancel: cancel, t: t, ctx: ctx, parent: parent, req: req}
	return resp, nil
}

// explain says that the time limit, not the caller, ended the request.
func (t timeoutTransport) explain(err error, ctx, parent context.Context, req *http.Request) error {
	if ctx.Err() == context.DeadlineExceeded && parent.Err() == nil {
		return &TimeoutError{Host: req.URL.Host, Limit: t.limit}
	}
	return err
}

type deadlineBody struct {
	io.ReadCloser
	cancel      context.CancelFunc
	t           timeoutTransport
	ctx, parent context.Context
	req         *http.Request
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = b.t.explain(err, b.ctx, b.parent, b.req)
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	defer b.cancel()
	return b.ReadCloser.Close()
}
