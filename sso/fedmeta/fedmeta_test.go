package fedmeta_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/fedmeta"
	"github.com/ssogate/ssogate/sso/ssotest"
)

func newIdP(t *testing.T) *ssotest.IdP {
	t.Helper()
	idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	if err != nil {
		t.Fatal(err)
	}
	return idp
}

func doc(t *testing.T, idp *ssotest.IdP, noOwn bool, extra ...*x509.Certificate) []byte {
	t.Helper()
	b, err := idp.FederationMetadata(noOwn, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantOutcome(t *testing.T, err error, outcome string) {
	t.Helper()
	e, ok := usererr.As(err)
	if !ok || e.Code() != outcome || fedmeta.OutcomeOf(err) != outcome {
		t.Fatalf("error %v, want outcome %q", err, outcome)
	}
	if e.Message() == "" {
		t.Fatalf("error %v has no message for the admin", err)
	}
}

func TestParseEntraMetadata(t *testing.T) {
	idp := newIdP(t)
	next, err := ssotest.New(idp.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	md, err := fedmeta.Parse(append([]byte("\xef\xbb\xbf"), doc(t, idp, false, next.Cert)...))
	if err != nil {
		t.Fatalf("Parse with a BOM: %v", err)
	}
	if md.EntityID != idp.Issuer || !md.Signed {
		t.Fatalf("entityID %q signed %v", md.EntityID, md.Signed)
	}
	if len(md.Signing) != 2 || !md.Signing[0].Equal(idp.Cert) || !md.Signing[1].Equal(next.Cert) {
		t.Fatalf("signing certificates: %d, want the active then the new one", len(md.Signing))
	}
}

func TestParseRefuses(t *testing.T) {
	idp := newIdP(t)
	good := string(doc(t, idp, false))
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	weakCert, err := ssotest.SelfSigned(weak, "weak", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, in, outcome string
	}{
		{"empty", "", fedmeta.OutcomeInvalid},
		{"html error page", "<html><body>Sign in</body></html>", fedmeta.OutcomeInvalid},
		{"json", `{"error":"invalid_request"}`, fedmeta.OutcomeInvalid},
		{"truncated", good[:len(good)/2], fedmeta.OutcomeInvalid},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + good[strings.Index(good, "<EntityDescriptor"):], fedmeta.OutcomeInvalid},
		{"utf-16", "\xff\xfe<\x00", fedmeta.OutcomeInvalid},
		{"no entityID", strings.Replace(good, `entityID="`, `x="`, 1), fedmeta.OutcomeInvalid},
		{"zero certificates", string(doc(t, idp, true)), fedmeta.OutcomeNoCerts},
		{"only a weak key", string(doc(t, idp, true, weakCert)), fedmeta.OutcomeNoCerts},
		{"no IdP role", `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>`, fedmeta.OutcomeNoCerts},
		{"bad validUntil", strings.Replace(good, `entityID="`, `validUntil="tomorrow" entityID="`, 1), fedmeta.OutcomeInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			md, err := fedmeta.Parse([]byte(c.in))
			if err == nil {
				t.Fatalf("accepted: %+v", md)
			}
			wantOutcome(t, err, c.outcome)
		})
	}
	// A weak key beside a good one: the good one is kept, the weak one named.
	md, err := fedmeta.Parse(doc(t, idp, false, weakCert))
	if err != nil || len(md.Signing) != 1 || len(md.Skipped) != 1 || !strings.Contains(md.Skipped[0], "1024-bit") {
		t.Fatalf("weak beside good: %v %+v", err, md)
	}
}

func TestCheckURL(t *testing.T) {
	f := &fedmeta.Fetcher{ExtraHosts: []string{"idp.example.net", "127.0.0.1:8443", "Metadata.Corp.Example:9443"}}
	ok := []string{
		"https://login.microsoftonline.com/0c1b3f5e-0000-4000-8000-000000000000/federationmetadata/2007-06/federationmetadata.xml?appid=1",
		"https://LOGIN.MICROSOFTONLINE.US/t/federationmetadata/2007-06/federationmetadata.xml",
		"https://login.partner.microsoftonline.cn/t/federationmetadata/2007-06/federationmetadata.xml",
		"https://login.microsoftonline.com:443/t/x.xml",
		"https://login.microsoftonline.com./t/x.xml",
		"https://idp.example.net/metadata",
		"https://127.0.0.1:8443/m",
		"https://metadata.corp.example:9443/m",
	}
	for _, u := range ok {
		if err := f.CheckURL(u); err != nil {
			t.Errorf("CheckURL(%q) = %v", u, err)
		}
	}
	bad := []string{
		"http://login.microsoftonline.com/t/federationmetadata/2007-06/federationmetadata.xml",
		"https://login.microsoftonline.com:8443/t/x.xml",
		"https://login.microsoftonline.com.evil.example/t/x.xml",
		"https://evilmicrosoftonline.com/t/x.xml",
		"https://user:pw@login.microsoftonline.com/t/x.xml",
		"https://login.microsoftonline.de/t/x.xml",
		"https://127.0.0.1/m",
		"https://127.0.0.1:9999/m",
		"https://2130706433:8443/m",
		"https://[::1]:8443/m",
		"https://169.254.169.254/latest/meta-data",
		"https://idp.example.net:444/m",
		"https://metadata.corp.example/m",
		"file:///etc/passwd",
		"login.microsoftonline.com/t/x.xml",
		"",
	}
	for _, u := range bad {
		err := f.CheckURL(u)
		if err == nil {
			t.Errorf("CheckURL(%q) accepted", u)
			continue
		}
		wantOutcome(t, err, fedmeta.OutcomeRefusedURL)
	}
	if err := (&fedmeta.Fetcher{}).CheckURL("https://idp.example.net/metadata"); err == nil {
		t.Error("a host outside the built-in list is accepted without SSOGATE_METADATA_HOSTS")
	}
}

// server is a loopback HTTPS metadata server standing in for Entra.
type server struct {
	*httptest.Server
	hits    atomic.Int32
	handler atomic.Value // http.HandlerFunc
}

func newServer(t *testing.T) (*server, *fedmeta.Fetcher) {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.handler.Load().(http.HandlerFunc)(w, r)
	}))
	t.Cleanup(s.Close)
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	host := strings.TrimPrefix(s.URL, "https://")
	return s, &fedmeta.Fetcher{ExtraHosts: []string{host}, RootCAs: pool, Timeout: 2 * time.Second}
}

