package trust

import (
	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// DockerConfigKeychain resolves credentials from the docker config in dir
// (config.json, its credential helpers and store), as docker does. An
// empty dir is docker's default (~/.docker). The caller names the dir, so
// that an engine never depends on this process's environment.
func DockerConfigKeychain(dir string) authn.Keychain { return dockerKeychain{dir: dir} }

type dockerKeychain struct{ dir string }

func (k dockerKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	cf, err := config.Load(k.dir)
	if err != nil {
		return nil, wrapError(ErrBadInput, err, k.dir, "fix or remove the docker config file", "cannot read the docker config")
	}
	for _, key := range []string{target.String(), target.RegistryStr()} {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey // Docker Hub's credentials live under its v1 URL
		}
		cfg, err := cf.GetAuthConfig(key)
		if err != nil {
			return nil, wrapError(ErrBadInput, err, key, "check the docker credential helper", "cannot read the credentials for this registry")
		}
		if cfg.Username != "" || cfg.Password != "" || cfg.Auth != "" || cfg.IdentityToken != "" || cfg.RegistryToken != "" {
			return authn.FromConfig(authn.AuthConfig{
				Username:      cfg.Username,
				Password:      cfg.Password,
				Auth:          cfg.Auth,
				IdentityToken: cfg.IdentityToken,
				RegistryToken: cfg.RegistryToken,
			}), nil
		}
	}
	return authn.Anonymous, nil
}
