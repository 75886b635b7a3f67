package trust

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// Delegation is a delegated role of a repository as docker sees it: a
// signer (targets/<name>) or the shared targets/releases role.
type Delegation struct {
	Name string `json:"name"` // "releases" or the signer name
	Role string `json:"role"` // targets/<name>
	// KeyIDs are canonical key IDs, as docker and the notary CLI show them.
	KeyIDs    []string `json:"key_ids"`
	Paths     []string `json:"paths"`
	Threshold int      `json:"threshold"`

	published []string // the IDs in targets.json (certificate key IDs)
}

// DelegationResult says what AddDelegation or RemoveDelegation changed.
type DelegationResult struct {
	GUN      string   `json:"gun"`
	Signer   string   `json:"signer"`
	KeyIDs   []string `json:"key_ids"`  // canonical IDs of the signer's keys
	Roles    []string `json:"roles"`    // the roles changed, e.g. targets/releases and targets/<name>
	Changed  bool     `json:"changed"`  // false: the server already had it this way
	Warnings []string `json:"warnings"` // e.g. a certificate that expires soon
}

// AddDelegation adds a signer the way `docker trust signer add` does: its
// certificate's key goes into targets/releases and targets/<name>, both
// for all paths, then the change is published. It needs the targets key.
// Adding a signer that is already there changes nothing.
func (c *Client) AddDelegation(ctx context.Context, gun GUN, name string, cert *Certificate) (*DelegationResult, error) {
	if err := checkSigner(name, cert); err != nil {
		return nil, err
	}
	s, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, err
	}
	key := cert.PublicKey()
	res := &DelegationResult{GUN: gun.String(), Signer: name, KeyIDs: []string{cert.KeyID}, Roles: []string{},
		Warnings: append([]string{}, cert.Warnings...)}
	signerRole := data.RoleName("targets/" + name)
	for _, role := range []data.RoleName{ReleasesRole, signerRole} {
		if d, ok := delegationByRole(repo, role); ok && slices.Contains(d.published, key.ID()) && slices.Contains(d.Paths, "") {
			continue
		}
		if err := s.repo.AddDelegation(role, []data.PublicKey{key}, []string{""}); err != nil {
			return nil, s.explain(err, ErrPublish)
		}
		res.Roles = append(res.Roles, role.String())
	}
	if len(res.Roles) == 0 {
		return res, nil // already there: no key needed, nothing to publish
	}
	if err := s.needTargetsKey(repo, "add a signer"); err != nil {
		return nil, err
	}
	if err := s.publish(func(after *tuf.Repo) bool {
		r, ok1 := delegationByRole(after, ReleasesRole)
		n, ok2 := delegationByRole(after, signerRole)
		return ok1 && ok2 && slices.Contains(r.published, key.ID()) && slices.Contains(n.published, key.ID())
	}); err != nil {
		return nil, err
	}
	res.Changed = true
	return res, nil
}

// Delegations lists the repository's delegations, releases first.
func (c *Client) Delegations(ctx context.Context, gun GUN) ([]Delegation, error) {
	_, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, err
	}
	return delegations(repo), nil
}

