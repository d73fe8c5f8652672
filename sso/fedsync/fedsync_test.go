package fedsync_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
	"github.com/ssogate/ssogate/sso/fedmeta"
	"github.com/ssogate/ssogate/sso/fedsync"
	"github.com/ssogate/ssogate/sso/ssotest"
)

// env is a directory with one company following a loopback metadata
// server, and a clock.
type env struct {
	t    *testing.T
	dir  directory.Store
	sy   *fedsync.Syncer
	co   *directory.Company
	now  time.Time
	mu   sync.Mutex
	doc  []byte
	idp  *ssotest.IdP
	srv  *httptest.Server
	ctx  context.Context
	slug string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, now: time.Now(), ctx: context.Background(), slug: "acme"}
	st, err := sqlstore.Open(e.ctx, "sqlite:"+filepath.Join(t.TempDir(), "d.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.dir = st
	e.idp, err = ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		_, _ = w.Write(e.doc)
	}))
	t.Cleanup(e.srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(e.srv.Certificate())
	e.sy = &fedsync.Syncer{Dir: st, Grace: time.Hour, Now: func() time.Time { return e.now },
		Fetcher: &fedmeta.Fetcher{ExtraHosts: []string{strings.TrimPrefix(e.srv.URL, "https://")}, RootCAs: pool}}
	e.co = &directory.Company{Slug: e.slug, Name: "Acme", SSOEnabled: true}
	if err := st.CreateCompany(e.ctx, e.co); err != nil {
		t.Fatal(err)
	}
	if err := st.SetMetadataURL(e.ctx, e.co.ID, e.srv.URL+"/md.xml"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) publish(certs ...*x509.Certificate) {
	e.t.Helper()
	d, err := e.idp.FederationMetadata(true, certs...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.doc = d
	e.mu.Unlock()
}

func (e *env) refresh() (*fedsync.Change, error) {
	e.t.Helper()
	co, err := e.dir.GetCompanyByID(e.ctx, e.co.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.sy.Refresh(e.ctx, co)
}

func (e *env) mustRefresh() *fedsync.Change {
	e.t.Helper()
	ch, err := e.refresh()
	if err != nil {
		e.t.Fatalf("refresh: %v (%+v)", err, ch)
	}
	return ch
}

func (e *env) trusted() map[string]directory.Certificate {
	e.t.Helper()
	l, err := e.dir.ListCertificates(e.ctx, e.co.ID, false)
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]directory.Certificate{}
	for _, c := range l {
		m[c.SHA1] = c
	}
	return m
}

func sha1Of(c *x509.Certificate) string { return certs.Describe(c).SHA1 }

func newCert(t *testing.T, issuer string) *ssotest.IdP {
	t.Helper()
	p, err := ssotest.New(issuer)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPastedCertificatesStay(t *testing.T) {
	e := newEnv(t)
	pasted := newCert(t, e.idp.Issuer)
	info := certs.Describe(pasted.Cert)
	if err := e.dir.AddCertificate(e.ctx, &directory.Certificate{CompanyID: e.co.ID, DER: info.DER, NotBefore: info.NotBefore, NotAfter: info.NotAfter}, false); err != nil {
		t.Fatal(err)
	}
	e.publish(e.idp.Cert)
	e.mustRefresh()
	e.now = e.now.Add(48 * time.Hour)
	e.mustRefresh()
	got := e.trusted()
	if got[info.SHA1].Source != directory.CertSourcePaste || got[sha1Of(e.idp.Cert)].Source != directory.CertSourceMetadata || len(got) != 2 {
		t.Fatalf("a pasted certificate the metadata never listed must stay trusted: %+v", got)
	}
}

func TestRetiredByHandIsNotTrustedAgain(t *testing.T) {
	e := newEnv(t)
	e.publish(e.idp.Cert)
	e.mustRefresh()
	c := e.trusted()[sha1Of(e.idp.Cert)]
	if err := e.dir.RetireCertificate(e.ctx, e.co.ID, c.SHA256, e.now); err != nil {
		t.Fatal(err)
	}
	ch := e.mustRefresh()
	if _, ok := e.trusted()[sha1Of(e.idp.Cert)]; ok {
		t.Fatal("the metadata made a retired certificate trusted again")
	}
	if len(ch.Notes) != 1 || !strings.Contains(ch.Notes[0], "retired") {
		t.Fatalf("notes: %q", ch.Notes)
	}
}

func TestTheCertificateThatSignsNowIsKept(t *testing.T) {
	e := newEnv(t)
	next := newCert(t, e.idp.Issuer)
	e.publish(e.idp.Cert, next.Cert)
	e.mustRefresh()
	old := e.trusted()[sha1Of(e.idp.Cert)]
	// The old certificate signed the latest sign-in; the metadata then drops it.
	if err := e.dir.RecordLogins(e.ctx, nil, []directory.CertificateUse{{CompanyID: e.co.ID, SHA256: old.SHA256, At: e.now, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	e.publish(next.Cert)
	e.mustRefresh()
	e.now = e.now.Add(2 * time.Hour) // past the grace
	ch := e.mustRefresh()
	if _, ok := e.trusted()[old.SHA1]; !ok || len(ch.Retired) != 0 {
		t.Fatalf("the certificate that alone signed the latest sign-in was retired: %+v", ch)
	}
	// Once the new one has signed, the old one goes.
	nx := e.trusted()[sha1Of(next.Cert)]
	if err := e.dir.RecordLogins(e.ctx, nil, []directory.CertificateUse{{CompanyID: e.co.ID, SHA256: nx.SHA256, At: e.now, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	ch = e.mustRefresh()
	if _, ok := e.trusted()[old.SHA1]; ok || len(ch.Retired) != 1 {
		t.Fatalf("after the new certificate signed: %+v", ch)
	}
}

func TestRelistedBeforeTheGraceEnds(t *testing.T) {
	e := newEnv(t)
	e.publish(e.idp.Cert)
	e.mustRefresh()
	other := newCert(t, e.idp.Issuer)
	e.publish(other.Cert) // a glitch: Entra's document lacks the active certificate
	ch := e.mustRefresh()
	if len(ch.Missing) != 1 {
		t.Fatalf("missing: %+v", ch)
	}
	e.now = e.now.Add(30 * time.Minute)
	e.publish(e.idp.Cert, other.Cert)
	ch = e.mustRefresh()
	if len(ch.Relisted) != 1 || e.trusted()[sha1Of(e.idp.Cert)].MissingSince != nil {
		t.Fatalf("relisted: %+v", ch)
	}
	e.now = e.now.Add(2 * time.Hour)
	e.mustRefresh()
	if _, ok := e.trusted()[sha1Of(e.idp.Cert)]; !ok {
		t.Fatal("a certificate listed again was retired")
	}
}

func TestIdentifierRules(t *testing.T) {
	e := newEnv(t)
	// Pinned at a first sign-in to another tenant: refused, nothing trusted.
	if _, err := e.dir.PinIssuer(e.ctx, e.co.ID, "https://sts.windows.net/"+ssotest.NewTenantID()+"/"); err != nil {
		t.Fatal(err)
	}
	e.publish(e.idp.Cert)
	ch, err := e.refresh()
	if err == nil || ch.Outcome != fedsync.OutcomeIdentifierMismatch || len(e.trusted()) != 0 {
		t.Fatalf("pinned mismatch: %v %+v", err, ch)
	}
	co, _ := e.dir.GetCompanyByID(e.ctx, e.co.ID)
	if co.EntraIdentifier != "" || co.Metadata.ETag != "" || co.Metadata.Outcome != fedsync.OutcomeIdentifierMismatch {
		t.Fatalf("company after a refused document: %+v", co)
	}
	// An expired validUntil is refused too.
	e2 := newEnv(t)
	d, err := e2.idp.FederationMetadata(false)
	if err != nil {
		t.Fatal(err)
	}
	e2.mu.Lock()
	e2.doc = []byte(strings.Replace(string(d), `entityID=`, `validUntil="2001-01-01T00:00:00Z" entityID=`, 1))
	e2.mu.Unlock()
	if ch, err := e2.refresh(); err == nil || ch.Outcome != fedsync.OutcomeExpired || len(e2.trusted()) != 0 {
		t.Fatalf("expired metadata: %v %+v", err, ch)
	}
	// Every certificate expired: refused.
	key := e2.idp.Key
	expired, err := ssotest.SelfSigned(key, "old", e2.now.AddDate(-2, 0, 0), e2.now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e2.publish(expired)
	if ch, err := e2.refresh(); err == nil || ch.Outcome != fedmeta.OutcomeNoCerts {
		t.Fatalf("only expired certificates: %v %+v", err, ch)
	}
}
