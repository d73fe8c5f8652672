package test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/ssotest"
)

// TestRefusedSignInsLogNoPII walks every refusal path of a sign-in (SAML,
// the employees' local password, the admin console's password and SSO)
// through the real router and checks that the log holds none of the
// person's NameID, userName, email or names, while the admin's sign-in
// diagnostics still show the NameID and the detail.
func TestRefusedSignInsLogNoPII(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		co := g.company
		// People whose data must not be logged.
		pii := []string{
			"ghost.person@acme.example", "Ghost", "Persson",
			"sofie.berg@acme.example", "sofie@acme.example", "Sofie", "Berg",
			"ola.nordmann@acme.example", "Nordmann",
			"lars.jensen@acme.example", "lars@acme.example", "Jensen",
			"kari.local@acme.example", "Kari", "Lokal",
			"gone.admin@acme.example", adminEmail,
		}
		// Sofie is inactive; Ola is inactive and bound to an object id; Lars
		// is bound to one object id; Kari is detached with a local password.
		ola := &directory.Employee{CompanyID: co.ID, UserName: "ola.nordmann@acme.example", Email: "ola.nordmann@acme.example",
			GivenName: "Ola", FamilyName: "Nordmann", Source: directory.SourceSCIM, EntraLinked: true,
			EntraObjectID: "33333333-3333-3333-3333-333333333333", TerminationDate: "2026-01-31"}
		testenv.Must(t, g.dir.CreateEmployee(ctx, ola), "create ola")
		lars := g.employee(t, "lars.jensen@acme.example")
		testenv.Must(t, g.dir.BindObjectID(ctx, co.ID, lars.ID, "44444444-4444-4444-4444-444444444444"), "bind lars")
		kari := &directory.Employee{CompanyID: co.ID, UserName: "kari.local@acme.example", Email: "kari.local@acme.example",
			GivenName: "Kari", FamilyName: "Lokal", Source: directory.SourceLocal, Active: true}
		testenv.Must(t, g.dir.CreateEmployee(ctx, kari), "create kari")
		h, err := password.Hash("kari's long password")
		testenv.Must(t, err, "hash")
		testenv.Must(t, g.dir.SetEmployeePassword(ctx, co.ID, kari.ID, h), "set password")
		g.addAdmin(t, co, adminEmail, adminPassword)

		post := func(a ssotest.Assertion) int {
			t.Helper()
			r := g.postACS(newBrowser(), "acme", g.signed(a), "")
			return r.StatusCode
		}
		named := func(nameID, given, family string) ssotest.Assertion {
			a := g.assertion("acme", nameID)
			a.GivenName, a.FamilyName, a.DisplayName = given, family, given+" "+family
			return a
		}
		// SAML: unknown, inactive by NameID, inactive by object id, object
		// id conflict, Entra's error status naming the user, wrong
		// audience, replay.
		for _, a := range []ssotest.Assertion{
			named("ghost.person@acme.example", "Ghost", "Persson"),
			named("sofie.berg@acme.example", "Sofie", "Berg"),
			func() ssotest.Assertion {
				a := named("ola.nordmann@acme.example", "Ola", "Nordmann")
				a.ObjectID = "33333333-3333-3333-3333-333333333333"
				return a
			}(),
			func() ssotest.Assertion {
				a := named("lars.jensen@acme.example", "Lars", "Jensen")
				a.ObjectID = "55555555-5555-5555-5555-555555555555"
				return a
			}(),
			func() ssotest.Assertion {
				a := named("lars.jensen@acme.example", "Lars", "Jensen")
				a.Status, a.SubStatus = "urn:oasis:names:tc:SAML:2.0:status:Responder", "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
				a.StatusMessage = "AADSTS50105: The signed in user 'lars.jensen@acme.example' is not assigned to a role for the application."
				return a
			}(),
			func() ssotest.Assertion {
				a := named("sofie.berg@acme.example", "Sofie", "Berg")
				a.Audience = "https://elsewhere.example/sp"
				return a
			}(),
		} {
			if code := post(a); code < 400 || code >= 500 {
				t.Fatalf("refusal of %s answered %d", a.NameID, code)
			}
		}
		replayed := g.signed(named("sofie.berg@acme.example", "Sofie", "Berg"))
		g.postACS(newBrowser(), "acme", replayed, "")
		g.postACS(newBrowser(), "acme", replayed, "")

		// Local password: unknown name, Entra-managed, inactive, wrong
		// password, and an unknown email and a wrong password at the admin
		// console.
		for _, form := range []url.Values{
			{"username": {"ghost.person@acme.example"}, "password": {"whatever password"}},
			{"username": {"lars.jensen@acme.example"}, "password": {"whatever password"}},
			{"username": {"sofie@acme.example"}, "password": {"whatever password"}},
			{"username": {"kari.local@acme.example"}, "password": {"not kari's password"}},
		} {
			br := newBrowser()
			resp, err := br.Get(g.URL + "/c/acme/login?method=password")
			testenv.Must(t, err, "password page")
			form.Set("csrf", csrfFrom(t, body(t, resp)))
			resp.Body.Close()
			r := (&adminClient{browser: br, g: g, slug: "acme"}).postForm(t, "/c/acme/login", form)
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("password sign-in of %s: %d", form.Get("username"), r.StatusCode)
			}
		}
		for _, form := range []url.Values{
			{"email": {"gone.admin@acme.example"}, "password": {adminPassword}},
			{"email": {adminEmail}, "password": {"wrong horse battery staple"}},
		} {
			a := &adminClient{browser: newBrowser(), g: g, slug: "acme"}
			_, page := a.get(t, "/admin/login")
			form.Set("csrf", csrfFrom(t, page))
			if r := a.postForm(t, "/c/acme/admin/login", form); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("admin password sign-in of %s: %d", form.Get("email"), r.StatusCode)
			}
		}
		// The admin console through SSO, for an employee without the role.
		br := newBrowser()
		if r := g.postACS(br, "acme", g.signed(named("maja.holm@acme.example", "Maja", "Holm")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("maja: %d", r.StatusCode)
		}
		resp, err := br.Get(g.URL + "/c/acme/admin/login/sso")
		testenv.Must(t, err, "admin sso")
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("admin SSO for a non-admin: %d", resp.StatusCode)
		}
		pii = append(pii, "maja.holm@acme.example", "Holm")

		logs := g.logText()
		if !strings.Contains(logs, "reason=inactive_employee") || !strings.Contains(logs, "reason=status_not_success") ||
			!strings.Contains(logs, "reason=objectid_conflict") || !strings.Contains(logs, "reason=unknown_employee") {
			t.Fatalf("refusals not logged:\n%s", logs)
		}
		for _, s := range pii {
			if strings.Contains(strings.ToLower(logs), strings.ToLower(s)) {
				t.Errorf("the log holds %q:\n%s", s, logs)
			}
		}
		// The admin still sees who it was, and why.
		list, err := g.dir.ListSignIns(ctx, co.ID, true, 100)
		testenv.Must(t, err, "sign-ins")
		seen := map[string]bool{}
		for _, ev := range list {
			seen[ev.Reason+" "+ev.NameID] = true
			if ev.Reason == "inactive_employee" && !strings.Contains(ev.Detail, "is inactive") {
				t.Errorf("inactive detail %q", ev.Detail)
			}
		}
		for _, want := range []string{"unknown_employee ghost.person@acme.example", "inactive_employee sofie.berg@acme.example",
			"inactive_employee ola.nordmann@acme.example", "objectid_conflict lars.jensen@acme.example",
			"local_password kari.local@acme.example", "local_password ghost.person@acme.example"} {
			if !seen[want] {
				t.Errorf("diagnostics lack %q: %v", want, seen)
			}
		}
	})
}
