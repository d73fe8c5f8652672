package identity

import (
	"path/filepath"
	"testing"

	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

// BenchmarkMint: the cost of X-Ssogate-Assertion per proxied request, with
// the cache (the same session and claims within half the lifetime: a map
// lookup) and without it (an ES256 signature per request).
func BenchmarkMint(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
	}{{"cached", DefaultCacheSize}, {"uncached", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			st, err := sqlstore.Open(bg, "sqlite:"+filepath.Join(b.TempDir(), "keys.db"), sqlstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			s, err := New(Options{Issuer: iss, Store: st, CacheSize: tc.size})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Mint(bg, aud, maja); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Mint(bg, aud, maja); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
