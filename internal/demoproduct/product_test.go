package demoproduct

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssogate/ssogate/identity"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

// TestProductVerifies runs the product against a real signer's JWKS served
// over loopback, as `ssogate demo` does.
func TestProductVerifies(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "d.db"), sqlstore.Options{})
	testenv.Must(t, err, "open store")
	defer st.Close()
	gw := httptest.NewServer(nil)
	defer gw.Close()
	var off atomic.Int64 // the signer's clock offset
	off.Store(int64(-10 * time.Minute))
	signer, err := identity.New(identity.Options{Issuer: gw.URL, Store: st,
		Now: func() time.Time { return time.Now().Add(time.Duration(off.Load())) }})
	testenv.Must(t, err, "signer")
	maja := identity.Claims{Subject: "e-1", Company: "demo", UserName: "maja.holm@demo.example", Email: "maja.holm@demo.example",
		Name: "Maja Holm", Roles: []string{"admin"}, SID: "s1"}
	gw.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := signer.JWKS(r.Context())
		if err != nil || r.URL.Path != "/.well-known/jwks.json" {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	prod := httptest.NewUnstartedServer(nil)
	aud := "http://" + prod.Listener.Addr().String()
	p, err := New(ctx, Options{JWKSURL: gw.URL + "/.well-known/jwks.json", Issuer: gw.URL, Audience: aud})
	testenv.Must(t, err, "product")
	prod.Config.Handler = p
	prod.Start()
	defer prod.Close()
	// An assertion minted 10 minutes ago has expired.
	stale, err := signer.Mint(ctx, aud, maja)
	testenv.Must(t, err, "mint stale")
	off.Store(0)
	get := func(path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, prod.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	tok, err := signer.Mint(ctx, aud, maja)
	testenv.Must(t, err, "mint")
	if code, body := get("/c/demo/", map[string]string{Header: tok}); code != 200 || !strings.Contains(body, "Hello, Maja Holm") ||
		!strings.Contains(body, `<td id="roles">admin</td>`) || !strings.Contains(body, `<td id="userName">maja.holm@demo.example</td>`) {
		t.Fatalf("valid assertion: %d\n%s", code, body)
	}
	// Plain headers are not trusted; nothing but a verified assertion passes.
	if code, _ := get("/c/demo/", map[string]string{"X-Ssogate-User": "maja.holm@demo.example", "X-Ssogate-Company": "demo"}); code != 401 {
		t.Fatalf("plain headers only: %d", code)
	}
	other, _ := signer.Mint(ctx, "http://elsewhere.example", maja)
	if code, _ := get("/c/demo/", map[string]string{Header: other}); code != 401 {
		t.Fatalf("another audience: %d", code)
	}
	if code, _ := get("/c/acme/", map[string]string{Header: tok}); code != 403 {
		t.Fatalf("another company's path: %d", code)
	}
	// Forged: same claims signed by a key the gateway never published, and alg none.
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": gw.URL, "aud": aud, "sub": "e-1", "company": "demo",
		"exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix()}).SignedString([]byte("guess"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": gw.URL, "aud": aud, "sub": "e-1", "company": "demo",
		"exp": time.Now().Add(time.Minute).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, f := range map[string]string{"HS256": forged, "none": none, "truncated": tok[:len(tok)-10]} {
		if code, _ := get("/c/demo/", map[string]string{Header: f}); code != 401 {
			t.Fatalf("%s: %d", name, code)
		}
	}
	if code, _ := get("/c/demo/", map[string]string{Header: stale}); code != 401 {
		t.Fatalf("expired: %d", code)
	}
}
