package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
	"github.com/ssogate/ssogate/sso/ssotest"
)

// Bench company and employee naming, shared by seed, login, me and scim.
const (
	benchSlug = "bench"
	userFmt   = "user%06d@bench.example"
)

// objectID is a stable Entra-like object id for employee i.
func objectID(i int) string { return fmt.Sprintf("0b5e0000-0000-4000-8000-%012d", i) }

func keygenCmd(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to write idp-key.pem, idp-cert.pem and issuer.txt into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("keygen: -dir is required")
	}
	idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(idp.Key)})
	for name, data := range map[string][]byte{
		"idp-key.pem": key, "idp-cert.pem": []byte(idp.CertificateBase64()), "issuer.txt": []byte(idp.Issuer + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(*dir, name), data, 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "fake Entra %s written to %s\n", idp.Issuer, *dir)
	return nil
}

// loadIdP reads what keygen wrote.
func loadIdP(dir string) (*ssotest.IdP, error) {
	kb, err := os.ReadFile(filepath.Join(dir, "idp-key.pem"))
	if err != nil {
		return nil, err
	}
	cb, err := os.ReadFile(filepath.Join(dir, "idp-cert.pem"))
	if err != nil {
		return nil, err
	}
	ib, err := os.ReadFile(filepath.Join(dir, "issuer.txt"))
	if err != nil {
		return nil, err
	}
	kp, _ := pem.Decode(kb)
	cp, _ := pem.Decode(cb)
	if kp == nil || cp == nil {
		return nil, fmt.Errorf("%s: unreadable PEM", dir)
	}
	key, err := x509.ParsePKCS1PrivateKey(kp.Bytes)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey.(*rsa.PublicKey)) {
		return nil, errors.New("idp key and certificate do not match")
	}
	return &ssotest.IdP{Issuer: strings.TrimSpace(string(ib)), Key: key, Cert: cert}, nil
}

func seedCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	dir := fs.String("dir", "", "keygen directory (the certificate to trust); the SCIM token is written to DIR/scim-token")
	db := fs.String("db", "", "directory database URL (sqlite:PATH or postgres://… on loopback)")
	n := fs.Int("employees", 1000, "employees to create ("+userFmt+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *db == "" {
		return errors.New("seed: -dir and -db are required")
	}
	if strings.HasPrefix(*db, "postgres") {
		base, query, _ := strings.Cut(*db, "?")
		if strings.Contains(strings.ToLower(query), "host") {
			return errors.New("seed: give the PostgreSQL host in the URL authority (loopback), not in its query")
		}
		if _, err := loopbackOnly("http://" + strings.SplitN(base, "://", 2)[1]); err != nil {
			return err
		}
	} else if !strings.HasPrefix(*db, "sqlite:") {
		return errors.New("seed: -db must be sqlite:PATH or postgres://…@127.0.0.1/…")
	}
	idp, err := loadIdP(*dir)
	if err != nil {
		return err
	}
	st, err := sqlstore.Open(ctx, *db, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	c := &directory.Company{Slug: benchSlug, Name: "Bench A/S", SSOEnabled: true, NameIDMode: directory.NameIDUPN,
		EntraIdentifier: idp.Issuer}
	if err := st.CreateCompany(ctx, c); err != nil {
		return fmt.Errorf("create company (seed a fresh database): %w", err)
	}
	now := time.Now()
	ct, err := certificateOf(c.ID, idp, now)
	if err != nil {
		return err
	}
	if err := st.AddCertificate(ctx, ct, false); err != nil {
		return err
	}
	t0 := time.Now()
	const batch = 5000
	for start := 0; start < *n; start += batch {
		err := st.InTx(ctx, func(tx directory.Store) error {
			for i := start; i < min(*n, start+batch); i++ {
				upn := fmt.Sprintf(userFmt, i)
				e := &directory.Employee{CompanyID: c.ID, UserName: upn, Email: upn, GivenName: "Given",
					FamilyName: fmt.Sprintf("Family %d", i), Department: fmt.Sprintf("Dept %d", i%40),
					ExternalID: fmt.Sprintf("user%06d", i), Active: true, Source: directory.SourceImport}
				if err := tx.CreateEmployee(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	tok, _, err := (&admin.Service{Dir: st}).MintSCIMToken(ctx, admin.Actor{Name: "load driver"}, c.ID, "load driver")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "scim-token"), []byte(tok), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeded company %q with %d employees in %s\n", benchSlug, *n, time.Since(t0).Round(time.Millisecond))
	return nil
}

// minter signs Entra-shaped IdP-initiated responses ahead of time.
type minter struct {
	idp       *ssotest.IdP
	acs       string
	audience  string
	employees int
}

// mint returns count base64 responses for employees i mod employees,
// signed on every core in parallel.
func (m *minter) mint(offset, count int) ([]string, error) {
	out := make([]string, count)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < count; i += workers {
				u := (offset + i) % m.employees
				upn := fmt.Sprintf(userFmt, u)
				s, err := m.idp.ResponseBase64(ssotest.Assertion{ACSURL: m.acs, Audience: m.audience, NameID: upn,
					ObjectID: objectID(u), TenantID: m.idp.TenantID, Email: upn, GivenName: "Given",
					FamilyName: fmt.Sprintf("Family %d", u), DisplayName: fmt.Sprintf("Given Family %d", u)})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				out[i] = s
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

type loginFlags struct {
	common
	dir, acs, audience string
	employees          int
	offset             int
}

func (f *loginFlags) register(fs *flag.FlagSet) {
	f.common.register(fs, 2000, 8)
	fs.StringVar(&f.dir, "dir", "", "keygen directory (the fake Entra's key)")
	fs.StringVar(&f.acs, "acs", "", "ACS URL (Destination and Recipient), e.g. http://127.0.0.1:8080/c/bench/saml/acs")
	fs.StringVar(&f.audience, "audience", "", "SP Entity ID (default: the ACS URL with /acs replaced by /metadata)")
	fs.IntVar(&f.employees, "employees", 1000, "NameIDs cycle through this many seeded employees")
	fs.IntVar(&f.offset, "offset", 0, "first employee index")
}

func (f *loginFlags) minter() (*minter, error) {
	if f.dir == "" || f.acs == "" {
		return nil, errors.New("-dir and -acs are required")
	}
	if _, err := loopbackOnly(f.acs); err != nil {
		return nil, err
	}
	if f.audience == "" {
		f.audience = strings.TrimSuffix(f.acs, "/acs") + "/metadata"
	}
	idp, err := loadIdP(f.dir)
	if err != nil {
		return nil, err
	}
	return &minter{idp: idp, acs: f.acs, audience: f.audience, employees: max(1, f.employees)}, nil
}

func waitURLFor(target string) string {
	u, _ := url.Parse(target)
	return u.Scheme + "://" + u.Host + "/healthz"
}

func loginCmd(ctx context.Context, args []string) error {
	var f loginFlags
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := f.minter()
	if err != nil {
		return err
	}
	t0 := time.Now()
	forms, err := m.mint(f.offset, f.n+f.warmup)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "minted %d signed responses in %s\n", len(forms), time.Since(t0).Round(time.Millisecond))
	if err := f.startServer(ctx, waitURLFor(f.acs)); err != nil {
		return err
	}
	defer f.stopServer()
	cl := newClient(f.c)
	r, err := f.drive(ctx, "login", f.acs, func(ctx context.Context, i int) (int, error) {
		if i < 0 {
			i = f.n - 1 - i // warm-up responses follow the measured ones
		}
		body := url.Values{"SAMLResponse": {forms[i]}}.Encode()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.acs, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return 1, expect(cl.Do(req))(func(code int) bool { return code < 400 })
	})
	if err != nil {
		return err
	}
	return f.emit(r)
}

// sessionCookie logs one browser in and returns its session cookie.
func sessionCookie(ctx context.Context, cl *http.Client, acs, form string) (*http.Cookie, error) {
	body := url.Values{"SAMLResponse": {form}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, acs, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := cl.Do(req)
	if err := expect(resp, err)(func(code int) bool { return code == http.StatusSeeOther }); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "ssogate_session") && c.Value != "" {
			return c, nil
		}
	}
	return nil, errors.New("login answered without a session cookie")
}

func meCmd(ctx context.Context, args []string) error {
	var f loginFlags
	fs := flag.NewFlagSet("me", flag.ContinueOnError)
	f.register(fs)
	base := fs.String("base", "", "company base URL, e.g. http://127.0.0.1:8080/c/bench")
	sessions := fs.Int("sessions", 64, "browsers to log in first (their cookies rotate across requests)")
	cookiesOut := fs.String("cookies-out", "", "only log the browsers in, write their cookies (name=value, a line each) to this file and stop: for an outside driver such as wrk (test/load/wrk-me.lua)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" {
		return errors.New("me: -base is required")
	}
	if _, err := loopbackOnly(*base); err != nil {
		return err
	}
	if f.acs == "" {
		f.acs = strings.TrimSuffix(*base, "/") + "/saml/acs"
	}
	m, err := f.minter()
	if err != nil {
		return err
	}
	forms, err := m.mint(f.offset, *sessions)
	if err != nil {
		return err
	}
	if err := f.startServer(ctx, waitURLFor(*base)); err != nil {
		return err
	}
	defer f.stopServer()
	cl := newClient(f.c)
	cookies := make([]*http.Cookie, len(forms))
	for i, form := range forms {
		if cookies[i], err = sessionCookie(ctx, cl, f.acs, form); err != nil {
			return err
		}
	}
	if *cookiesOut != "" {
		var b strings.Builder
		for _, c := range cookies {
			b.WriteString(c.Name + "=" + c.Value + "\n")
		}
		return os.WriteFile(*cookiesOut, []byte(b.String()), 0o600)
	}
	target := strings.TrimSuffix(*base, "/") + "/api/me"
	r, err := f.drive(ctx, "me", target, func(ctx context.Context, i int) (int, error) {
		if i < 0 {
			i = -i
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		req.AddCookie(cookies[i%len(cookies)])
		return 1, expect(cl.Do(req))(func(code int) bool { return code == http.StatusOK })
	})
	if err != nil {
		return err
	}
	return f.emit(r)
}

// certificateOf is the directory record of a trusted certificate, made as
// the admin's paste makes it.
func certificateOf(companyID int64, idp *ssotest.IdP, now time.Time) (*directory.Certificate, error) {
	info, err := certs.Parse(idp.CertificateBase64(), now)
	if err != nil {
		return nil, err
	}
	return admin.CertificateRecord(companyID, info, directory.CertSourcePaste, now), nil
}