// RemoveDelegation removes signer name: its targets/<name> role, and its
// keys from targets/releases where no other signer shares them. Removing
// the last key of targets/releases leaves the repository's releases
// unsigned, so it needs removeLast (the caller's confirmation); then the
// releases role goes too. It needs the targets key. A signer that is not
// there is an error that lists the signers there: a mistyped name must
// not read as a removed signer (whose key would stay trusted), and the
// rerun of a removal that landed sees it gone.
func (c *Client) RemoveDelegation(ctx context.Context, gun GUN, name string, removeLast bool) (*DelegationResult, error) {
	if err := ValidSignerName(name); err != nil {
		return nil, err
	}
	s, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, err
	}
	signerRole := data.RoleName("targets/" + name)
	signer, ok := delegationByRole(repo, signerRole)
	if !ok {
		var names []string
		for _, d := range delegations(repo) {
			if d.Role != ReleasesRole {
				names = append(names, d.Name)
			}
		}
		there := "none"
		if len(names) > 0 {
			there = strings.Join(names, ", ")
		}
		return nil, newError(ErrNotFound, name, "check the name; if an earlier run removed this signer, there is nothing left to do",
			"%s has no signer %q (its signers: %s)", gun, name, there).with(ActionListSigners)
	}
	res := &DelegationResult{GUN: gun.String(), Signer: name, KeyIDs: signer.KeyIDs, Roles: []string{}, Warnings: []string{}}
	if err := s.needTargetsKey(repo, "remove a signer"); err != nil {
		return nil, err
	}
	shared := map[string]bool{}
	for _, d := range delegations(repo) {
		if d.Role != signerRole.String() && d.Role != ReleasesRole {
			for _, id := range d.published {
				shared[id] = true
			}
		}
	}
	var drop []string // canonical IDs: what notary's RemoveDelegationKeys takes
	releases, hasReleases := delegationByRole(repo, ReleasesRole)
	for i, id := range signer.published {
		if !shared[id] && slices.Contains(releases.published, id) {
			drop = append(drop, signer.KeyIDs[i])
		}
	}
	if err := s.repo.RemoveDelegationRole(signerRole); err != nil {
		return nil, s.explain(err, ErrPublish)
	}
	res.Roles = append(res.Roles, signerRole.String())
	if hasReleases && len(drop) > 0 {
		if len(drop) == len(releases.published) {
			if !removeLast {
				return nil, newError(ErrNeedsConfirmation, name, "confirm it if the repository may be left without release signers",
					"%q holds the last key of targets/releases: removing it leaves every tag signed there unverifiable", name).with(ActionConfirm)
			}
			err = s.repo.RemoveDelegationRole(ReleasesRole)
		} else {
			err = s.repo.RemoveDelegationKeys(ReleasesRole, drop)
		}
		if err != nil {
			return nil, s.explain(err, ErrPublish)
		}
		res.Roles = append(res.Roles, ReleasesRole)
	}
	if err := s.publish(func(after *tuf.Repo) bool {
		_, still := delegationByRole(after, signerRole)
		return !still
	}); err != nil {
		return nil, err
	}
	res.Changed = true
	return res, nil
}

