package identity

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

const (
	iss = "https://sso.example.com"
	aud = "http://127.0.0.1:9000"
)

var bg = context.Background()

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{t: time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)} }

func sqliteStore(t *testing.T) directory.Store {
	st, err := sqlstore.Open(bg, "sqlite:"+filepath.Join(t.TempDir(), "keys.db"), sqlstore.Options{})
	testenv.Must(t, err, "open sqlite")
	t.Cleanup(func() { st.Close() })
	return st
}

func postgresStore(t *testing.T) directory.Store {
	st, err := sqlstore.Open(bg, testenv.PostgresURL(t), sqlstore.Options{})
	testenv.Must(t, err, "open postgres")
	t.Cleanup(func() { st.Close() })
	return st
}

func newSigner(t *testing.T, st KeyStore, c *clock, mod func(*Options)) *Signer {
	t.Helper()
	o := Options{Issuer: iss, Store: st, TTL: 2 * time.Minute, Rotation: 4 * time.Hour, Lead: time.Hour,
		MaxAge: 10 * time.Minute, Refresh: 30 * time.Second, Now: c.Now}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.syncReload = true
	return s
}

var maja = Claims{Subject: "e-1", Company: "acme", UserName: "maja.holm@acme.example", Email: "maja.holm@acme.example",
	Name: "Maja Holm", Roles: []string{"approver"}, SID: "sid-1"}

// verify checks tok the way a product would, with an independent JWKS
// client (keyfunc/jwkset) over the signer's published document.
func verify(t *testing.T, s *Signer, tok string, at time.Time) (*jwt.Token, jwt.MapClaims, error) {
	t.Helper()
	doc, err := s.JWKS(bg)
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	kf, err := keyfunc.NewJWKSetJSON(json.RawMessage(doc))
	if err != nil {
		t.Fatalf("keyfunc over %s: %v", doc, err)
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, kf.Keyfunc, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(iss),
		jwt.WithAudience(aud), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(func() time.Time { return at }))
	return parsed, claims, err
}

func kids(t *testing.T, s *Signer) []string {
	t.Helper()
	doc, err := s.JWKS(bg)
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var set struct {
		Keys []struct {
			Kid, Alg, Use, Kty, Crv string
			D                       string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS %s: %v", doc, err)
	}
	var out []string
	for _, k := range set.Keys {
		if k.Alg != "ES256" || k.Use != "sig" || k.Kty != "EC" || k.Crv != "P-256" || k.D != "" {
			t.Fatalf("JWKS key %+v: want a public ES256 signing key", k)
		}
		out = append(out, k.Kid)
	}
	return out
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatalf("parse %q: %v", tok, err)
	}
	k, _ := p.Header["kid"].(string)
	return k
}

