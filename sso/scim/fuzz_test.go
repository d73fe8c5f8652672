package scim

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

func sampleEmployee() *directory.Employee {
	return &directory.Employee{
		ID: "e1", CompanyID: 1, UserName: "Maja.Holm@contoso.com", Email: "maja@contoso.com", GivenName: "Maja",
		FamilyName: "Holm", DisplayName: "Maja Holm", ExternalID: "mholm", Title: "Payroll", Department: "Finance",
		ManagerID: "m1", MobilePhone: "+45 1", WorkPhone: "+45 2", Country: "DK", EmployeeNumber: "40117",
		Active: true, Source: directory.SourceSCIM, EntraLinked: true,
		SCIMExtra: []byte(`{"emails":[{"type":"work","primary":true},{"type":"other","value":"o@x.com"}],"name":{"formatted":"Maja Holm"}}`),
		CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0), Version: 1,
	}
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "Maja.Holm@contoso.com"`,
		`emails[type eq "work"].value eq "maja@contoso.com"`,
		`emails[type eq "work" and value eq "x"]`,
		`id eq "e1" and manager eq "m1"`,
		`externalId eq "mholm" or userName eq "x"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Finance"`,
		`not (active eq true)`,
		`emails[type eq "a" or type eq "b"].value eq "x"`,
		`userName eq "a\"b"`, `]`, `[`, `a[b].c`, `x eq`, ``,
	} {
		f.Add(s)
	}
	d := render(sampleEmployee())
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseFilter(s)
		if err != nil {
			if err.Status != 400 || err.SCIMType != typeInvalidFilter {
				t.Fatalf("filter error %+v", err)
			}
			return
		}
		_ = evalResource(d, e)
	})
}

func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		patchBody(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a@b.c"}`),
		patchBody(`{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+45"}`),
		patchBody(`{"op":"replace","value":{"name.givenName":"X","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"1"}}`),
		patchBody(`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m2"}`),
		patchBody(`{"op":"remove","path":"manager[value eq \"m1\"]"}`),
		patchBody(`{"op":"Replace","path":"active","value":"False"}`),
		patchBody(`{"op":"replace","value":{"active":false}}`),
		patchBody(`{"op":"Remove","path":"emails","value":[{"value":"o@x.com"}]}`),
		patchBody(`{"op":"add","path":"addresses","value":[{"type":"work","locality":"K"}]}`),
		patchBody(`{"op":"replace","path":"emails.value","value":"z@z"}`),
		`{"Operations":[{"op":"add","path":"x[y eq 1].z","value":{}}]}`,
		`{}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := parsePatch(body)
		if err != nil {
			if err.Status != 400 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		d := render(sampleEmployee())
		if err := applyPatch(d, ops); err != nil {
			if err.Status != 400 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		fl, err := extract(d)
		if err != nil {
			if err.Status != 400 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		if fl.residual != nil && !json.Valid(fl.residual) {
			t.Fatalf("residual not JSON: %q", fl.residual)
		}
		// Applying the same PATCH again changes nothing more (idempotence)
		// for the stored view, as long as no op appends by value.
		e := sampleEmployee()
		for _, b := range fieldNames {
			*b.col(e) = *b.col(&fl.emp)
		}
		e.SCIMExtra = fl.residual
		d2 := render(e)
		if err := applyPatch(d2, ops); err != nil {
			return
		}
		if _, err := json.Marshal(d2); err != nil {
			t.Fatalf("unmarshalable resource: %v", err)
		}
	})
}
