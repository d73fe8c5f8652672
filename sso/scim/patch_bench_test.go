package scim

import (
	"testing"

	"github.com/ssogate/ssogate/sso/directory"
)

// BenchmarkPatchApply measures the in-memory part of an Entra PATCH: parse
// the PatchOp body, apply it to the employee's SCIM document, and extract
// the fields to store (no database, no HTTP; BenchmarkInitialSync has the
// whole request). The bodies are the shapes Entra sends most: the manager
// reference, and a Replace of several attributes without paths.
func BenchmarkPatchApply(b *testing.B) {
	emp := &directory.Employee{ID: "e1", UserName: "maja.holm@contoso.com", Email: "maja.holm@contoso.com",
		GivenName: "Maja", FamilyName: "Holm", DisplayName: "Maja Holm", Title: "Engineer", Department: "R&D",
		ExternalID: "maja", Active: true, Source: directory.SourceSCIM, EntraLinked: true}
	bodies := map[string]string{
		"manager": `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"e2"}]}`,
		"replace": `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` +
			`{"op":"Replace","path":"title","value":"Lead"},` +
			`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"maja@contoso.com"},` +
			`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Ops"},` +
			`{"op":"Replace","path":"active","value":"False"}]}`,
	}
	for name, body := range bodies {
		b.Run(name, func(b *testing.B) {
			raw := []byte(body)
			b.ReportAllocs()
			for b.Loop() {
				ops, e := parsePatch(raw)
				if e != nil {
					b.Fatal(e)
				}
				d := render(emp)
				if e := applyPatch(d, ops); e != nil {
					b.Fatal(e)
				}
				if _, e := extract(d); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
