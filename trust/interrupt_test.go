package trust_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

// interruptAfterPost lets the publish reach the server, then interrupts
// the engine call (ctrl+c, SIGTERM) before its answer is read.
type interruptAfterPost struct {
	inner  http.RoundTripper
	cancel context.CancelFunc
	down   bool // the server is gone as well after the publish
	posted bool
}

func (i *interruptAfterPost) RoundTrip(r *http.Request) (*http.Response, error) {
	if i.posted && i.down {
		return nil, errors.New("connection refused")
	}
	resp, err := i.inner.RoundTrip(r)
	if r.Method == http.MethodPost && !i.posted {
		i.posted = true
		if err == nil {
			resp.Body.Close()
		}
		i.cancel()
		return nil, context.Canceled
	}
	return resp, err
}

// The outcome is always true: a publish interrupted after the server
// committed it is looked up on a fresh, short context and reported as
// done; when the server cannot be asked, the error says the outcome is
// unknown. Before, the look used the interrupted context, so it always
// failed, and the CLI then said "Nothing was done".
func TestAnInterruptedPublishIsLookedUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		down    bool
		unknown bool
	}{{"the server answers the look", false, false}, {"the server is gone too", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			gun := newGUN(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			it := &interruptAfterPost{inner: tlsTo(t), cancel: cancel, down: tc.down}
			c := newClient(t, trust.WithTransport(it))
			res, err := c.Init(ctx, gun, trust.FileRootKey(""))
			if tc.unknown {
				if !trust.OutcomeUnknown(err) || !strings.Contains(err.Error(), "could not be asked") || strings.Contains(err.Error(), "nothing was published") {
					t.Fatalf("interrupted, the server gone: %v; want the outcome unknown", err)
				}
				return
			}
			if err != nil || res == nil || res.Root.ID == "" {
				t.Fatalf("interrupted after the server committed: %+v, %v; want it found published", res, err)
			}
			if _, err := newClient(t).Inspect(context.Background(), gun); err != nil {
				t.Errorf("the repository is not published after all: %v", err)
			}
		})
	}
}