func delegations(repo *tuf.Repo) []Delegation {
	var out []Delegation
	if repo == nil || repo.Targets[data.CanonicalTargetsRole] == nil {
		return out
	}
	top := repo.Targets[data.CanonicalTargetsRole].Signed.Delegations
	for _, r := range top.Roles {
		if r == nil {
			continue
		}
		published := slices.Clone(r.KeyIDs)
		sort.Strings(published)
		canonical := make([]string, 0, len(published))
		for _, id := range published {
			cid := id
			if k, ok := top.Keys[id]; ok {
				if c, err := utils.CanonicalKeyID(k); err == nil {
					cid = c
				}
			}
			canonical = append(canonical, cid)
		}
		out = append(out, Delegation{
			Name:      strings.TrimPrefix(r.Name.String(), "targets/"),
			Role:      r.Name.String(),
			KeyIDs:    canonical,
			Paths:     slices.Clone(r.Paths),
			Threshold: r.Threshold,
			published: published,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Role == ReleasesRole) != (out[j].Role == ReleasesRole) {
			return out[i].Role == ReleasesRole
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func delegationByRole(repo *tuf.Repo, role data.RoleName) (Delegation, bool) {
	for _, d := range delegations(repo) {
		if d.Role == role.String() {
			return d, true
		}
	}
	return Delegation{}, false
}

// needTargetsKey checks that the key store holds a targets key of the
// published repository before anything is staged.
func (s *session) needTargetsKey(repo *tuf.Repo, what string) error {
	held := s.keys.ListKeys()
	if role, ok := repo.Root.Signed.Roles[data.CanonicalTargetsRole]; ok {
		for _, id := range role.KeyIDs {
			if _, ok := held[id]; ok {
				return nil
			}
		}
	}
	return newError(ErrNoTargetsKey, s.gun.String(),
		"run this where the targets key is (the trust dir it was made in); if it was deleted after setup, give the root key: a new targets key is signed in first",
		"cannot %s: the trust dir %s does not hold the repository's targets key", what, s.c.trustDir).with(ActionRotateTargets)
}

// publish sends the staged changes. When the answer is lost, it looks at
// what the server now has: if landed(after) holds, the change was
// published after all; otherwise nothing was, and the error says so.
func (s *session) publish(landed func(after *tuf.Repo) bool) error {
	err := s.repo.Publish()
	if err == nil {
		return nil
	}
	if s.pass.problem != nil {
		return s.pass.problem // a key could not be unlocked: nothing was sent
	}
	explained := s.explain(err, ErrPublish)
	look, done, lerr := s.afterwards()
	if lerr == nil {
		defer done()
		var after *tuf.Repo
		if after, lerr = look.load(); lerr == nil && landed(after) {
			return nil // the server committed; only its answer was lost
		}
	}
	return publishFailed(s.gun, explained, lerr == nil)
}

// publishFailed says what a failed publish left: nothing, when a look at
// the server showed that; otherwise the outcome is unknown.
func publishFailed(gun GUN, cause error, checked bool) error {
	state := "nothing was published"
	if !checked {
		state = "the server could not be asked whether it was published"
	}
	fix := "run the same step again: it converges on what the server has"
	if ye := (*Error)(nil); errors.As(cause, &ye) && ye.Kind == ErrYubiKey && ye.Fix != "" {
		// A token pulled out or locked: what to do with it comes first.
		fix = ye.Fix
	}
	return &Error{Kind: ErrPublish, Input: gun.String(), Cause: cause,
		Msg: "publishing failed: " + cause.Error() + "; " + state, Fix: fix, Action: ActionRerun, OutcomeUnknown: !checked}
}

// ReplaceDelegation renews signer name's certificate, the yearly ceremony
// when a signing service's certificate is renewed: the new key goes into
// targets/releases and targets/<name>, and the signer's old keys leave
// both (from targets/releases only where no other signer shares them), in
// one publish. It needs the targets key. Replacing with the key that is
// already there changes nothing.
func (c *Client) ReplaceDelegation(ctx context.Context, gun GUN, name string, cert *Certificate) (*DelegationResult, error) {
	if err := checkSigner(name, cert); err != nil {
		return nil, err
	}
	s, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, err
	}
	signerRole := data.RoleName("targets/" + name)
	signer, ok := delegationByRole(repo, signerRole)
	if !ok {
		return nil, newError(ErrNotFound, name, "add the signer instead, or look at the repository's signers", "%s has no signer %q", gun, name).with(ActionListSigners)
	}
	key := cert.PublicKey()
	res := &DelegationResult{GUN: gun.String(), Signer: name, KeyIDs: []string{cert.KeyID}, Roles: []string{},
		Warnings: append([]string{}, cert.Warnings...)}
	shared := map[string]bool{}
	for _, d := range delegations(repo) {
		if d.Role != signerRole.String() && d.Role != ReleasesRole {
			for _, id := range d.published {
				shared[id] = true
			}
		}
	}
	releases, _ := delegationByRole(repo, ReleasesRole)
	var dropSigner, dropReleases, dropped []string // canonical IDs, as notary's RemoveDelegationKeys takes them
	for i, id := range signer.published {
		if id == key.ID() {
			continue
		}
		dropSigner = append(dropSigner, signer.KeyIDs[i])
		dropped = append(dropped, id)
		if !shared[id] && slices.Contains(releases.published, id) {
			dropReleases = append(dropReleases, signer.KeyIDs[i])
		}
	}
	for _, change := range []struct {
		role data.RoleName
		drop []string
		has  bool
	}{{ReleasesRole, dropReleases, slices.Contains(releases.published, key.ID())}, {signerRole, dropSigner, slices.Contains(signer.published, key.ID())}} {
		// The old keys go before the new one comes: notary maps the
		// canonical IDs it is given to the role's keys when the change is
		// applied, and a renewed certificate for the same private key has
		// the same canonical ID as the old one.
		if len(change.drop) > 0 {
			if err := s.repo.RemoveDelegationKeys(change.role, change.drop); err != nil {
				return nil, s.explain(err, ErrPublish)
			}
		}
		if !change.has {
			if err := s.repo.AddDelegation(change.role, []data.PublicKey{key}, []string{""}); err != nil {
				return nil, s.explain(err, ErrPublish)
			}
		}
		if !change.has || len(change.drop) > 0 {
			res.Roles = append(res.Roles, change.role.String())
		}
	}
	if len(res.Roles) == 0 {
		return res, nil // already replaced: nothing to publish
	}
	if err := s.needTargetsKey(repo, "replace a signer's key"); err != nil {
		return nil, err
	}
	replaced := func(after *tuf.Repo) bool {
		r, ok1 := delegationByRole(after, ReleasesRole)
		n, ok2 := delegationByRole(after, signerRole)
		if !ok1 || !ok2 || !slices.Contains(r.published, key.ID()) || !slices.Contains(n.published, key.ID()) {
			return false
		}
		for _, id := range dropped {
			if slices.Contains(n.published, id) {
				return false
			}
		}
		return true
	}
	if err := s.publish(replaced); err != nil {
		return nil, err
	}
	// Read back what the server has: a replacement is reported only as it landed.
	after, err := s.load()
	if err != nil {
		return nil, err
	}
	if !replaced(after) {
		return nil, newError(ErrPublish, gun.String(), "run the same step again: it converges on what the server has",
			"the server's trust data does not show %s's new key alone in its roles", name).with(ActionRerun)
	}
	res.Changed = true
	return res, nil
}

// HoldsTargetsKey says whether the trust dir holds the repository's
// published targets key: whether signers can be changed without the root key.
// When the trust data cannot be read because it has expired, it says
// whether the key store holds any targets key of the repository.
func (c *Client) HoldsTargetsKey(ctx context.Context, gun GUN) (bool, error) {
	s, repo, err := c.openLoaded(ctx, gun)
	if errors.Is(err, ErrExpired) {
		ks, kerr := c.keyStore(&passRecorder{})
		if kerr != nil {
			return false, kerr
		}
		for _, info := range ks.ListKeys() {
			if info.Role == data.CanonicalTargetsRole && info.Gun == data.GUN(gun.String()) {
				return true, nil
			}
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.needTargetsKey(repo, "check") == nil, nil
}

// ReleasesSigners says which keys signed the published targets/releases
// metadata (canonical IDs) and how many tags it holds: when a change
// removes every one of those keys, consumers lose those tags until a
// remaining signer signs again.
func (c *Client) ReleasesSigners(ctx context.Context, gun GUN) (keyIDs []string, tags int, err error) {
	_, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, 0, err
	}
	rel := repo.Targets[ReleasesRole]
	if rel == nil {
		return nil, 0, nil
	}
	d, _ := delegationByRole(repo, ReleasesRole)
	for _, sig := range rel.Signatures {
		if i := slices.Index(d.published, sig.KeyID); i >= 0 {
			keyIDs = append(keyIDs, d.KeyIDs[i])
		} else {
			keyIDs = append(keyIDs, sig.KeyID)
		}
	}
	return keyIDs, len(rel.Signed.Targets), nil
}

// SignerChangeNeeded says whether adding (cert given, replace false),
// replacing (replace true) or removing (cert nil) signer name would
// change anything: a ceremony that would publish nothing needs no key.
func (c *Client) SignerChangeNeeded(ctx context.Context, gun GUN, name string, cert *Certificate, replace bool) (bool, error) {
	_, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return false, err
	}
	signer, hasSigner := delegationByRole(repo, data.RoleName("targets/"+name))
	if cert == nil {
		return hasSigner, nil // a removal: only a signer that is there
	}
	releases, _ := delegationByRole(repo, ReleasesRole)
	id := cert.PublicKey().ID() // as published: the certificate's key ID
	in := hasSigner && slices.Contains(signer.published, id) && slices.Contains(releases.published, id)
	if replace {
		return !(in && len(signer.published) == 1), nil
	}
	return !in, nil
}

// checkSigner refuses an invalid signer name or a missing certificate
// before anything is read or staged.
func checkSigner(name string, cert *Certificate) error {
	if err := ValidSignerName(name); err != nil {
		return err
	}
	if cert == nil || cert.X509 == nil {
		return newError(ErrBadCertificate, name, "give the signer's certificate", "no certificate given")
	}
	return nil
}
