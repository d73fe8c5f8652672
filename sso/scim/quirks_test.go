package scim

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ssogate/ssogate/sso/directory"
)

func TestQuirks(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		newUser := func(upn string, extra ...string) string {
			t.Helper()
			return e.do("POST", "/Users", user(upn, "Given", "Family", extra...)).must(t, 201).body["id"].(string)
		}
		t.Run("active as the string True in POST", func(t *testing.T) {
			id := newUser("s1@contoso.com", "active", `"True"`)
			if !e.employee(id).Active {
				t.Fatal("not active")
			}
			id = newUser("s2@contoso.com", "active", `"False"`)
			if emp := e.employee(id); emp.Active || emp.TerminationDate == "" {
				t.Fatalf("POST active \"False\": %+v", emp)
			}
		})
		t.Run("custom extension without its URN in schemas, unknown attributes ignored", func(t *testing.T) {
			id := newUser("s3@contoso.com",
				URNDirectory, `{"payrollNumber":"77","employeeNumber":"E-1","unknownThing":"x"}`,
				"urn:ietf:params:scim:schemas:extension:other:2.0:User", `{"foo":"bar"}`,
				"password", `"hunter2"`, "preferredLanguage", `"da-DK"`, "ims", `[{"value":"x"}]`,
				"addresses", `[{"type":"work","formatted":"Vej 1","streetAddress":"Vej 1","locality":"Kbh","region":"H","postalCode":"2100","country":"DK"}]`,
				"phoneNumbers", `[{"type":"fax","value":"+45 1"}]`)
			emp := e.employee(id)
			if emp.PayrollNumber != "77" || emp.EmployeeNumber != "E-1" || emp.Country != "DK" {
				t.Fatalf("%+v", emp)
			}
			if strings.Contains(string(emp.SCIMExtra), "hunter2") || strings.Contains(string(emp.SCIMExtra), "other:2.0") {
				t.Fatalf("stored an unknown attribute: %s", emp.SCIMExtra)
			}
			r := e.do("GET", "/Users/"+id, "").must(t, 200)
			if r.body["preferredLanguage"] != "da-DK" || typed(r.body, "addresses", "work")["postalCode"] != "2100" ||
				typed(r.body, "phoneNumbers", "fax")["value"] != "+45 1" || get(r.body, URNDirectory, "employeeNumber") != "E-1" {
				t.Fatalf("not echoed: %s", r.raw)
			}
		})
		t.Run("typed paths create entries, merge, never clobber", func(t *testing.T) {
			id := newUser("s4@contoso.com", "emails", `[{"type":"work","value":"s4@contoso.com","primary":true},{"type":"other","value":"s4@old.com"}]`)
			r := e.do("PATCH", "/Users/"+id, patchBody(
				`{"op":"Add","path":"addresses[type eq \"work\"].streetAddress","value":"Vej 2"}`,
				`{"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Aarhus"}`,
				`{"op":"Replace","path":"addresses[type eq \"work\"].country","value":"SE"}`,
				`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@contoso.com"}`,
				`{"op":"Add","path":"phoneNumbers[type eq \"work\"].value","value":"+46 1"}`,
			)).must(t, 200)
			if countTyped(r.body, "addresses", "work") != 1 || typed(r.body, "addresses", "work")["locality"] != "Aarhus" ||
				typed(r.body, "addresses", "work")["country"] != "SE" || typed(r.body, "emails", "other")["value"] != "s4@old.com" ||
				typed(r.body, "emails", "work")["value"] != "new@contoso.com" || typed(r.body, "emails", "work")["primary"] != true {
				t.Fatalf("typed paths: %s", r.raw)
			}
			// Remove with a path keeps the rest.
			r = e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Remove","path":"emails[type eq \"other\"]"}`,
				`{"op":"remove","path":"addresses[type eq \"work\"].locality"}`)).must(t, 200)
			if typed(r.body, "emails", "other") != nil || typed(r.body, "emails", "work")["value"] != "new@contoso.com" ||
				typed(r.body, "addresses", "work")["country"] != "SE" || typed(r.body, "addresses", "work")["locality"] != nil {
				t.Fatalf("remove: %s", r.raw)
			}
			if emp := e.employee(id); emp.Email != "new@contoso.com" || emp.Country != "SE" || emp.WorkPhone != "+46 1" {
				t.Fatalf("%+v", emp)
			}
		})
		t.Run("identical PATCH is harmless", func(t *testing.T) {
			id := newUser("s5@contoso.com")
			p := patchBody(`{"op":"Replace","path":"title","value":"Dev"}`, `{"op":"Add","path":"active","value":"True"}`)
			e.do("PATCH", "/Users/"+id, p).must(t, 200)
			v := e.employee(id).Version
			for range 3 {
				e.do("PATCH", "/Users/"+id, p).must(t, 200)
			}
			if e.employee(id).Version != v {
				t.Fatalf("identical PATCH rewrote the employee")
			}
			if e.rev.count(id) != 0 {
				t.Fatal("revoked an active user")
			}
		})
		t.Run("op names and attribute names case-insensitive", func(t *testing.T) {
			id := newUser("s6@contoso.com")
			e.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[
				{"Op":"REPLACE","Path":"TITLE","Value":"Ops"},{"op":"rEpLaCe","path":"Name.GivenName","value":"G2"}]}`).must(t, 200)
			if emp := e.employee(id); emp.Title != "Ops" || emp.GivenName != "G2" {
				t.Fatalf("%+v", emp)
			}
		})
		t.Run("filters", func(t *testing.T) {
			id := newUser("Filter.Me@Contoso.com")
			mgr := newUser("boss@contoso.com")
			e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"`+mgrPath+`","value":"`+mgr+`"}`)).must(t, 200)
			for _, f := range []string{
				`userName+eq+"filter.me%40contoso.COM"`,
				`USERNAME+EQ+"Filter.Me@Contoso.com"`,
				`externalId eq "Filter.Me"`,
				`emails[type eq "work"].value eq "FILTER.ME@contoso.com"`,
				`emails.value eq "filter.me@contoso.com"`,
				`emails[type eq "work" and value eq "filter.me@contoso.com"]`,
				`id eq "` + id + `" and manager eq "` + mgr + `"`,
				`userName eq "filter.me@contoso.com" and externalId eq "Filter.Me"`,
				`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "filter.me@contoso.com"`,
				`userName eq "filter.me@contoso.com" and active eq true`,
			} {
				r := e.do("GET", "/Users?filter="+strings.ReplaceAll(f, " ", "+"), "").must(t, 200)
				if r.body["totalResults"] != float64(1) || get(r.body, "Resources", 0, "id") != id {
					t.Errorf("%s: %s", f, r.raw)
				}
			}
			for _, f := range []string{
				`id eq "` + id + `" and manager eq "someone-else"`,
				`userName eq "filter.me@contoso.com" and externalId eq "nope"`,
				`emails[type eq "other"].value eq "filter.me@contoso.com"`,
			} {
				if r := e.do("GET", "/Users?filter="+url.QueryEscape(f), "").must(t, 200); r.body["totalResults"] != float64(0) {
					t.Errorf("%s matched: %s", f, r.raw)
				}
			}
			for _, f := range []string{`title eq "x"`, `userName co "x"`, `userName eq "a" or title eq "b"`, `not (userName eq "a")`, `userName eq`, `)(`} {
				e.do("GET", "/Users?filter="+url.QueryEscape(f), "").scimErr(t, 400, "invalidFilter")
			}
		})
		t.Run("manager in the POST body, string or object", func(t *testing.T) {
			mgr := newUser("m1@contoso.com")
			a := newUser("r1@contoso.com", URNEnterprise, `{"manager":"`+mgr+`"}`)
			b := newUser("r2@contoso.com", URNEnterprise, `{"manager":{"value":"`+mgr+`"}}`)
			if e.employee(a).ManagerID != mgr || e.employee(b).ManagerID != mgr || !e.employee(mgr).IsApprover {
				t.Fatal("manager from POST not linked")
			}
			// Self-manager and cycles are refused.
			e.do("PATCH", "/Users/"+a, patchBody(`{"op":"Add","path":"`+mgrPath+`","value":"`+a+`"}`)).scimErr(t, 400, "invalidValue")
			e.do("PATCH", "/Users/"+mgr, patchBody(`{"op":"Add","path":"`+mgrPath+`","value":"`+a+`"}`)).scimErr(t, 400, "invalidValue")
			// The refused PATCHes wrote nothing but their error entries: the
			// log entry a PATCH writes before its UPDATE went with the rollback.
			for _, id := range []string{a, mgr} {
				ok, err := e.st.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: e.c.ID, EmployeeID: id, Outcome: "ok", Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				for _, en := range ok {
					if en.Operation == "update" {
						t.Fatalf("a refused manager PATCH left an ok entry: %+v", en)
					}
				}
				bad, _ := e.st.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: e.c.ID, EmployeeID: id, Outcome: "error", Limit: 100})
				if len(bad) != 1 || bad[0].Outcome != "invalidValue" {
					t.Fatalf("refused PATCH of %s logged %+v", id, bad)
				}
			}
			if e.employee(mgr).ManagerID != "" || e.employee(a).ManagerID != mgr {
				t.Fatal("a refused manager PATCH changed a manager")
			}
		})
		t.Run("deferred manager by externalId", func(t *testing.T) {
			rep := newUser("late.rep@contoso.com", URNEnterprise, `{"manager":"late.boss"}`)
			if emp := e.employee(rep); emp.ManagerID != "" || emp.ManagerRef != "late.boss" {
				t.Fatalf("pending ref: %+v", emp)
			}
			boss := newUser("late.boss@contoso.com")
			if e.employee(rep).ManagerID != boss || !e.employee(boss).IsApprover {
				t.Fatalf("pending manager not resolved: %+v", e.employee(rep))
			}
		})
		t.Run("local settings survive sync", func(t *testing.T) {
			id := newUser("local@contoso.com")
			emp := e.employee(id)
			emp.SelfApprover, emp.OnlySelectedApprover, emp.IsAdmin = true, true, true
			if err := e.st.UpdateEmployee(ctx, emp); err != nil {
				t.Fatal(err)
			}
			e.do("PUT", "/Users/"+id, user("local@contoso.com", "L", "F")).must(t, 200)
			e.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","value":{"title":"T","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"D"}}`)).must(t, 200)
			if emp := e.employee(id); !emp.SelfApprover || !emp.OnlySelectedApprover || !emp.IsAdmin || emp.GivenName != "L" || emp.Department != "D" {
				t.Fatalf("local settings lost: %+v", emp)
			}
		})
		t.Run("PUT replaces", func(t *testing.T) {
			id := newUser("put@contoso.com", "title", `"Old"`)
			r := e.do("PUT", "/Users/"+id, user("put@contoso.com", "P", "Q")).must(t, 200)
			if r.body["title"] != nil || e.employee(id).Title != "" || get(r.body, "name", "givenName") != "P" {
				t.Fatalf("PUT kept old title: %s", r.raw)
			}
		})
	})
}

