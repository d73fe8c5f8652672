package test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/ssotest"
	"github.com/ssogate/ssogate/web"
)

// Federation metadata end to end: a loopback HTTPS server stands in for
// Entra's App Federation Metadata Url; the gateway's scheduled refresh
// (RefreshMetadata, what RunBackground calls) follows it; sign-ins go
// through the real router.

// testClock is a settable clock shared by the gateway and the fake Entra.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// metaServer is Entra's metadata endpoint: it serves whatever handler the
// test sets, counts requests, and answers conditional requests for the
// current document with 304.
type metaServer struct {
	*httptest.Server
	mu          sync.Mutex
	doc         []byte
	etag        string
	handler     http.HandlerFunc // overrides doc when set
	hits        atomic.Int32
	conditional atomic.Int32 // requests that carried If-None-Match
	version     int
}

func newMetaServer(t *testing.T) *metaServer {
	m := &metaServer{}
	m.Server = httptest.NewUnstartedServer(http.HandlerFunc(m.serve))
	m.Config.ErrorLog = nil
	m.StartTLS()
	t.Cleanup(m.Close)
	return m
}

func (m *metaServer) serve(w http.ResponseWriter, r *http.Request) {
	m.hits.Add(1)
	m.mu.Lock()
	doc, etag, h := m.doc, m.etag, m.handler
	m.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		m.conditional.Add(1)
		if inm == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(doc)
}

// publish makes the server list idp's own certificate (unless noOwn) and
// extra, as Entra's metadata does.
func (m *metaServer) publish(t *testing.T, idp *ssotest.IdP, noOwn bool, extra ...*x509.Certificate) {
	t.Helper()
	doc, err := idp.FederationMetadata(noOwn, extra...)
	testenv.Must(t, err, "federation metadata")
	m.mu.Lock()
	m.version++
	m.doc, m.etag, m.handler = doc, fmt.Sprintf(`"v%d"`, m.version), nil
	m.mu.Unlock()
}

func (m *metaServer) misbehave(h http.HandlerFunc) {
	m.mu.Lock()
	m.handler = h
	m.mu.Unlock()
}

func (m *metaServer) host() string { return strings.TrimPrefix(m.URL, "https://") }

func (m *metaServer) metadataURL(tenant string) string {
	return m.URL + "/" + tenant + "/federationmetadata/2007-06/federationmetadata.xml?appid=6a2c4f0e-0000-4000-8000-000000000001"
}

func (m *metaServer) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(m.Certificate())
	return p
}

