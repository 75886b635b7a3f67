package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// lyingRegistry serves manifest for acme/app:1.0 and claims claim as its
// digest in the Docker-Content-Digest header.
func lyingRegistry(t *testing.T, manifest []byte, claim string) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		if r.URL.Path != "/v2/acme/app/manifests/1.0" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", claim)
		w.Header().Set("Content-Length", strconv.Itoa(len(manifest)))
		if r.Method == http.MethodGet {
			w.Write(manifest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// registryClient is an engine that trusts srv's TLS, and srv's acme/app.
func registryClient(t *testing.T, srv *httptest.Server) (*Client, GUN) {
	t.Helper()
	gun, err := ParseGUN(strings.TrimPrefix(srv.URL, "https://") + "/acme/app")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(WithTrustDir(t.TempDir()), WithTransport(srv.Client().Transport))
	if err != nil {
		t.Fatal(err)
	}
	return c, gun
}

// Test signing signs the digest of the bytes the registry serves, and
// refuses a registry whose claim for the tag disagrees with them. Before,
// it signed the claim (a HEAD) without reading the manifest.
func TestSignableImageIsTheServedBytes(t *testing.T) {
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":2},"layers":[]}`)
	sum := sha256.Sum256(manifest)
	honest := "sha256:" + hex.EncodeToString(sum[:])
	other := sha256.Sum256([]byte("another manifest"))
	for _, tc := range []struct {
		name, claim, err string
	}{
		{"an honest registry", honest, ""},
		{"a registry that claims another digest", "sha256:" + hex.EncodeToString(other[:]), "serves a manifest of " + honest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, gun := registryClient(t, lyingRegistry(t, manifest, tc.claim))
			img, err := c.signableImage(context.Background(), gun, "1.0")
			if tc.err == "" {
				if err != nil || img.Digest != honest || img.Size != int64(len(manifest)) {
					t.Fatalf("%+v, %v; want %s, %d bytes", img, err, honest, len(manifest))
				}
				return
			}
			if !errors.Is(err, ErrRegistry) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("%v; want ErrRegistry saying %q", err, tc.err)
			}
		})
	}
}

// A manifest is read up to maxManifest bytes: one of exactly that size
// is whole, one byte more is an AnswerTooLargeError.
func TestBoundedBody(t *testing.T) {
	for _, tc := range []struct {
		size    int
		tooLong bool
	}{{0, false}, {maxManifest - 1, false}, {maxManifest, false}, {maxManifest + 1, true}, {3 * maxManifest, true}} {
		b := &boundedBody{ReadCloser: io.NopCloser(bytes.NewReader(make([]byte, tc.size))), left: maxManifest, limit: maxManifest}
		got, err := io.ReadAll(b)
		var large *AnswerTooLargeError
		if tc.tooLong != (errors.As(err, &large) && large.Limit == maxManifest) || (!tc.tooLong && (err != nil || len(got) != tc.size)) {
			t.Errorf("%d bytes: read %d, %v", tc.size, len(got), err)
		}
	}
}

// Only image manifests and indexes are signed.
func TestSignableMediaType(t *testing.T) {
	for mt, ok := range map[types.MediaType]bool{
		types.DockerManifestSchema2: true, types.DockerManifestList: true, types.OCIManifestSchema1: true,
		types.OCIImageIndex: true, types.DockerManifestSchema1Signed: true,
		types.DockerManifestSchema2 + "; charset=utf-8": true, "text/html; charset=utf-8": false,
		"text/html": false, types.DockerLayer: false, types.OCIConfigJSON: false, "": false,
	} {
		if err := signableMediaType(mt, "r:1"); (err == nil) != ok {
			t.Errorf("%q: %v", mt, err)
		}
	}
}

// The registry's other answers are bounded too: a tag list of 11 MiB is
// refused at 10 MiB, naming the bound, instead of filling memory.
func TestAHugeTagListIsRefused(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/acme/app/tags/list" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name":"acme/app","tags":["`)
		w.Write(bytes.Repeat([]byte("a"), 11<<20))
		io.WriteString(w, `"]}`)
	}))
	t.Cleanup(srv.Close)
	c, gun := registryClient(t, srv)
	tags, err := c.ListTags(context.Background(), gun)
	if !errors.Is(err, ErrRegistry) || !strings.Contains(err.Error(), "larger than 10 MiB") {
		t.Fatalf("%d tags, %v; want ErrRegistry saying the answer is larger than 10 MiB", len(tags), err)
	}
}