func TestImportedEmployeesAreLinked(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		imp := func(upn, email string) *directory.Employee {
			emp := &directory.Employee{CompanyID: e.c.ID, UserName: upn, Email: email, GivenName: "I", FamilyName: "Mported",
				Active: true, Source: directory.SourceImport}
			if err := e.st.CreateEmployee(ctx, emp); err != nil {
				t.Fatal(err)
			}
			return emp
		}
		a := imp("anna@contoso.com", "anna@contoso.com")
		// Findable by Entra's filters before any link.
		if r := e.do("GET", `/Users?filter=userName+eq+"ANNA%40contoso.com"`, "").must(t, 200); r.body["totalResults"] != float64(1) {
			t.Fatalf("import not findable: %s", r.raw)
		}
		r := e.do("POST", "/Users", user("Anna@Contoso.com", "Anna", "Ahl")).must(t, 201)
		if r.body["id"] != a.ID || r.hdr.Get("Location") != testBase+"/Users/"+a.ID {
			t.Fatalf("link by userName: %s", r.raw)
		}
		if emp := e.employee(a.ID); emp.Source != directory.SourceSCIM || !emp.EntraLinked || emp.GivenName != "Anna" || emp.UserName != "Anna@Contoso.com" {
			t.Fatalf("linked: %+v", emp)
		}
		// Now linked: a second POST is a conflict.
		e.do("POST", "/Users", user("anna@contoso.com", "Anna", "Ahl")).scimErr(t, 409, "uniqueness")

		// Link by work email when the imported userName differs.
		b := imp("bo.local", "bo@contoso.com")
		r = e.do("POST", "/Users", user("Bo@contoso.com", "Bo", "Bak")).must(t, 201)
		if r.body["id"] != b.ID || e.employee(b.ID).UserName != "Bo@contoso.com" {
			t.Fatalf("link by email: %s", r.raw)
		}
		// A PATCH on a matched import links it too.
		c := imp("cy@contoso.com", "cy@contoso.com")
		e.do("PATCH", "/Users/"+c.ID, patchBody(`{"op":"Replace","path":"title","value":"Chef"}`)).must(t, 200)
		if emp := e.employee(c.ID); !emp.EntraLinked || emp.Title != "Chef" {
			t.Fatalf("PATCH did not link: %+v", emp)
		}
	})
}