func (s *server) serve(h http.HandlerFunc) { s.handler.Store(h) }

func TestFetch(t *testing.T) {
	idp := newIdP(t)
	body := doc(t, idp, false)
	s, f := newServer(t)
	s.serve(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Fri, 01 May 2026 09:00:00 GMT")
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(body)
	})
	ctx := context.Background()
	u := s.URL + "/t/federationmetadata/2007-06/federationmetadata.xml?appid=x"
	res, err := f.Fetch(ctx, u, "", "")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if res.NotModified || res.Metadata.EntityID != idp.Issuer || res.ETag != `"v1"` || res.LastModified == "" || !bytes.Equal(res.Body, body) {
		t.Fatalf("Fetch result %+v", res)
	}
	res, err = f.Fetch(ctx, u, `"v1"`, res.LastModified)
	if err != nil || !res.NotModified || res.ETag != `"v1"` {
		t.Fatalf("conditional Fetch: %v %+v", err, res)
	}

	// Without the test's root, the server's certificate is not trusted.
	untrusting := &fedmeta.Fetcher{ExtraHosts: f.ExtraHosts}
	_, err = untrusting.Fetch(ctx, u, "", "")
	wantOutcome(t, err, fedmeta.OutcomeUnreachable)
	// The admin reads the message; the TLS detail is the cause, for the log.
	var ue *usererr.Error
	if !errors.As(err, &ue) || ue.Kind() != usererr.Unavailable || ue.Unwrap() == nil || strings.Contains(err.Error(), "x509") {
		t.Fatalf("unreachable: %q, cause %v", err, errors.Unwrap(err))
	}
}

func TestFetchFailures(t *testing.T) {
	idp := newIdP(t)
	good := doc(t, idp, false)
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(good) }))
	defer other.Close()
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		h       http.HandlerFunc
		outcome string
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, fedmeta.OutcomeHTTPStatus},
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, fedmeta.OutcomeHTTPStatus},
		{"304 without validators", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(304) }, fedmeta.OutcomeHTTPStatus},
		{"garbage", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("\x00\x01garbage")) }, fedmeta.OutcomeInvalid},
		{"oversized, declared", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(2<<20))
			_, _ = w.Write(bytes.Repeat([]byte(" "), 2<<20))
		}, fedmeta.OutcomeTooLarge},
		{"oversized, chunked", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 40; i++ {
				_, _ = w.Write(bytes.Repeat([]byte(" "), 64<<10))
				w.(http.Flusher).Flush()
			}
		}, fedmeta.OutcomeTooLarge},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, fedmeta.OutcomeTimeout},
		{"redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/metadata.xml", http.StatusFound)
		}, fedmeta.OutcomeRedirect},
		{"redirect to http", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://"+r.Host+"/metadata.xml", http.StatusFound)
		}, fedmeta.OutcomeRedirect},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/again", http.StatusFound)
		}, fedmeta.OutcomeRedirect},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, f := newServer(t)
			f.MaxBytes = 1 << 20
			// Only the slow server needs a short limit to show; the others
			// get a generous one so that a loaded machine cannot turn their
			// outcome into a timeout.
			f.Timeout = 15 * time.Second
			if c.outcome == fedmeta.OutcomeTimeout {
				f.Timeout = 500 * time.Millisecond
			}
			s.serve(c.h)
			res, err := f.Fetch(ctx, s.URL+"/metadata.xml", "", "")
			if err == nil {
				t.Fatalf("accepted: %+v", res)
			}
			wantOutcome(t, err, c.outcome)
		})
	}
	// A redirect within the allowed host is followed.
	s, f := newServer(t)
	s.serve(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
			return
		}
		_, _ = w.Write(good)
	})
	if _, err := f.Fetch(ctx, s.URL+"/old", "", ""); err != nil {
		t.Fatalf("same-host redirect: %v", err)
	}
	// Server down: nothing listens any more.
	s.Close()
	_, err := f.Fetch(ctx, s.URL+"/old", "", "")
	wantOutcome(t, err, fedmeta.OutcomeUnreachable)
}

// TestConcurrentFetches: one Fetcher serves the scheduled refresh and the
// console's "fetch now" at once.
func TestConcurrentFetches(t *testing.T) {
	idp := newIdP(t)
	body := doc(t, idp, false)
	s, f := newServer(t)
	s.serve(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := f.Fetch(context.Background(), s.URL+"/m.xml", "", "")
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestPublicAddresses(t *testing.T) {
	for ip, want := range map[string]bool{
		"20.190.160.1": true, "2603:1026::1": true,
		"127.0.0.1": false, "10.1.2.3": false, "192.168.0.1": false, "172.16.0.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "::1": false, "fd00::1": false, "fe80::1": false, "::ffff:127.0.0.1": false,
	} {
		if got := fedmeta.Public(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Public(%s) = %v, want %v", ip, got, want)
		}
	}
}
