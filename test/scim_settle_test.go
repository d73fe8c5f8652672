package test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
)

// revokeFails is a session store that cannot revoke an employee's
// sessions (the store is out while the rest of the request went through).
type revokeFails struct{ session.Store }

func (revokeFails) RevokeEmployee(context.Context, int64, string) (int, error) {
	return 0, errors.New("session store unavailable")
}

// TestSCIMSettlesLikeTheConsole: a SCIM write is followed by what follows
// a console change (admin.Service.Settle): the instance that took it sees
// it at once, even with a long settings cache. So when ending the
// sessions of an employee Entra suspends fails, the suspension still
// closes their access here at once, as a deactivation in the console does.
func TestSCIMSettlesLikeTheConsole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGWOn(t, b.dir(t), revokeFails{b.sess(t)}, nil, func(c *config.Config) { c.SettingsTTL = time.Minute })
		ctx := context.Background()
		tok, _, err := mintSCIMToken(ctx, g.dir, g.company.ID, "entra")
		testenv.Must(t, err, "mint")
		patch := func(id, op string) {
			t.Helper()
			code, out := g.scimCall(t, tok, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+op+`]}`)
			if code != http.StatusOK {
				t.Fatalf("PATCH %s: %d %v", op, code, out)
			}
		}
		// Entra links Maja, imported from a spreadsheet; she signs in.
		code, maja := g.scimCall(t, tok, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"maja.holm@acme.example","active":true,"name":{"givenName":"Maja","familyName":"Holm"}}`)
		if code != http.StatusCreated {
			t.Fatalf("POST linking maja: %d %v", code, maja)
		}
		id := maja["id"].(string)
		br := newBrowser()
		if r := g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", r.StatusCode)
		}
		if code, me := g.me(br, "acme"); code != http.StatusOK || me["givenName"] != "Maja" {
			t.Fatalf("/api/me: %d %v", code, me) // the employee is now in this instance's cache
		}
		// Entra renames her: this instance shows the new name at once.
		patch(id, `{"op":"Replace","path":"name.givenName","value":"Marie"}`)
		if code, me := g.me(br, "acme"); code != http.StatusOK || me["givenName"] != "Marie" {
			t.Fatalf("/api/me after Entra's rename: %d %v (the instance kept the employee it had cached)", code, me)
		}
		// Entra suspends her while the session store cannot revoke: her
		// session is not ended, but her access is closed all the same.
		patch(id, `{"op":"Replace","path":"active","value":"False"}`)
		if e := g.employee(t, "maja.holm@acme.example"); e.Active || e.TerminationDate == "" {
			t.Fatalf("suspension not stored: %+v", e)
		}
		if code, me := g.me(br, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("/api/me of a suspended employee whose sessions could not be ended: %d %v", code, me)
		}
		if !strings.Contains(g.logText(), "scim: ending sessions after the write failed") {
			t.Fatal("the failed revocation was not logged")
		}
	})
}
