package sso

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/ssotest"
)

const (
	testTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testIssuer   = "https://sts.windows.net/" + testTenant + "/"
	testEntityID = "https://gw.example.com/c/acme/saml/metadata"
	testACS      = "https://gw.example.com/c/acme/saml/acs"
)

// memReplay is a small in-memory ReplayCache for this package's tests.
type memReplay struct {
	mu   sync.Mutex
	used map[string]time.Time
}

func newReplay() *memReplay { return &memReplay{used: map[string]time.Time{}} }

func (c *memReplay) Consume(_ context.Context, id string, until time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.used[id]; ok {
		return ErrReplayed
	}
	c.used[id] = until
	return nil
}

type noReplay struct{}

func (noReplay) Consume(context.Context, string, time.Time) error { return nil }

var (
	fixtureOnce sync.Once
	idp         *ssotest.IdP // Entra
	attacker    *ssotest.IdP // someone else's key
	fixtureErr  error
	testNow     = time.Now().UTC().Truncate(time.Second)
)

func fixtures(t testing.TB) {
	t.Helper()
	fixtureOnce.Do(func() {
		if idp, fixtureErr = ssotest.New(testIssuer); fixtureErr != nil {
			return
		}
		attacker, fixtureErr = ssotest.New(testIssuer)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	idp.Now = func() time.Time { return testNow }
}

func settings() Settings {
	return Settings{
		EntityID:       testEntityID,
		ACSURL:         testACS,
		ExpectedIssuer: testIssuer,
		Certs:          []*x509.Certificate{idp.Cert},
	}
}

func newSP(t testing.TB, s Settings, opt Options) *SP {
	t.Helper()
	if opt.Now == nil {
		opt.Now = func() time.Time { return testNow }
	}
	sp, err := New(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// genuine is what Entra sends for alice, IdP-initiated.
func genuine() ssotest.Assertion {
	return ssotest.Assertion{
		ACSURL:       testACS,
		Audience:     testEntityID,
		NameID:       "alice@contoso.com",
		ObjectID:     "0b7d3f5e-1111-4c1e-9a55-3c2a2c3e8a11",
		Email:        "alice@contoso.com",
		GivenName:    "Alice",
		FamilyName:   "Anders",
		DisplayName:  "Alice Anders",
		IssueInstant: testNow,
	}
}

func postRequest(form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, testACS, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := r.ParseForm(); err != nil {
		panic(err)
	}
	return r
}

func postXML(xml []byte) *http.Request {
	return postRequest(url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(xml)}, "RelayState": {"abc"}})
}
