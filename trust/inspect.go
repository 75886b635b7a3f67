package trust

import (
	"context"
	"encoding/hex"
	"sort"
	"time"

	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// Inspection is what `docker trust inspect` shows, plus the expiry of every
// role's metadata and every certificate.
type Inspection struct {
	GUN                string       `json:"gun"`
	SignedTags         []SignedTag  `json:"signed_tags"`
	Signers            []Signer     `json:"signers"`
	AdministrativeKeys []Signer     `json:"administrative_keys"` // "Root" and "Repository" (targets)
	Roles              []RoleExpiry `json:"roles"`
	Certificates       []CertExpiry `json:"certificates"`
}

// SignedTag is a tag as a consumer resolves it, and who signed that digest.
type SignedTag struct {
	Tag     string   `json:"tag"`
	Digest  string   `json:"digest"`
	Size    int64    `json:"size"`
	Signers []string `json:"signers"` // signer names; "Repo Admin" for the targets key
}

// Signer is a named set of keys.
type Signer struct {
	Name   string   `json:"name"`
	KeyIDs []string `json:"key_ids"`
}

// RoleExpiry is one role's metadata version and expiry.
type RoleExpiry struct {
	Role    string    `json:"role"`
	Version int       `json:"version"`
	Expires time.Time `json:"expires"`
}

// CertExpiry is a certificate in the trust data and when it ends.
type CertExpiry struct {
	Role     string    `json:"role"`
	KeyID    string    `json:"key_id"`
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
}

// repoAdmin is docker's name for signatures made with the targets key.
const repoAdmin = "Repo Admin"

// Inspect reads and verifies a repository's trust data.
func (c *Client) Inspect(ctx context.Context, gun GUN) (*Inspection, error) {
	_, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, err
	}
	return inspect(gun, repo)
}

func inspect(gun GUN, repo *tuf.Repo) (*Inspection, error) {
	in := &Inspection{GUN: gun.String(), SignedTags: []SignedTag{}, Signers: []Signer{}}
	in.SignedTags = signedTags(repo)
	for _, d := range delegations(repo) {
		if d.Role != ReleasesRole {
			in.Signers = append(in.Signers, Signer{Name: d.Name, KeyIDs: d.KeyIDs})
		}
	}
	for _, admin := range []struct {
		name string
		role data.RoleName
	}{{"Root", data.CanonicalRootRole}, {"Repository", data.CanonicalTargetsRole}} {
		if r, ok := repo.Root.Signed.Roles[admin.role]; ok {
			in.AdministrativeKeys = append(in.AdministrativeKeys, Signer{Name: admin.name, KeyIDs: r.KeyIDs})
		}
	}

	in.Roles = append(in.Roles,
		RoleExpiry{data.CanonicalRootRole.String(), repo.Root.Signed.Version, repo.Root.Signed.Expires})
	roles := make([]string, 0, len(repo.Targets))
	for r := range repo.Targets {
		roles = append(roles, r.String())
	}
	sort.Strings(roles)
	for _, r := range roles {
		t := repo.Targets[data.RoleName(r)]
		in.Roles = append(in.Roles, RoleExpiry{r, t.Signed.Version, t.Signed.Expires})
	}
	if repo.Snapshot != nil {
		in.Roles = append(in.Roles, RoleExpiry{data.CanonicalSnapshotRole.String(), repo.Snapshot.Signed.Version, repo.Snapshot.Signed.Expires})
	}
	if repo.Timestamp != nil {
		in.Roles = append(in.Roles, RoleExpiry{data.CanonicalTimestampRole.String(), repo.Timestamp.Signed.Version, repo.Timestamp.Signed.Expires})
	}

	certs, err := rootCertificates(gun, repo)
	if err != nil {
		return nil, err
	}
	for _, rc := range certs {
		in.Certificates = append(in.Certificates, CertExpiry{"root", rc.KeyID, rc.Subject, rc.NotAfter})
	}
	if top := repo.Targets[data.CanonicalTargetsRole]; top != nil {
		for _, d := range delegations(repo) {
			for i, id := range d.published {
				k, ok := top.Signed.Delegations.Keys[id]
				if !ok || (k.Algorithm() != data.ECDSAx509Key && k.Algorithm() != data.RSAx509Key) {
					continue
				}
				if cert, err := utils.LoadCertFromPEM(k.Public()); err == nil {
					in.Certificates = append(in.Certificates, CertExpiry{d.Role, d.KeyIDs[i], cert.Subject.String(), cert.NotAfter})
				}
			}
		}
	}
	return in, nil
}

// signedTags resolves each tag as docker does (targets/releases, then
// targets) and names every role that signed the same digest.
func signedTags(repo *tuf.Repo) []SignedTag {
	out := []SignedTag{}
	resolved := map[string]data.FileMeta{}
	for _, role := range []data.RoleName{data.CanonicalTargetsRole, ReleasesRole} { // releases wins
		if t := repo.Targets[role]; t != nil {
			for tag, meta := range t.Signed.Targets {
				resolved[tag] = meta
			}
		}
	}
	for tag, meta := range resolved {
		st := SignedTag{Tag: tag, Digest: "sha256:" + hex.EncodeToString(meta.Hashes["sha256"]), Size: meta.Length, Signers: []string{}}
		for role, t := range repo.Targets {
			if role == ReleasesRole || t == nil {
				continue
			}
			other, ok := t.Signed.Targets[tag]
			if !ok || hex.EncodeToString(other.Hashes["sha256"]) != hex.EncodeToString(meta.Hashes["sha256"]) {
				continue
			}
			if role == data.CanonicalTargetsRole {
				st.Signers = append(st.Signers, repoAdmin)
			} else {
				st.Signers = append(st.Signers, role.String()[len("targets/"):])
			}
		}
		sort.Strings(st.Signers)
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out
}