func TestMintVerifies(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newSigner(t, sqliteStore(t), c, nil)
	tok, err := s.Mint(bg, aud, maja)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	p, claims, err := verify(t, s, tok, c.Now())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if p.Header["alg"] != "ES256" || p.Header["kid"] == "" || p.Header["kid"] != kids(t, s)[0] {
		t.Fatalf("header %v; JWKS kids %v", p.Header, kids(t, s))
	}
	want := map[string]any{"iss": iss, "aud": aud, "sub": "e-1", "company": "acme", "userName": "maja.holm@acme.example",
		"email": "maja.holm@acme.example", "name": "Maja Holm", "sid": "sid-1"}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if r, _ := claims["roles"].([]any); len(r) != 1 || r[0] != "approver" {
		t.Errorf("roles = %v", claims["roles"])
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if exp.Sub(iat.Time) != 2*time.Minute || !iat.Equal(c.Now()) {
		t.Errorf("iat %v exp %v; want exp = iat + 2m, iat = now", iat, exp)
	}
	// Expired, wrong audience, wrong issuer, tampered, and "none" are refused.
	if _, _, err := verify(t, s, tok, c.Now().Add(2*time.Minute+time.Second)); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("expired token: %v", err)
	}
	other, _ := s.Mint(bg, "http://other.example", maja)
	if _, _, err := verify(t, s, other, c.Now()); !errors.Is(err, jwt.ErrTokenInvalidAudience) {
		t.Errorf("other audience: %v", err)
	}
	tampered := tok[:len(tok)-4] + "AAAA"
	if tampered == tok {
		tampered = tok[:len(tok)-4] + "BBBB"
	}
	if _, _, err := verify(t, s, tampered, c.Now()); err == nil {
		t.Errorf("tampered signature verified")
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": iss, "aud": aud, "sub": "e-1",
		"exp": c.Now().Add(time.Minute).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if _, _, err := verify(t, s, none, c.Now()); err == nil {
		t.Errorf("alg none verified")
	}
	// No roles is an empty list, not null.
	tok2, err := s.Mint(bg, aud, Claims{Subject: "e-2", Company: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	_, cl2, err := verify(t, s, tok2, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := cl2["roles"].([]any); !ok || len(r) != 0 {
		t.Errorf("roles without roles = %#v, want []", cl2["roles"])
	}
	if _, err := s.Mint(bg, "", maja); err == nil {
		t.Errorf("Mint without audience succeeded")
	}
}

func TestOptionsRefused(t *testing.T) {
	t.Parallel()
	st := sqliteStore(t)
	for name, o := range map[string]Options{
		"no issuer":      {Store: st},
		"no store":       {Issuer: iss},
		"ttl over 5m":    {Issuer: iss, Store: st, TTL: 6 * time.Minute},
		"lead < max-age": {Issuer: iss, Store: st, Lead: 10 * time.Minute, MaxAge: 10 * time.Minute},
		"short rotation": {Issuer: iss, Store: st, Lead: time.Hour, Rotation: time.Hour},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// TestRotation walks one key's life with an injected clock: the next key
// is published Lead before it signs; the old one stays until every
// assertion it signed has expired, then leaves the JWKS and the database.
func TestRotation(t *testing.T) {
	t.Parallel()
	c := newClock()
	st := sqliteStore(t)
	s := newSigner(t, st, c, func(o *Options) { o.CacheSize = -1 })
	tok1, err := s.Mint(bg, aud, maja)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := st.ListSigningKeys(bg)
	t0 := first[0].SignsFrom // the first key is backdated by the grace
	if !t0.Equal(c.Now().Add(-retireGrace)) {
		t.Fatalf("first key signs from %v", t0)
	}
	c.Add(t0.Sub(c.Now()))
	k1 := kidOf(t, tok1)
	if got := kids(t, s); len(got) != 1 || got[0] != k1 {
		t.Fatalf("first key: JWKS %v, token kid %s", got, k1)
	}
	// Until Rotation - Lead, no second key.
	c.Add(3*time.Hour - time.Minute)
	if got := kids(t, s); len(got) != 1 {
		t.Fatalf("at t0+2h59m JWKS %v, want one key", got)
	}
	// At Rotation - Lead the next key is published but does not sign.
	c.Add(time.Minute)
	if got := kids(t, s); len(got) != 2 || got[0] != k1 {
		t.Fatalf("at t0+3h JWKS %v, want k1 and the next key", got)
	}
	k2 := kids(t, s)[1]
	rows, _ := st.ListSigningKeys(bg)
	if len(rows) != 2 || !rows[1].SignsFrom.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("rows %+v: want key 2 signing at the first key's start + rotation", rows)
	}
	c.Add(time.Hour - time.Second)
	last, err := s.Mint(bg, aud, maja)
	if err != nil || kidOf(t, last) != k1 {
		t.Fatalf("just before the switch: kid %s err %v, want %s", kidOf(t, last), err, k1)
	}
	lastAt := c.Now()
	c.Add(time.Second)
	tok2, err := s.Mint(bg, aud, maja)
	if err != nil || kidOf(t, tok2) != k2 {
		t.Fatalf("at the switch: kid %s err %v, want %s", kidOf(t, tok2), err, k2)
	}
	switchAt := c.Now()
	// The last k1 assertion verifies until it expires: k1 is still published.
	c.Add(2*time.Minute - 2*time.Second)
	if _, _, err := verify(t, s, last, lastAt.Add(2*time.Minute-time.Second)); err != nil {
		t.Fatalf("last k1 assertion before its exp: %v (JWKS %v)", err, kids(t, s))
	}
	// k1 leaves at switch + TTL + grace, and the row is deleted.
	c.Add(switchAt.Add(2*time.Minute+retireGrace).Sub(c.Now()) - time.Second)
	if got := kids(t, s); len(got) != 2 {
		t.Fatalf("just before k1's retirement: JWKS %v", got)
	}
	c.Add(31 * time.Second) // the next re-read (Refresh) renders the JWKS without it
	if got := kids(t, s); len(got) != 1 || got[0] != k2 {
		t.Fatalf("after k1's retirement: JWKS %v, want only %s", got, k2)
	}
	if rows, _ := st.ListSigningKeys(bg); len(rows) != 1 || rows[0].KID != k2 {
		t.Fatalf("rows after retirement: %+v", rows)
	}
	if _, _, err := verify(t, s, tok2, switchAt.Add(time.Minute)); err != nil {
		t.Fatalf("k2 assertion: %v", err)
	}
}

// TestRotationAfterDowntime: when nothing ran for longer than a rotation,
// the old key keeps signing until the next one has been published for Lead.
func TestRotationAfterDowntime(t *testing.T) {
	t.Parallel()
	c := newClock()
	st := sqliteStore(t)
	s := newSigner(t, st, c, func(o *Options) { o.CacheSize = -1 })
	tok, _ := s.Mint(bg, aud, maja)
	k1 := kidOf(t, tok)
	c.Add(30 * 24 * time.Hour)
	s2 := newSigner(t, st, c, func(o *Options) { o.CacheSize = -1 })
	tok, err := s2.Mint(bg, aud, maja)
	if err != nil || kidOf(t, tok) != k1 {
		t.Fatalf("after downtime: kid %s err %v, want the old key %s", kidOf(t, tok), err, k1)
	}
	rows, _ := st.ListSigningKeys(bg)
	if len(rows) != 2 || !rows[1].SignsFrom.Equal(c.Now().Add(time.Hour)) {
		t.Fatalf("rows %+v: want the next key signing Lead from now", rows)
	}
}

// TestTwoSignersRace: two instances (signers on one database) reach the
// rotation point at once; exactly one next key exists and both agree.
func TestTwoSignersRace(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(*testing.T) directory.Store{"sqlite": sqliteStore, "postgres": postgresStore} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			st := open(t)
			signers := []*Signer{newSigner(t, st, c, nil), newSigner(t, st, c, nil), newSigner(t, st, c, nil)}
			for round, step := range []time.Duration{0, 3 * time.Hour, time.Hour} { // first key, next key, switch
				c.Add(step)
				var wg sync.WaitGroup
				toks := make([]string, len(signers)*4)
				errs := make([]error, len(toks))
				for i := range toks {
					wg.Add(1)
					go func() {
						defer wg.Done()
						cl := maja
						cl.SID = fmt.Sprint("sid-", i)
						toks[i], errs[i] = signers[i%len(signers)].Mint(bg, aud, cl)
					}()
				}
				wg.Wait()
				rows, err := st.ListSigningKeys(bg)
				if err != nil {
					t.Fatal(err)
				}
				if want := min(round+1, 2); len(rows) != want {
					t.Fatalf("round %d: %d keys stored, want %d", round, len(rows), want)
				}
				for i := range toks {
					if errs[i] != nil {
						t.Fatalf("round %d mint %d: %v", round, i, errs[i])
					}
					want := rows[0].KID
					if round == 2 {
						want = rows[1].KID
					}
					if kidOf(t, toks[i]) != want {
						t.Fatalf("round %d mint %d signed with %s, want %s", round, i, kidOf(t, toks[i]), want)
					}
				}
				for _, s := range signers {
					got, _ := s.JWKS(bg)
					first, _ := signers[0].JWKS(bg)
					if string(got) != string(first) {
						t.Fatalf("round %d: signers publish different JWKS:\n%s\n%s", round, got, first)
					}
				}
			}
		})
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newSigner(t, sqliteStore(t), c, func(o *Options) { o.CacheSize = 8 })
	a, _ := s.Mint(bg, aud, maja)
	c.Add(59 * time.Second)
	if b, _ := s.Mint(bg, aud, maja); b != a {
		t.Fatalf("same claims within half the lifetime: a new assertion")
	}
	// Any claim change gives another assertion.
	for name, mod := range map[string]func(*Claims){
		"roles":    func(c *Claims) { c.Roles = []string{"approver", "admin"} },
		"no roles": func(c *Claims) { c.Roles = nil },
		"email":    func(c *Claims) { c.Email = "m@acme.example" },
		"sid":      func(c *Claims) { c.SID = "sid-2" },
		"name":     func(c *Claims) { c.Name = "Maja H" },
		"shifted":  func(c *Claims) { c.Name, c.Email = "Maja Holmmaja.holm@acme.example", "" },
	} {
		cl := maja
		cl.Roles = append([]string(nil), maja.Roles...)
		mod(&cl)
		b, err := s.Mint(bg, aud, cl)
		if err != nil || b == a {
			t.Fatalf("%s changed: same assertion (err %v)", name, err)
		}
		_, claims, err := verify(t, s, b, c.Now())
		if err != nil {
			t.Fatal(err)
		}
		if claims["email"] != cl.Email || claims["name"] != cl.Name || claims["sid"] != cl.SID {
			t.Fatalf("%s: claims %v do not carry the change", name, claims)
		}
	}
	if b, _ := s.Mint(bg, "http://other.example", maja); b == a {
		t.Fatalf("another audience: same assertion")
	}
	// Past half the lifetime: a fresh one.
	c.Add(time.Second)
	b, _ := s.Mint(bg, aud, maja)
	if b == a {
		t.Fatalf("past half the lifetime: the old assertion")
	}
	if _, _, err := verify(t, s, b, c.Now().Add(119*time.Second)); err != nil {
		t.Fatalf("fresh assertion: %v", err)
	}
	// Bounded.
	for i := range 100 {
		cl := maja
		cl.SID = fmt.Sprint("many-", i)
		if _, err := s.Mint(bg, aud, cl); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.cache.len(); n > 8 {
		t.Fatalf("cache holds %d entries, bound 8", n)
	}
}

// failing is a key store that fails on demand.
type failing struct {
	KeyStore
	mu   sync.Mutex
	fail bool
}

func (f *failing) set(v bool) { f.mu.Lock(); f.fail = v; f.mu.Unlock() }
func (f *failing) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("database is down")
	}
	return nil
}
func (f *failing) ListSigningKeys(ctx context.Context) ([]directory.SigningKey, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.KeyStore.ListSigningKeys(ctx)
}

func TestStoreDown(t *testing.T) {
	t.Parallel()
	c := newClock()
	f := &failing{KeyStore: sqliteStore(t), fail: true}
	s := newSigner(t, f, c, func(o *Options) { o.CacheSize = -1 })
	if tok, err := s.Mint(bg, aud, maja); !errors.Is(err, ErrUnavailable) || tok != "" {
		t.Fatalf("Mint with the store down: %q, %v", tok, err)
	}
	if _, err := s.JWKS(bg); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("JWKS with the store down: %v", err)
	}
	f.set(false)
	if _, err := s.Mint(bg, aud, maja); err != nil {
		t.Fatal(err)
	}
	// A read keeps serving while younger than Lead/2, then not.
	f.set(true)
	c.Add(29 * time.Minute)
	s.syncReload = false
	if _, err := s.Mint(bg, aud, maja); err != nil {
		t.Fatalf("keys read 29m ago, store down: %v", err)
	}
	c.Add(time.Minute)
	if _, err := s.Mint(bg, aud, maja); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("keys read 30m ago, store down: %v", err)
	}
}