// newMetaGW starts a gateway over dir and sess whose clock is clk and
// which trusts m's TLS certificate and host; shared (not nil) reuses its
// fake Entra and company.
func newMetaGW(t *testing.T, dir directory.Store, sess session.Store, m *metaServer, clk *testClock, shared *gw) (*gw, *web.Server) {
	t.Helper()
	g := &gw{t: t, dir: dir, sess: sess, logs: &strings.Builder{}}
	srv := httptest.NewUnstartedServer(nil)
	g.URL = "http://" + srv.Listener.Addr().String()
	cfg := config.Defaults()
	cfg.Addr = srv.Listener.Addr().String()
	cfg.PublicURL = g.URL
	cfg.SettingsTTL = 0
	cfg.MetadataHosts = []string{m.host()}
	testenv.Must(t, cfg.Validate(), "config")
	g.cfg = cfg
	if shared != nil {
		g.idp, g.company = shared.idp, shared.company
	} else {
		idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
		testenv.Must(t, err, "fake entra")
		idp.Now = clk.Now
		g.idp = idp
		// A company set up with only the metadata URL: no pasted
		// certificate, no Entra Identifier.
		c := &directory.Company{Slug: "acme", Name: "Acme A/S", SSOEnabled: true, NameIDMode: directory.NameIDUPN}
		ctx := context.Background()
		testenv.Must(t, dir.CreateCompany(ctx, c), "create company")
		e := directory.Employee{CompanyID: c.ID, Source: directory.SourceImport, UserName: "maja.holm@acme.example",
			Email: "maja.holm@acme.example", GivenName: "Maja", FamilyName: "Holm", Active: true}
		testenv.Must(t, dir.CreateEmployee(ctx, &e), "create employee")
		g.company = c
	}
	logger := slog.New(slog.NewTextHandler(syncWriter{g.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := web.New(web.Deps{Config: cfg, Dir: dir, Sessions: sess, Logger: logger, Now: clk.Now,
		MetadataRootCAs: m.roots(), MetadataTimeout: 700 * time.Millisecond})
	testenv.Must(t, err, "web.New")
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	g.srv = srv
	ms := httptest.NewServer(s.MetricsHandler())
	t.Cleanup(ms.Close)
	g.metricsURL = ms.URL
	return g, s
}

// login posts an IdP-initiated response for Maja signed by key/cert of
// signer and returns the status.
func (g *gw) loginSignedBy(t *testing.T, signer *ssotest.IdP) int {
	t.Helper()
	a := g.assertion("acme", "maja.holm@acme.example")
	a.Key, a.Cert = signer.Key, signer.Cert
	r := g.postACS(newBrowser(), "acme", g.signed(a), "")
	_, _ = io.Copy(io.Discard, r.Body)
	return r.StatusCode
}

func trustedSet(t *testing.T, g *gw) map[string]directory.Certificate {
	t.Helper()
	list, err := g.dir.ListCertificates(context.Background(), g.company.ID, false)
	testenv.Must(t, err, "list certificates")
	out := map[string]directory.Certificate{}
	for _, c := range list {
		out[c.SHA1] = c
	}
	return out
}

func companyNow(t *testing.T, g *gw) *directory.Company {
	t.Helper()
	c, err := g.dir.GetCompanyByID(context.Background(), g.company.ID)
	testenv.Must(t, err, "get company")
	return c
}

func metricValue(t *testing.T, g *gw, series string) string {
	t.Helper()
	r, err := http.Get(g.metricsURL + "/metrics")
	testenv.Must(t, err, "metrics")
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	return ""
}

// refresh runs the scheduled pass one interval later (a new lock slot).
func refresh(t *testing.T, s *web.Server, clk *testClock) {
	t.Helper()
	clk.Advance(time.Hour)
	testenv.Must(t, s.RefreshMetadata(context.Background()), "RefreshMetadata")
}

func TestMetadataRollover(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		m := newMetaServer(t)
		clk := &testClock{t: time.Now()}
		g, s := newMetaGW(t, b.dir(t), b.sess(t), m, clk, nil)
		ctx := context.Background()
		active := g.idp
		m.publish(t, active, false)
		testenv.Must(t, g.dir.SetMetadataURL(ctx, g.company.ID, m.metadataURL(active.TenantID)), "set metadata URL")

		// Before the first fetch nothing is trusted: sign-in refused.
		if code := g.loginSignedBy(t, active); code != http.StatusForbidden && code != http.StatusServiceUnavailable {
			t.Fatalf("sign-in before any certificate is trusted: %d", code)
		}
		// First fetch: the certificate and the Entra Identifier are taken.
		refresh(t, s, clk)
		set := trustedSet(t, g)
		if c, ok := set[certSHA1(active)]; len(set) != 1 || !ok || c.Source != directory.CertSourceMetadata {
			t.Fatalf("after the first fetch: %+v", set)
		}
		if co := companyNow(t, g); co.EntraIdentifier != active.Issuer || co.Metadata.Outcome != "ok" || co.Metadata.ETag != `"v1"` {
			t.Fatalf("company after the first fetch: identifier %q, state %+v", co.EntraIdentifier, co.Metadata)
		}
		if code := g.loginSignedBy(t, active); code != http.StatusSeeOther {
			t.Fatalf("sign-in with the metadata certificate: %d\n%s", code, g.logText())
		}

		// Unchanged metadata: a conditional request, answered 304.
		refresh(t, s, clk)
		if m.conditional.Load() != 1 || companyNow(t, g).Metadata.Outcome != "not_modified" {
			t.Fatalf("conditional requests %d, outcome %q", m.conditional.Load(), companyNow(t, g).Metadata.Outcome)
		}

		// Entra adds a new certificate (inactive): listed beside the active one, trusted at once.
		next, err := ssotest.New(active.Issuer)
		testenv.Must(t, err, "next")
		next.Now = clk.Now
		m.publish(t, active, false, next.Cert)
		refresh(t, s, clk)
		if set := trustedSet(t, g); len(set) != 2 || set[certSHA1(next)].Source != directory.CertSourceMetadata {
			t.Fatalf("after the new certificate was listed: %+v", set)
		}
		// "Make certificate active": the new one signs; no sign-in fails.
		if code := g.loginSignedBy(t, active); code != http.StatusSeeOther {
			t.Fatalf("old certificate during the rollover: %d", code)
		}
		if code := g.loginSignedBy(t, next); code != http.StatusSeeOther {
			t.Fatalf("new certificate as soon as Entra activates it: %d\n%s", code, g.logText())
		}

		// Entra deletes the old certificate: it leaves the metadata; still trusted during the grace.
		m.publish(t, next, false)
		refresh(t, s, clk)
		old := trustedSet(t, g)[certSHA1(active)]
		if old.MissingSince == nil {
			t.Fatalf("the removed certificate is not marked missing: %+v", old)
		}
		if code := g.loginSignedBy(t, active); code != http.StatusSeeOther {
			t.Fatalf("the old certificate was dropped before its grace period: %d", code)
		}
		clk.Advance(time.Minute)
		_ = g.loginSignedBy(t, next) // the new one signed the latest sign-in
		// After the grace (24h) it is retired and refused.
		clk.Advance(24 * time.Hour)
		refresh(t, s, clk)
		if set := trustedSet(t, g); len(set) != 1 || set[certSHA1(next)].SHA1 == "" {
			t.Fatalf("after the grace period: %+v", set)
		}
		if code := g.loginSignedBy(t, active); code != http.StatusForbidden {
			t.Fatalf("the retired certificate still signs in: %d", code)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "unknown_certificate" {
			t.Fatalf("refusal reason %q", ev.Reason)
		}
		if code := g.loginSignedBy(t, next); code != http.StatusSeeOther {
			t.Fatalf("the new certificate: %d", code)
		}
		au := g.audit(t, g.company)
		if !hasAudit(au, "metadata", "cert.add", certSHA1(next)) || !hasAudit(au, "metadata", "cert.retire", certSHA1(active)) ||
			!hasAudit(au, "metadata", "sso.configure", active.Issuer) {
			t.Fatalf("audit: %+v", au)
		}
		// Three documents applied; two passes found nothing new (304) — the
		// retirement after the grace period happened on the second.
		if v := metricValue(t, g, `ssogate_metadata_refresh_total{company="acme",outcome="ok"}`); v != "3" {
			t.Fatalf("ok refreshes metric = %q, want 3", v)
		}
		if v := metricValue(t, g, `ssogate_metadata_refresh_total{company="acme",outcome="not_modified"}`); v != "2" {
			t.Fatalf("not_modified refreshes metric = %q, want 2", v)
		}
	})
}

// TestMetadataFailuresKeepTrust: whatever goes wrong with a fetch, the
// certificates trusted before stay, sign-ins keep working, and the
// failure is recorded (outcome, metric, console banner, log).
func TestMetadataFailuresKeepTrust(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		m := newMetaServer(t)
		other := newMetaServer(t) // another host, never allowed
		clk := &testClock{t: time.Now()}
		g, s := newMetaGW(t, b.dir(t), b.sess(t), m, clk, nil)
		ctx := context.Background()
		m.publish(t, g.idp, false)
		testenv.Must(t, g.dir.SetMetadataURL(ctx, g.company.ID, m.metadataURL(g.idp.TenantID)), "set metadata URL")
		refresh(t, s, clk)
		want := trustedSet(t, g)
		if len(want) != 1 {
			t.Fatalf("setup: %+v", want)
		}
		g.addAdmin(t, companyNow(t, g), adminEmail, adminPassword)
		emptyDoc, err := g.idp.FederationMetadata(true)
		testenv.Must(t, err, "empty metadata")
		otherTenant, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
		testenv.Must(t, err, "other tenant")
		otherDoc, err := otherTenant.FederationMetadata(false)
		testenv.Must(t, err, "other tenant metadata")
		for _, c := range []struct {
			name, outcome string
			h             http.HandlerFunc
			down          bool
		}{
			{"garbage", "invalid", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("<html>Service unavailable</html>"))
			}, false},
			{"zero certificates", "no_certificates", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(emptyDoc) }, false},
			{"another tenant's metadata", "identifier_mismatch", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(otherDoc) }, false},
			{"oversized", "too_large", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(bytes.Repeat([]byte("<x/>"), 300<<10))
			}, false},
			{"slow", "timeout", func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(2 * time.Second) // the gateway gives up after 700 ms
				_, _ = w.Write(emptyDoc)
			}, false},
			{"redirect to another host", "redirect_refused", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/metadata.xml", http.StatusFound)
			}, false},
			{"HTTP 500", "http_error", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, false},
			{"server down", "unreachable", nil, true},
		} {
			t.Run(c.name, func(t *testing.T) {
				if c.down {
					m.Close()
				} else {
					m.misbehave(c.h)
				}
				refresh(t, s, clk)
				got := trustedSet(t, g)
				if len(got) != len(want) || got[certSHA1(g.idp)].SHA256 == "" || got[certSHA1(g.idp)].MissingSince != nil {
					t.Fatalf("trust changed: %+v", got)
				}
				co := companyNow(t, g)
				if co.Metadata.Outcome != c.outcome || co.Metadata.Message == "" || co.Metadata.OKAt == nil {
					t.Fatalf("state %+v, want outcome %s", co.Metadata, c.outcome)
				}
				if code := g.loginSignedBy(t, g.idp); code != http.StatusSeeOther {
					t.Fatalf("sign-in after a failed fetch: %d", code)
				}
				if v := metricValue(t, g, `ssogate_metadata_refresh_total{company="acme",outcome="`+c.outcome+`"}`); v != "1" {
					t.Fatalf("metric for %s = %q", c.outcome, v)
				}
				a := g.adminLogin(t, "acme", adminEmail, adminPassword) // a new session: the clock moved an hour
				code, page := a.get(t, "/admin/certificates")
				if code != 200 || !strings.Contains(page, `id="metadata-warning"`) || !strings.Contains(page, c.outcome) {
					t.Fatalf("console banner missing (%d):\n%s", code, page)
				}
				if !strings.Contains(g.logText(), "outcome="+c.outcome) {
					t.Fatalf("no log line for %s", c.outcome)
				}
			})
		}
		if other.hits.Load() != 0 {
			t.Fatalf("the other host was fetched %d times", other.hits.Load())
		}
		if co := companyNow(t, g); co.EntraIdentifier != g.idp.Issuer {
			t.Fatalf("the identifier changed to %q", co.EntraIdentifier)
		}
	})
}

