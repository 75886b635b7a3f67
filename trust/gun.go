package trust

import (
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// GUN is a globally unique name of an image repository, as Docker Content
// Trust names it: registry host and repository path, no tag or digest.
// Docker Hub repositories are "docker.io/<namespace>/<name>".
type GUN struct {
	repo name.Repository
}

const dockerHub = "docker.io"

// pathComponent is docker's grammar for one component of a repository path.
var pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)

// ParseGUN reads a repository name the way docker does: "acme/app" is
// "docker.io/acme/app" and "ubuntu" is "docker.io/library/ubuntu".
func ParseGUN(s string) (GUN, error) {
	const fix = "give the repository as registry/path, e.g. docker.io/acme/app, without tag or digest"
	if strings.TrimSpace(s) == "" {
		return GUN{}, newError(ErrBadGUN, `""`, fix, "empty repository name")
	}
	if strings.Contains(s, "://") {
		return GUN{}, newError(ErrBadGUN, s, "drop the scheme, e.g. docker.io/acme/app", "a repository name has no scheme (https://): it is registry/path")
	}
	if strings.Contains(s, "@") {
		return GUN{}, newError(ErrBadGUN, s, fix, "a repository name has no digest")
	}
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		return GUN{}, newError(ErrBadGUN, s, fix, "a repository name has no tag")
	}
	repo, err := name.NewRepository(s, name.StrictValidation)
	if err != nil {
		// Strict validation wants a registry; docker's short names are fine too.
		repo, err = name.NewRepository(s)
	}
	if err != nil {
		return GUN{}, wrapError(ErrBadGUN, err, s, fix, "not a valid repository name: registry/path, in lower-case letters, digits and . _ -")
	}
	if !registryHost.MatchString(repo.RegistryStr()) {
		return GUN{}, newError(ErrBadGUN, s, fix, "not a valid repository name: %q is not a registry host[:port]", repo.RegistryStr())
	}
	for _, part := range strings.Split(repo.RepositoryStr(), "/") {
		if !pathComponent.MatchString(part) {
			return GUN{}, newError(ErrBadGUN, s, fix, "not a valid repository name: %q: path parts are lower-case letters and digits, joined by '.', '_' or '-'", part)
		}
	}
	g := GUN{repo: repo}
	if n := len(g.String()); n > maxGUN {
		return GUN{}, newError(ErrBadGUN, s, "choose a shorter repository name",
			"the repository name is %d characters: notary servers store at most %d", n, maxGUN)
	}
	return g, nil
}

// maxGUN is the longest GUN a notary server stores (its database column
// is varchar(255); the memory store takes more, a production one fails).
const maxGUN = 255

// registryHost is a registry as a GUN names it: a host name or IPv4
// address (or [IPv6]) with an optional port.
var registryHost = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(:[0-9]{1,5})?$`)

// String is the GUN as notary and docker name it.
func (g GUN) String() string {
	return g.Registry() + "/" + g.repo.RepositoryStr()
}

// Registry is the registry host as docker names it (docker.io for Docker Hub).
func (g GUN) Registry() string {
	if g.repo.RegistryStr() == name.DefaultRegistry {
		return dockerHub
	}
	return g.repo.RegistryStr()
}

// Path is the repository path inside the registry.
func (g GUN) Path() string { return g.repo.RepositoryStr() }

// Tag names a tag of this repository in the registry.
func (g GUN) Tag(tag string) (name.Tag, error) {
	return name.NewTag(g.repo.Name()+":"+tag, name.StrictValidation)
}

// IsZero says whether g was never set.
func (g GUN) IsZero() bool { return g.repo.RepositoryStr() == "" }

// DefaultServerURL is the notary server docker uses for a GUN when
// DOCKER_CONTENT_TRUST_SERVER is not set: Docker Hub's notary for docker.io
// repositories, else the registry host itself.
func DefaultServerURL(g GUN) string {
	if g.Registry() == dockerHub {
		return "https://notary.docker.io"
	}
	return "https://" + g.Registry()
}

// ParseGUNTag splits "GUN:TAG".
func ParseGUNTag(s string) (GUN, string, error) {
	const fix = "give the image as registry/path:tag, e.g. docker.io/acme/app:1.0"
	i := strings.LastIndex(s, ":")
	if i < 0 || i < strings.LastIndex(s, "/") {
		return GUN{}, "", newError(ErrBadInput, s, fix, "no tag given")
	}
	gun, err := ParseGUN(s[:i])
	if err != nil {
		return GUN{}, "", err
	}
	tag := s[i+1:]
	if _, err := name.NewTag(gun.repo.Name()+":"+tag, name.StrictValidation); err != nil {
		return GUN{}, "", wrapError(ErrBadInput, err, s, fix, "%q is not a valid tag", tag)
	}
	return gun, tag, nil
}
