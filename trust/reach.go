package trust

import (
	"context"
	"net/url"
)

// Reach checks that the notary server for gun answers over TLS and
// accepts this client's credentials for gun, without touching trust data:
// the wizard's environment checklist.
func (c *Client) Reach(ctx context.Context, gun GUN) error {
	server := c.ServerURL(gun)
	if u, err := url.Parse(server); err == nil && u.Scheme == "http" {
		return newError(ErrBadInput, server, "give the server as https://...", "the notary server URL is not TLS (http://)").with(ActionServer)
	}
	_, err := c.notaryTransport(ctx, gun)
	return err
}

// Credentials says where the credentials for gun's notary server come
// from: "NOTARY_AUTH", "docker config" or "" when none are found (an open
// server, or a login missing).
func (c *Client) Credentials(ctx context.Context, gun GUN) (string, error) {
	_, source, err := c.notaryCredentials(ctx, gun)
	return source, err
}