// TestMetadataOneInstanceFetches: two instances over the same stores run
// their scheduled pass at once; the metadata is fetched once, and both
// trust the result.
func TestMetadataOneInstanceFetches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		m := newMetaServer(t)
		clk := &testClock{t: time.Now()}
		dir, sess := b.dir(t), b.sess(t)
		g1, s1 := newMetaGW(t, dir, sess, m, clk, nil)
		g2, s2 := newMetaGW(t, dir, sess, m, clk, g1)
		m.publish(t, g1.idp, false)
		testenv.Must(t, dir.SetMetadataURL(context.Background(), g1.company.ID, m.metadataURL(g1.idp.TenantID)), "set metadata URL")
		for round := 1; round <= 3; round++ {
			clk.Advance(time.Hour)
			var wg sync.WaitGroup
			for _, s := range []*web.Server{s1, s2, s1, s2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.RefreshMetadata(context.Background()); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if got := m.hits.Load(); got != int32(round) {
				t.Fatalf("round %d: the metadata was fetched %d times in all, want %d", round, got, round)
			}
		}
		for _, g := range []*gw{g1, g2} {
			if code := g.loginSignedBy(t, g1.idp); code != http.StatusSeeOther {
				t.Fatalf("sign-in on %s: %d", g.URL, code)
			}
		}
	})
}

