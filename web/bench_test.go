package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/internal/teststores"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/ssotest"
	"github.com/ssogate/ssogate/web"
)

// The hot paths through the real router, in process (no sockets): the ACS
// end to end (form, ParseResponse, replay cache, employee lookup, session,
// sign-in record) and the session check (/api/me). The load driver
// (test/load) measures the same over HTTP against the baselines.

const benchBase = "http://gw.bench"

type benchGW struct {
	h      http.Handler
	idp    *ssotest.IdP
	acs    string
	n      int
	minted int
}

// newBenchGW builds a gateway with company "bench" trusting a fake Entra,
// and n active employees user%06d@bench.example.
func newBenchGW(b *testing.B, be teststores.Backend, n int, opts ...func(*config.Config)) *benchGW {
	b.Helper()
	ctx := context.Background()
	dir := be.Dir(b)
	idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	testenv.Must(b, err, "fake entra")
	c := &directory.Company{Slug: "bench", Name: "Bench", SSOEnabled: true, NameIDMode: directory.NameIDUPN, EntraIdentifier: idp.Issuer}
	testenv.Must(b, dir.CreateCompany(ctx, c), "company")
	info, err := certs.Parse(idp.CertificateBase64(), time.Now())
	testenv.Must(b, err, "cert")
	testenv.Must(b, dir.AddCertificate(ctx, &directory.Certificate{CompanyID: c.ID, DER: info.DER, Subject: info.Subject,
		SHA1: info.SHA1, SHA256: info.SHA256, NotBefore: info.NotBefore, NotAfter: info.NotAfter, AddedAt: time.Now()}, false), "trust")
	err = dir.InTx(ctx, func(tx directory.Store) error {
		for i := range n {
			upn := fmt.Sprintf("user%06d@bench.example", i)
			if err := tx.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: upn, Email: upn, GivenName: "G",
				FamilyName: "F", Active: true, Source: directory.SourceImport}); err != nil {
				return err
			}
		}
		return nil
	})
	testenv.Must(b, err, "employees")
	cfg := config.Defaults()
	cfg.PublicURL = benchBase
	cfg.LogLevel = "error"
	cfg.SigninRate = 0 // every benchmark request comes from one address; the limit has its own test
	for _, o := range opts {
		o(&cfg)
	}
	testenv.Must(b, cfg.Validate(), "config")
	s, err := web.New(web.Deps{Config: cfg, Dir: dir, Sessions: be.Sessions(b)})
	testenv.Must(b, err, "web.New")
	return &benchGW{h: s.Handler(), idp: idp, acs: benchBase + "/c/bench/saml/acs", n: n}
}

// forms mints count signed IdP-initiated responses (Entra's shape, with
// the objectidentifier claim) for the next employees in turn.
func (g *benchGW) forms(b *testing.B, count int) []string {
	out := make([]string, count)
	for i := range out {
		u := g.minted % g.n
		g.minted++
		upn := fmt.Sprintf("user%06d@bench.example", u)
		s, err := g.idp.ResponseBase64(ssotest.Assertion{ACSURL: g.acs, Audience: benchBase + "/c/bench/saml/metadata",
			NameID: upn, ObjectID: fmt.Sprintf("0b5e0000-0000-4000-8000-%012d", u), TenantID: g.idp.TenantID, Email: upn,
			GivenName: "G", FamilyName: "F", DisplayName: "G F"})
		testenv.Must(b, err, "mint")
		out[i] = url.Values{"SAMLResponse": {s}}.Encode()
	}
	return out
}

func (g *benchGW) login(b *testing.B, form string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, g.acs, strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	g.h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		b.Fatalf("login: %d %s", w.Code, w.Body.String())
	}
	return w
}

// BenchmarkACS is one full IdP-initiated login per op: every response is
// fresh (the replay cache refuses reuse); minting runs with the timer off.
func BenchmarkACS(b *testing.B) {
	for _, be := range teststores.All() {
		b.Run(be.Name, func(b *testing.B) {
			g := newBenchGW(b, be, 1000)
			for _, f := range g.forms(b, g.n) { // bind every object id first: the steady state
				g.login(b, f)
			}
			var batch []string
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if len(batch) == 0 {
					b.StopTimer()
					batch = g.forms(b, 64)
					b.StartTimer()
				}
				g.login(b, batch[0])
				batch = batch[1:]
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
		})
	}
}

// BenchmarkSessionCheck is GET /api/me with a live browser session.
func BenchmarkSessionCheck(b *testing.B) {
	for _, be := range teststores.All() {
		b.Run(be.Name, func(b *testing.B) {
			g := newBenchGW(b, be, 1000)
			w := g.login(b, g.forms(b, 1)[0])
			var cookie *http.Cookie
			for _, c := range w.Result().Cookies() {
				if strings.Contains(c.Name, "ssogate_session") {
					cookie = c
				}
			}
			if cookie == nil {
				b.Fatal("no session cookie")
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest(http.MethodGet, benchBase+"/c/bench/api/me", nil)
					r.RemoteAddr = "127.0.0.1:40000"
					r.AddCookie(cookie)
					w := httptest.NewRecorder()
					g.h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Errorf("/api/me: %d %s", w.Code, w.Body.String()) // FailNow is for the benchmark's own goroutine
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}

// BenchmarkProxiedGET is GET /c/bench/ with a live browser session, proxied
// to a loopback upstream that answers a 1 KiB page: the session check, the
// identity headers (the assertion from the mint cache) and the forwarding.
// BenchmarkAuthRequest is nginx's auth_request check of the same session.
func BenchmarkProxiedGET(b *testing.B) { benchProduct(b, "/c/bench/", nil) }

func BenchmarkAuthRequest(b *testing.B) {
	benchProduct(b, "/auth/request", map[string]string{"X-Original-URI": "/c/bench/"})
}

func benchProduct(b *testing.B, path string, hdr map[string]string) {
	page := []byte(strings.Repeat("x", 1024))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Ssogate-Assertion") == "" {
			http.Error(w, "no assertion", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write(page)
	}))
	defer up.Close()
	for _, be := range teststores.All() {
		b.Run(be.Name, func(b *testing.B) {
			g := newBenchGW(b, be, 1000, func(c *config.Config) { c.Upstream = up.URL })
			w := g.login(b, g.forms(b, 1)[0])
			var cookie *http.Cookie
			for _, c := range w.Result().Cookies() {
				if strings.Contains(c.Name, "ssogate_session") {
					cookie = c
				}
			}
			if cookie == nil {
				b.Fatal("no session cookie")
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest(http.MethodGet, benchBase+path, nil)
					r.RemoteAddr = "127.0.0.1:40000"
					r.AddCookie(cookie)
					for k, v := range hdr {
						r.Header.Set(k, v)
					}
					w := httptest.NewRecorder()
					g.h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Errorf("%s: %d %s", path, w.Code, w.Body.String())
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
