package scim

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/sso/directory"
)

// The create body Entra's provisioning service sends, verbatim.
const entraCreate = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "mholm",
  "userName": "Maja.Holm@contoso.com",
  "active": true,
  "displayName": "Maja Holm",
  "title": "Payroll Specialist",
  "emails": [{"primary": true, "type": "work", "value": "maja.holm@contoso.com"}],
  "phoneNumbers": [{"type": "work", "value": "+45 3312 3400"},
                   {"type": "mobile", "value": "+45 2012 3456"}],
  "addresses": [{"type": "work", "country": "DK"}],
  "meta": {"resourceType": "User"},
  "name": {"formatted": "Maja Holm", "familyName": "Holm", "givenName": "Maja"},
  "roles": [],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "department": "Finance", "employeeNumber": "40117"},
  "urn:ietf:params:scim:schemas:extension:employeedirectory:2.0:User": {
    "dateOfEmployment": "2024-03-01T00:00:00Z", "payrollNumber": "40117",
    "groupCompanyName": "Contoso Denmark ApS"}
}`

const mgrPath = `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`

func TestEntraLifecycle(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// Test Connection: random GUID, empty ListResponse.
		r := e.do("GET", `/Users?filter=userName+eq+"7c9e6679-7425-40de-944b-e07fc1f90ae7"`, "").must(t, 200)
		if r.body["totalResults"] != float64(0) || len(r.body["Resources"].([]any)) != 0 {
			t.Fatalf("test connection: %s", r.raw)
		}

		// Create: match by filter (raw quotes, %40), then POST.
		e.do("GET", `/Users?filter=userName+eq+"Maja.Holm%40contoso.com"`, "").must(t, 200)
		r = e.do("POST", "/Users", entraCreate).must(t, 201)
		id, _ := r.body["id"].(string)
		if id == "" || r.hdr.Get("Location") != testBase+"/Users/"+id || get(r.body, "meta", "resourceType") != "User" {
			t.Fatalf("create answer: %v %s", r.hdr, r.raw)
		}
		emp := e.employee(id)
		if emp.UserName != "Maja.Holm@contoso.com" || emp.Email != "maja.holm@contoso.com" || emp.GivenName != "Maja" ||
			emp.FamilyName != "Holm" || emp.Title != "Payroll Specialist" || emp.Department != "Finance" ||
			emp.MobilePhone != "+45 2012 3456" || emp.WorkPhone != "+45 3312 3400" || emp.Country != "DK" ||
			emp.EmployeeNumber != "40117" || emp.PayrollNumber != "40117" || emp.DateOfEmployment != "2024-03-01T00:00:00Z" ||
			emp.GroupCompanyName != "Contoso Denmark ApS" || emp.ExternalID != "mholm" || !emp.Active ||
			emp.Source != directory.SourceSCIM || !emp.EntraLinked {
			t.Fatalf("stored employee: %+v", emp)
		}

		// Read back: values echoed exactly, active a boolean.
		r = e.do("GET", "/Users/"+id, "").must(t, 200)
		checks := map[string][2]any{
			"userName":      {r.body["userName"], "Maja.Holm@contoso.com"},
			"active":        {r.body["active"], true},
			"work phone":    {typed(r.body, "phoneNumbers", "work")["value"], "+45 3312 3400"},
			"primary":       {typed(r.body, "emails", "work")["primary"], true},
			"formatted":     {get(r.body, "name", "formatted"), "Maja Holm"},
			"dateOfEmpl":    {get(r.body, URNDirectory, "dateOfEmployment"), "2024-03-01T00:00:00Z"},
			"group company": {get(r.body, URNDirectory, "groupCompanyName"), "Contoso Denmark ApS"},
			"department":    {get(r.body, URNEnterprise, "department"), "Finance"},
			"employeeNo":    {get(r.body, URNEnterprise, "employeeNumber"), "40117"},
			"country":       {typed(r.body, "addresses", "work")["country"], "DK"},
		}
		for name, c := range checks {
			if c[0] != c[1] {
				t.Errorf("%s: got %#v, want %#v", name, c[0], c[1])
			}
		}
		if !strings.Contains(r.raw, URNDirectory) {
			t.Fatalf("custom extension missing in schemas: %s", r.raw)
		}

		// Update, default shape.
		r = e.do("PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
 "Operations": [
   {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "maja.h@contoso.com"},
   {"op": "Replace", "path": "name.familyName", "value": "Holm-Berg"},
   {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "People"},
   {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+45 4000 0001"}]}`).must(t, 200)
		if typed(r.body, "emails", "work")["value"] != "maja.h@contoso.com" || get(r.body, "name", "familyName") != "Holm-Berg" ||
			get(r.body, "name", "givenName") != "Maja" || get(r.body, URNEnterprise, "department") != "People" ||
			typed(r.body, "phoneNumbers", "mobile")["value"] != "+45 4000 0001" ||
			typed(r.body, "phoneNumbers", "work")["value"] != "+45 3312 3400" || countTyped(r.body, "phoneNumbers", "mobile") != 1 {
			t.Fatalf("after default PATCH: %s", r.raw)
		}

		// Update, aadOptscim062020 shape: no-path value object with dotted and URN keys.
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","value":{"displayName":"Maja Holm-Berg","name.givenName":"Majken",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"40118",
			"urn:ietf:params:scim:schemas:extension:employeedirectory:2.0:User:payrollNumber":"P-9"}}`)).must(t, 200)
		emp = e.employee(id)
		if emp.GivenName != "Majken" || emp.FamilyName != "Holm-Berg" || emp.DisplayName != "Maja Holm-Berg" ||
			emp.EmployeeNumber != "40118" || emp.PayrollNumber != "P-9" {
			t.Fatalf("after flag PATCH: %+v", emp)
		}

		// UPN change renames in place.
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"userName","value":"Maja.Berg@contoso.dk"}`)).must(t, 200)
		r = e.do("GET", `/Users?filter=userName+eq+"maja.berg%40CONTOSO.dk"`, "").must(t, 200)
		if r.body["totalResults"] != float64(1) || get(r.body, "Resources", 0, "id") != id {
			t.Fatalf("renamed user not found: %s", r.raw)
		}
		if r := e.do("GET", `/Users?filter=userName+eq+"Maja.Holm%40contoso.com"`, "").must(t, 200); r.body["totalResults"] != float64(0) {
			t.Fatalf("old userName still matches: %s", r.raw)
		}

		// Manager: provisioned separately, set by a bare-string Add.
		r = e.do("POST", "/Users", user("Ole.Dahl@contoso.com", "Ole", "Dahl")).must(t, 201)
		mgr := r.body["id"].(string)
		r = e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"`+mgrPath+`","value":"`+mgr+`"}`)).must(t, 200)
		if get(r.body, URNEnterprise, "manager", "value") != mgr {
			t.Fatalf("manager not read back as {value}: %s", r.raw)
		}
		if e.employee(id).ManagerID != mgr || !e.employee(mgr).IsApprover {
			t.Fatalf("manager link / approver role missing: %+v", e.employee(mgr))
		}
		apps, err := directory.Approvers(ctx, e.st, e.c.ID, id)
		if err != nil || len(apps) != 1 || apps[0].EmployeeID != mgr || apps[0].Kind != directory.ApproverManager {
			t.Fatalf("approvers: %v %v", apps, err)
		}
		// Change with Replace and the {"value":…} form.
		r = e.do("POST", "/Users", user("Ida.Berg@contoso.com", "Ida", "Berg")).must(t, 201)
		mgr2 := r.body["id"].(string)
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"`+mgrPath+`","value":{"value":"`+mgr2+`"}}`)).must(t, 200)
		if e.employee(id).ManagerID != mgr2 || e.employee(mgr).IsApprover || !e.employee(mgr2).IsApprover {
			t.Fatalf("manager change: old approver %v new %v", e.employee(mgr).IsApprover, e.employee(mgr2).IsApprover)
		}
		// Every clear shape.
		for _, clear := range []string{
			`{"op":"Remove","path":"` + mgrPath + `"}`,
			`{"op":"remove","path":"` + mgrPath + `","value":"` + mgr2 + `"}`,
			`{"op":"replace","path":"` + mgrPath + `","value":""}`,
			`{"op":"remove","path":"manager[value eq \"` + mgr2 + `\"]"}`,
		} {
			e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"`+mgrPath+`","value":"`+mgr2+`"}`)).must(t, 200)
			r = e.do("PATCH", "/Users/"+id, patchBody(clear)).must(t, 200)
			if get(r.body, URNEnterprise, "manager") != nil || e.employee(id).ManagerID != "" || e.employee(mgr2).IsApprover {
				t.Fatalf("clear %s: %s", clear, r.raw)
			}
		}
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"`+mgrPath+`","value":"`+mgr2+`"}`)).must(t, 200)

		// Soft delete (default shape): inactive, terminated today, sessions revoked, still readable.
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"active","value":"False"}`)).must(t, 200)
		emp = e.employee(id)
		if emp.Active || emp.TerminationDate != "2026-03-14" || e.rev.count(id) != 1 {
			t.Fatalf("soft delete: %+v revokes=%d", emp, e.rev.count(id))
		}
		if e.employee(mgr2).IsApprover {
			t.Fatalf("manager of only an inactive employee is still an approver")
		}
		r = e.do("GET", "/Users/"+id, "").must(t, 200)
		if r.body["active"] != false {
			t.Fatalf("inactive user must read active:false (boolean): %s", r.raw)
		}
		r = e.do("GET", `/Users?filter=userName+eq+"Maja.Berg%40contoso.dk"`, "").must(t, 200)
		if r.body["totalResults"] != float64(1) {
			t.Fatalf("soft-deleted user not filterable: %s", r.raw)
		}
		// userName stays reserved, any case.
		e.do("POST", "/Users", user("MAJA.BERG@contoso.dk", "X", "Y")).scimErr(t, 409, "uniqueness")

		// Reactivate (flag shape): same id, termination cleared, history kept.
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"active","value":true}`)).must(t, 200)
		emp = e.employee(id)
		if !emp.Active || emp.TerminationDate != "" || emp.GivenName != "Majken" || !e.employee(mgr2).IsApprover {
			t.Fatalf("reactivate: %+v", emp)
		}

		// Hard delete.
		e.do("DELETE", "/Users/"+id, "").must(t, 204)
		if e.rev.count(id) != 2 {
			t.Fatalf("hard delete did not revoke sessions")
		}
		emp = e.employee(id)
		if emp.Visible() || emp.Active || emp.TerminationDate != "2026-03-14" {
			t.Fatalf("hard-deleted record: %+v", emp)
		}
		e.do("GET", "/Users/"+id, "").scimErr(t, 404, "")
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"title","value":"x"}`)).scimErr(t, 404, "")
		e.do("DELETE", "/Users/"+id, "").scimErr(t, 404, "")
		for _, f := range []string{`userName+eq+"Maja.Berg%40contoso.dk"`, `externalId+eq+"mholm"`, `id+eq+"` + id + `"`,
			`emails[type+eq+"work"].value+eq+"maja.h%40contoso.com"`} {
			if r := e.do("GET", "/Users?filter="+f, "").must(t, 200); r.body["totalResults"] != float64(0) {
				t.Fatalf("hard-deleted user matched %s: %s", f, r.raw)
			}
		}
		if r := e.do("GET", "/Users", "").must(t, 200); strings.Contains(r.raw, id) {
			t.Fatalf("hard-deleted user listed")
		}
		if e.employee(mgr2).IsApprover {
			t.Fatalf("manager of a deleted employee is still an approver")
		}
		// userName and email are free again: a new, distinct employee.
		body := strings.Replace(entraCreate, "Maja.Holm@contoso.com", "Maja.Berg@contoso.dk", 1)
		body = strings.Replace(body, "maja.holm@contoso.com", "maja.h@contoso.com", 1)
		r = e.do("POST", "/Users", body).must(t, 201)
		if r.body["id"] == id {
			t.Fatalf("re-created user reused the deleted id")
		}

		// The provisioning log saw every write, never the token.
		log, err := e.st.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: e.c.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		ops := map[string]int{}
		for _, p := range log {
			ops[p.Operation+"/"+p.Outcome]++
			if strings.Contains(p.Change, e.token) || !json.Valid([]byte(p.Change)) {
				t.Fatalf("bad log change %q", p.Change)
			}
		}
		for _, want := range []string{"create/ok", "update/ok", "deactivate/ok", "reactivate/ok", "delete/ok", "create/uniqueness"} {
			if ops[want] == 0 {
				t.Errorf("provisioning log lacks %s: %v", want, ops)
			}
		}
	})
}

// On-demand provisioning ignores the flag: both shapes arrive for the same
// user, and a disable arrives as the validator's no-path {"active": false}.
func TestEntraOnDemandMixedShapes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.do("GET", `/Users?filter=userName+eq+"a.b%40contoso.com"`, "").must(t, 200)
		id := e.do("POST", "/Users", user("a.b@contoso.com", "A", "B")).must(t, 201).body["id"].(string)
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"title","value":"Lead"}`)).must(t, 200)
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"add","value":{"title":"Head","name.familyName":"Bee"}}`)).must(t, 200)
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","value":{"active":false}}`)).must(t, 200)
		emp := e.employee(id)
		if emp.Title != "Head" || emp.FamilyName != "Bee" || emp.GivenName != "A" || emp.Active {
			t.Fatalf("mixed shapes: %+v", emp)
		}
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"active","value":"True"}`)).must(t, 200)
		if !e.employee(id).Active {
			t.Fatal("Add active \"True\" did not reactivate")
		}
	})
}

// TestSessionsNotEndedIsLogged: a suspension whose session revocation fails
// (the session store is out) still stands and answers Entra, and the
// provisioning log says that sessions may outlive it, for the admin.
func TestSessionsNotEndedIsLogged(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.do("POST", "/Users", user("ola@contoso.com", "Ola", "N")).must(t, 201).body["id"].(string)
		e.rev.setDown(true)
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"active","value":"False"}`)).must(t, 200)
		if e.employee(id).Active {
			t.Fatal("the suspension was not saved")
		}
		log, err := e.st.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: e.c.ID, Outcome: "error", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 1 || log[0].Outcome != "sessions_not_ended" || log[0].EmployeeID != id || !strings.Contains(log[0].Change, "Revoke all sessions") {
			t.Fatalf("provisioning log errors: %+v", log)
		}
		e.rev.setDown(false)
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"active","value":"True"}`)).must(t, 200)
		if log, _ := e.st.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: e.c.ID, Outcome: "error", Limit: 10}); len(log) != 1 {
			t.Fatalf("a settled write logged a failure: %+v", log)
		}
	})
}
