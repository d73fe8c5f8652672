package sso

import (
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/ssotest"
)

// The replay record lives until the assertion could last be accepted: the
// earlier of its NotOnOrAfter and IssueInstant + MaxIssueDelay, plus the
// skew. An IdP's ten-year NotOnOrAfter once made a ten-year record.
func TestReplayRecordLivesOnlyAsLongAsTheAssertionCanBeAccepted(t *testing.T) {
	fixtures(t)
	sp := newSP(t, settings(), Options{})
	for _, tc := range []struct {
		name string
		edit func(a *ssotest.Assertion)
		want time.Time
	}{
		{"ten-year NotOnOrAfter", func(a *ssotest.Assertion) {
			a.NotOnOrAfter = testNow.AddDate(10, 0, 0)
			a.ConfirmationNotOnOrAfter = a.NotOnOrAfter
		}, testNow.Add(5*time.Minute + 3*time.Minute)},
		{"Entra's shape (conditions +70m, confirmation +5m)", func(*ssotest.Assertion) {}, testNow.Add(8 * time.Minute)},
		{"confirmation ends sooner than the issue delay", func(a *ssotest.Assertion) {
			a.NotOnOrAfter = testNow.Add(time.Minute)
			a.ConfirmationNotOnOrAfter = testNow.Add(time.Minute)
		}, testNow.Add(time.Minute + 3*time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := genuine()
			tc.edit(&a)
			rc := newReplay()
			id, err := parse(t, sp, mustResponse(t, a), nil, rc)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !id.ValidUntil.Equal(tc.want) || !rc.used[id.AssertionID].Equal(tc.want) {
				t.Fatalf("ValidUntil %v, replay record until %v; want %v", id.ValidUntil, rc.used[id.AssertionID], tc.want)
			}
		})
	}
}

// An assertion refused by any check makes no replay record: Consume is the
// last step, after every validation.
func TestRefusedAssertionMakesNoReplayRecord(t *testing.T) {
	fixtures(t)
	sp := newSP(t, settings(), Options{})
	for name, edit := range map[string]func(a *ssotest.Assertion){
		"wrong audience": func(a *ssotest.Assertion) { a.Audience = "https://other.example/c/x/saml/metadata" },
		"expired":        func(a *ssotest.Assertion) { a.IssueInstant = testNow.Add(-10 * time.Minute) },
		"wrong recipient": func(a *ssotest.Assertion) {
			a.ACSURL = "https://other.example/c/x/saml/acs"
		},
	} {
		a := genuine()
		a.NotOnOrAfter = testNow.AddDate(10, 0, 0)
		edit(&a)
		rc := newReplay()
		if _, err := parse(t, sp, mustResponse(t, a), nil, rc); err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if len(rc.used) != 0 {
			t.Errorf("%s: a refused assertion left replay records %v", name, rc.used)
		}
	}
}