func TestSealedKeys(t *testing.T) {
	t.Parallel()
	c := newClock()
	st := sqliteStore(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	s := newSigner(t, st, c, func(o *Options) { o.Secret = secret })
	tok, err := s.Mint(bg, aud, maja)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := st.ListSigningKeys(bg)
	if rows[0].Sealing != sealingName {
		t.Fatalf("sealing %q", rows[0].Sealing)
	}
	if _, err := x509.ParsePKCS8PrivateKey(rows[0].PrivateKey); err == nil {
		t.Fatalf("the stored private key parses without the secret")
	}
	// The same secret on another instance signs; another or none does not,
	// but still publishes the keys.
	same := newSigner(t, st, c, func(o *Options) { o.Secret = secret; o.CacheSize = -1 })
	if tok2, err := same.Mint(bg, aud, maja); err != nil || kidOf(t, tok2) != kidOf(t, tok) {
		t.Fatalf("same secret: %v", err)
	}
	for name, sec := range map[string][]byte{"other secret": []byte("another secret, also 32 bytes...."), "no secret": nil} {
		o := newSigner(t, st, c, func(o *Options) { o.Secret = sec; o.CacheSize = -1 })
		if _, err := o.Mint(bg, aud, maja); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%s: Mint %v, want ErrUnavailable", name, err)
		}
		if _, _, err := verify(t, o, tok, c.Now()); err != nil {
			t.Fatalf("%s: JWKS does not verify: %v", name, err)
		}
	}
	// A private key moved to another row does not unseal there.
	c.Add(3 * time.Hour)
	if _, err := s.Mint(bg, aud, Claims{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	rows, _ = st.ListSigningKeys(bg)
	swapped := rows[1]
	swapped.Seq, swapped.KID, swapped.PrivateKey = 3, "swapped", rows[0].PrivateKey
	if k := s.parse(swapped); k.priv != nil || k.err == nil {
		t.Fatalf("a swapped sealed key unsealed")
	}
}

// TestUnusableKeyDoesNotFallBack: a current key that cannot be used (an
// algorithm this version does not know) stops signing; an older key does
// not take its turn.
func TestUnusableKeyDoesNotFallBack(t *testing.T) {
	t.Parallel()
	c := newClock()
	st := sqliteStore(t)
	s := newSigner(t, st, c, func(o *Options) { o.CacheSize = -1 })
	if _, err := s.Mint(bg, aud, maja); err != nil {
		t.Fatal(err)
	}
	rows, _ := st.ListSigningKeys(bg)
	k := rows[0]
	k.Seq, k.KID, k.Algorithm, k.CreatedAt, k.SignsFrom = 2, "future", "EdDSA", c.Now(), c.Now()
	if err := st.AddSigningKey(bg, &k); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	if _, err := s.Mint(bg, aud, maja); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Mint with an unusable current key: %v", err)
	}
	if got := kids(t, s); len(got) != 1 || got[0] != rows[0].KID {
		t.Fatalf("JWKS %v: want only the usable key", got)
	}
}
