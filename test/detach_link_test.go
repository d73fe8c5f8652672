package test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/sso/ssotest"
)

const (
	olaOID     = "22222222-2222-2222-2222-222222222222" // g.entraLinked's object id
	olaNewOID  = "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e" // Ola's account in the new tenant
	impostorID = "99999999-aaaa-4bbb-8ccc-dddddddddddd" // another Entra account
)

// TestDetachedEmployeeSignsInOnlyWithPassword: after an admin detaches an
// employee from Entra, no SAML assertion signs in as them — not another
// Entra account that now has their UPN or mail (with or without an object
// id), which before took over the employee, admin role included. The
// admin re-links them by naming the object id (console); from then on
// only that account signs in, and an assertion without the claim is
// refused.
func TestDetachedEmployeeSignsInOnlyWithPassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		ola := g.entraLinked(t, "ola@acme.example", true)
		expectDone(t, a.post(t, "/employees/"+ola.ID+"/roles", url.Values{"admin": {"on"}}), "roles")
		expectDone(t, a.post(t, "/employees/"+ola.ID+"/detach", url.Values{"confirm": {"yes"}}), "detached")

		as := func(nameID, oid string) ssotest.Assertion {
			x := g.assertion("acme", nameID)
			x.ObjectID = oid
			return x
		}
		refused := func(x ssotest.Assertion, reason string) {
			t.Helper()
			br := newBrowser()
			r := g.postACS(br, "acme", g.signed(x), "")
			page := body(t, r)
			if r.StatusCode != http.StatusForbidden {
				t.Fatalf("%s (oid %q): %d, want 403\n%s", x.NameID, x.ObjectID, r.StatusCode, page)
			}
			if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
				t.Fatalf("a refused sign-in left a session: %d", code)
			}
			if ev := g.lastSignIn(t, g.company); ev.Reason != reason {
				t.Fatalf("%s (oid %q): reason %q, want %q (%s)", x.NameID, x.ObjectID, ev.Reason, reason, ev.Detail)
			}
		}
		// Another Entra account with Ola's UPN (or mail): refused, with or
		// without an object id, and so is her own former account.
		refused(as("ola@acme.example", impostorID), "detached_employee")
		refused(as("ola@acme.example", ""), "detached_employee")
		refused(as("OLA@acme.example", olaOID), "detached_employee")
		if _, page := a.get(t, "/admin/diagnostics"); !strings.Contains(page, "Link to Entra") || strings.Contains(page, "detach them (this removes the binding)") {
			t.Fatal("diagnostics do not tell the admin to link the detached employee")
		}

		// Re-linking names the object id; a malformed one is refused.
		if r := a.post(t, "/employees/"+ola.ID+"/link", url.Values{"object_id": {"ola@acme.example"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("link with a malformed object id: %d", r.StatusCode)
		}
		expectDone(t, a.post(t, "/employees/"+ola.ID+"/link", url.Values{"object_id": {olaNewOID}}), "linked")
		br := newBrowser()
		if r := g.postACS(br, "acme", g.signed(as("ola@acme.example", olaNewOID)), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the linked account: %d", r.StatusCode)
		}
		if code, me := g.me(br, "acme"); code != http.StatusOK || me["id"] != ola.ID {
			t.Fatalf("/api/me after the linked sign-in: %d %v", code, me)
		}
		refused(as("ola@acme.example", impostorID), "objectid_conflict")
		refused(as("ola@acme.example", ""), "objectid_missing")
		if !hasAudit(g.audit(t, g.company), "admin:"+adminEmail, "employee.link", olaNewOID) {
			t.Fatal("link not audited")
		}
	})
}

// TestBoundEmployeeNeedsObjectIDClaim: once an employee is bound to an
// Entra object id, an assertion that matches them by NameID alone (no
// objectidentifier claim) is refused: it may be another account.
func TestBoundEmployeeNeedsObjectIDClaim(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		x := g.assertion("acme", "maja.holm@acme.example")
		x.ObjectID = "11111111-1111-1111-1111-111111111111"
		if r := g.postACS(newBrowser(), "acme", g.signed(x), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first sign-in: %d", r.StatusCode)
		}
		x.ObjectID = ""
		br := newBrowser()
		if r := g.postACS(br, "acme", g.signed(x), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("bound employee without the claim: %d, want 403", r.StatusCode)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "objectid_missing" {
			t.Fatalf("reason %q", ev.Reason)
		}
		// An employee never bound still signs in by NameID (first use binds).
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "lars.jensen@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("unbound employee: %d", r.StatusCode)
		}
	})
}