// TestExpiredCertificateRefused: a trusted certificate that has expired
// verifies no sign-in, whether it was pasted or came from the metadata;
// the diagnostics say certificate_expired.
func TestExpiredCertificateRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, source := range []string{directory.CertSourceMetadata, directory.CertSourcePaste} {
			t.Run(source, func(t *testing.T) {
				m := newMetaServer(t)
				clk := &testClock{t: time.Now()}
				g, s := newMetaGW(t, b.dir(t), b.sess(t), m, clk, nil)
				ctx := context.Background()
				// Entra's certificate expires in two hours.
				short, err := ssotest.SelfSigned(g.idp.Key, ssotest.CertCN, clk.Now().Add(-time.Hour), clk.Now().Add(2*time.Hour))
				testenv.Must(t, err, "short certificate")
				g.idp.Cert = short
				if source == directory.CertSourceMetadata {
					m.publish(t, g.idp, false)
					testenv.Must(t, g.dir.SetMetadataURL(ctx, g.company.ID, m.metadataURL(g.idp.TenantID)), "set metadata URL")
					testenv.Must(t, s.RefreshMetadata(ctx), "refresh")
				} else {
					co := companyNow(t, g)
					co.EntraIdentifier = g.idp.Issuer
					testenv.Must(t, g.dir.UpdateCompanySettings(ctx, co), "identifier")
					g.trust(co, g.idp.CertificateBase64(), false)
				}
				if set := trustedSet(t, g); set[certSHA1(g.idp)].Source != source {
					t.Fatalf("setup: %+v", set)
				}
				if code := g.loginSignedBy(t, g.idp); code != http.StatusSeeOther {
					t.Fatalf("sign-in while the certificate is valid: %d\n%s", code, g.logText())
				}
				clk.Advance(3 * time.Hour)
				if code := g.loginSignedBy(t, g.idp); code != http.StatusForbidden {
					t.Fatalf("sign-in signed by an expired trusted certificate: %d", code)
				}
				ev := g.lastSignIn(t, g.company)
				if ev.Success || ev.Reason != "certificate_expired" || !strings.Contains(ev.Detail, certSHA1(g.idp)) {
					t.Fatalf("diagnostics: %+v", ev)
				}
				// Without KeyInfo, with a second (valid) certificate trusted, still refused.
				fresh, err := ssotest.New(g.idp.Issuer)
				testenv.Must(t, err, "fresh")
				g.trust(companyNow(t, g), fresh.CertificateBase64(), false)
				a := g.assertion("acme", "maja.holm@acme.example")
				a.OmitKeyInfo = true
				if r := g.postACS(newBrowser(), "acme", g.signed(a), ""); r.StatusCode != http.StatusForbidden {
					t.Fatalf("expired certificate, no KeyInfo, two trusted: %d", r.StatusCode)
				}
				if ev := g.lastSignIn(t, g.company); ev.Reason != "certificate_expired" {
					t.Fatalf("no KeyInfo: reason %q (%s)", ev.Reason, ev.Detail)
				}
			})
		}
	})
}

