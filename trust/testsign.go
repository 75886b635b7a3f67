package trust

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"

	canonicaljson "github.com/docker/go/canonical/json"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// TestSignOptions tune TestSign.
type TestSignOptions struct {
	Keep bool // keep the signature published
	// PinnedRoot are the root key IDs the consumer check trusts, e.g. from
	// the exported root certificate (RootCertIDs); empty: the repository's
	// root as the trust dir knows it.
	PinnedRoot []string
}

// TestSignResult is the proof that the repository can sign and be read.
type TestSignResult struct {
	GUN      string    `json:"gun"`
	Tag      string    `json:"tag"`
	Image    Image     `json:"image"`               // what the registry says
	Role     string    `json:"role"`                // the role that signed
	Verified *Resolved `json:"verified"`            // what a pinned, fresh consumer resolved
	Kept     bool      `json:"kept"`                // the signature stays published
	Existing bool      `json:"existing"`            // the tag was already signed with this digest
	Pinned   []string  `json:"pinned_root_key_ids"` // the root key IDs the consumer check trusted
}

// TestSign signs GUN:TAG with the registry's digest and size into
// targets/releases when the key store holds a releases key, else into
// targets; publishes; resolves the tag as a consumer pinned to the root
// certificate from an empty cache; and unless keep, removes the test
// signature again. A test signature that is to be removed carries a marker in its custom data:
// a rerun after a failed removal recognises and removes it. A tag with a
// real signature for the same digest is verified and left alone; one
// signed for another digest is refused, so a real signature is never
// overwritten or removed.
func (c *Client) TestSign(ctx context.Context, gun GUN, tag string, opts TestSignOptions) (*TestSignResult, error) {
	keep := opts.Keep
	// The trust data first: without it (or a key to sign with) the tag does not matter.
	s, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, err
	}
	role, err := s.signingRole(repo)
	if err != nil {
		return nil, err
	}
	img, err := c.signableImage(ctx, gun, tag)
	if err != nil {
		return nil, err
	}
	sum, err := hex.DecodeString(strings.TrimPrefix(img.Digest, "sha256:"))
	if err != nil || !strings.HasPrefix(img.Digest, "sha256:") {
		return nil, newError(ErrRegistry, img.Ref, "", "the registry gave digest %q, not sha256", img.Digest)
	}
	res := &TestSignResult{GUN: gun.String(), Tag: tag, Image: *img, Role: role.String(), Kept: keep}
	signed, ok := targetIn(repo, role, tag)
	switch {
	case ok && (!bytes.Equal(signed.Hashes["sha256"], sum) || signed.Length != img.Size):
		return nil, newError(ErrTagAlreadySigned, gun.String()+":"+tag, "test-sign a tag that is not signed yet",
			"the tag is already signed in %s for another digest; a test signature would replace it", role)
	case ok && !isTestSignature(signed):
		// A real signature for this digest: verify it, never remove it.
		res.Existing, res.Kept = true, true
	case ok:
		// An earlier test signature whose removal failed: verify and remove it now.
	default:
		target := &client.Target{Name: tag, Hashes: data.Hashes{"sha256": sum}, Length: img.Size}
		if !keep { // a kept signature is a real one
			marker := canonicaljson.RawMessage(testSignatureMarker)
			target.Custom = &marker
		}
		if err := s.repo.AddTarget(target, role); err != nil {
			return nil, s.explain(err, ErrPublish)
		}
		if err := s.publish(func(after *tuf.Repo) bool {
			t, ok := targetIn(after, role, tag)
			return ok && bytes.Equal(t.Hashes["sha256"], sum)
		}); err != nil {
			return nil, err
		}
	}

	pinned := opts.PinnedRoot
	if len(pinned) == 0 {
		certs, err := rootCertificates(gun, repo)
		if err != nil {
			return nil, err
		}
		pinned = PinnedIDs(certs)
	}
	res.Pinned = pinned
	// The check reads what this publish left; the removal below reuses it.
	got, err := c.resolveAsConsumer(ctx, gun, pinned, tag, s.remote.session)
	if err == nil && (got.Digest != img.Digest || got.Size != img.Size) {
		err = newError(ErrVerification, gun.String()+":"+tag, "look at what the repository's trust data says",
			"a consumer resolves %s (%d bytes), the registry has %s (%d bytes)", got.Digest, got.Size, img.Digest, img.Size).with(ActionInspect)
	}
	if !res.Kept {
		// Remove the test signature whether or not verification passed.
		rerr := s.repo.RemoveTarget(tag, role)
		if rerr == nil {
			rerr = s.publish(func(after *tuf.Repo) bool { _, ok := targetIn(after, role, tag); return !ok })
		}
		if rerr != nil {
			return nil, &Error{Kind: ErrPublish, Input: gun.String() + ":" + tag, Cause: rerr,
				Msg: "the test signature is still published: removing it failed: " + rerr.Error(),
				Fix: "run the same test signing again: it recognises its test signature and removes it", Action: ActionRerun}
		}
	}
	if err != nil {
		return nil, err
	}
	res.Verified = got
	return res, nil
}

// SigningRole says which role dctwiz would sign a tag into: targets/releases
// when the key store holds one of its keys, else targets.
func (c *Client) SigningRole(ctx context.Context, gun GUN) (string, error) {
	s, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return "", err
	}
	role, err := s.signingRole(repo)
	return role.String(), err
}

func (s *session) signingRole(repo *tuf.Repo) (data.RoleName, error) {
	held := s.keys.ListKeys()
	if d, ok := delegationByRole(repo, ReleasesRole); ok {
		keys := repo.Targets[data.CanonicalTargetsRole].Signed.Delegations.Keys
		for _, id := range d.published {
			if k, ok := keys[id]; ok {
				if cid, err := utils.CanonicalKeyID(k); err == nil {
					if _, ok := held[cid]; ok {
						return ReleasesRole, nil
					}
				}
			}
		}
	}
	if err := s.needTargetsKey(repo, "sign"); err != nil {
		return "", newError(ErrNoTargetsKey, s.gun.String(),
			"run this where a targets/releases signer key or the targets key is",
			"cannot sign: the trust dir %s holds neither a targets/releases key nor the targets key", s.c.trustDir)
	}
	return data.CanonicalTargetsRole, nil
}

// testSignatureMarker is the custom data of a test signature, so that a
// rerun can tell it from a real signature of the same digest.
const testSignatureMarker = `{"dctwiz":"test-signature"}`

func isTestSignature(meta data.FileMeta) bool {
	return meta.Custom != nil && bytes.Contains(*meta.Custom, []byte(`"dctwiz":"test-signature"`))
}

func targetIn(repo *tuf.Repo, role data.RoleName, tag string) (data.FileMeta, bool) {
	t, ok := repo.Targets[role]
	if !ok || t == nil {
		return data.FileMeta{}, false
	}
	meta, ok := t.Signed.Targets[tag]
	return meta, ok
}
