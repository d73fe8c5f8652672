package test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TestJWKS: the process-wide key set is public JSON with a max-age shorter
// than the signing-key lead time, and two instances on one database publish
// the same keys.
func TestJWKS(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			g := newGW(t, b)
			other := newGWOn(t, g.dir, g.sess, g)
			var docs []string
			for _, u := range []string{g.URL, other.URL} {
				r, err := http.Get(u + "/.well-known/jwks.json")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/json" ||
					r.Header.Get("Cache-Control") != "public, max-age=600" {
					t.Fatalf("GET jwks: %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
				}
				var set struct {
					Keys []map[string]any `json:"keys"`
				}
				if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 1 {
					t.Fatalf("jwks %s: %v", body, err)
				}
				k := set.Keys[0]
				if k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || k["use"] != "sig" || k["kid"] == "" || k["d"] != nil {
					t.Fatalf("jwks key %v", k)
				}
				docs = append(docs, string(body))
			}
			if docs[0] != docs[1] {
				t.Fatalf("two instances publish different keys:\n%s\n%s", docs[0], docs[1])
			}
		})
	}
}