// TestAdminMetadataURL: the console sets the URL (refusing hosts outside
// the allow-list), fetches at once, shows what changed and where each
// certificate came from, and removes the URL again.
func TestAdminMetadataURL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		m := newMetaServer(t)
		clk := &testClock{t: time.Now()}
		g, _ := newMetaGW(t, b.dir(t), b.sess(t), m, clk, nil)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		m.publish(t, g.idp, false)
		for _, bad := range []string{"http://" + m.host() + "/x", "https://evil.example/federationmetadata.xml", "https://169.254.169.254/latest"} {
			r := a.post(t, "/sso/metadata", url.Values{"metadata_url": {bad}})
			if page := body(t, r); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "refused") {
				t.Fatalf("%s: %d\n%s", bad, r.StatusCode, page)
			}
		}
		if co := companyNow(t, g); co.MetadataURL != "" {
			t.Fatalf("a refused URL was stored: %q", co.MetadataURL)
		}
		r := a.post(t, "/sso/metadata", url.Values{"metadata_url": {m.metadataURL(g.idp.TenantID)}})
		page := body(t, r)
		if r.StatusCode != http.StatusOK || !strings.Contains(page, `id="metadata-changes"`) || !strings.Contains(page, certSHA1(g.idp)) ||
			!strings.Contains(page, "Entra Identifier set to "+g.idp.Issuer) {
			t.Fatalf("save and fetch: %d\n%s", r.StatusCode, page)
		}
		if code := g.loginSignedBy(t, g.idp); code != http.StatusSeeOther {
			t.Fatalf("sign-in after the console fetch: %d", code)
		}
		code, page := a.get(t, "/admin/certificates")
		if i := strings.Index(page, `data-sha1="`+certSHA1(g.idp)+`"`); code != 200 || i < 0 || !strings.Contains(page[i:], `data-source="metadata"`) {
			t.Fatalf("certificates page:\n%s", page)
		}
		r = a.post(t, "/sso/metadata/refresh", nil)
		if page := body(t, r); r.StatusCode != http.StatusOK || !strings.Contains(page, "nothing changed") {
			t.Fatalf("fetch now: %d\n%s", r.StatusCode, page)
		}
		expectDone(t, a.post(t, "/sso/metadata", url.Values{"metadata_url": {""}}), "metadata-off")
		if co := companyNow(t, g); co.MetadataURL != "" || len(trustedSet(t, g)) != 1 {
			t.Fatalf("after removing the URL: %q, %d trusted", co.MetadataURL, len(trustedSet(t, g)))
		}
		if !hasAudit(g.audit(t, g.company), "admin:"+adminEmail, "sso.metadata_url", m.host()) {
			t.Fatal("no audit entry for the metadata URL")
		}
	})
}