func TestDetachedEmployeesAreReadOnly(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		id := e.do("POST", "/Users", user("det@contoso.com", "D", "E")).must(t, 201).body["id"].(string)
		emp := e.employee(id)
		emp.Source, emp.EntraLinked = directory.SourceLocal, false
		if err := e.st.UpdateEmployee(context.Background(), emp); err != nil {
			t.Fatal(err)
		}
		v := e.employee(id).Version
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"active","value":"False"}`)).scimErr(t, 409, "mutability")
		e.do("PUT", "/Users/"+id, user("det@contoso.com", "X", "Y")).scimErr(t, 409, "mutability")
		e.do("DELETE", "/Users/"+id, "").scimErr(t, 409, "mutability")
		e.do("POST", "/Users", user("DET@contoso.com", "D", "E")).scimErr(t, 409, "uniqueness")
		if emp := e.employee(id); emp.Version != v || !emp.Active || !emp.Visible() {
			t.Fatalf("detached employee changed: %+v", emp)
		}
		e.do("GET", "/Users/"+id, "").must(t, 200)
	})
}

func TestConcurrentCreatesMakeOneEmployee(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		const n = 8
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				upn := "Race@contoso.com"
				if i%2 == 1 {
					upn = "race@CONTOSO.com"
				}
				codes[i] = e.do("POST", "/Users", user(upn, "R", fmt.Sprint(i))).code
			}()
		}
		wg.Wait()
		created, conflicts := 0, 0
		for _, c := range codes {
			switch c {
			case 201:
				created++
			case 409:
				conflicts++
			}
		}
		if created != 1 || conflicts != n-1 {
			t.Fatalf("codes %v", codes)
		}
		rows, total, err := e.st.ListEmployees(context.Background(), directory.EmployeeQuery{CompanyID: e.c.ID, Limit: 10})
		if err != nil || total != 1 || len(rows) != 1 {
			t.Fatalf("employees %d %v", total, err)
		}
	})
}
