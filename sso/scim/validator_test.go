package scim

// Tests for rules of Microsoft's SCIM validation (the Entra provisioning
// team's validator and the published requirements) that the Entra
// lifecycle tests do not already check. docs/scim-validator.md maps every
// rule to its test.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// schemaAttrs flattens the /Schemas answer the way the validator reads it:
// single-valued simple attributes as "name", "name.sub" or "URN:name", with
// their type and mutability.
type publishedAttr struct {
	path, typ, mutability string
}

func publishedSimpleAttrs(t *testing.T, e *env) []publishedAttr {
	t.Helper()
	r := e.do("GET", "/Schemas", "").must(t, 200)
	var out []publishedAttr
	for _, res := range r.body["Resources"].([]any) {
		sc := res.(map[string]any)
		prefix := ""
		if sc["id"] != URNCore {
			prefix = sc["id"].(string) + ":"
		}
		for _, a := range sc["attributes"].([]any) {
			at := a.(map[string]any)
			name, typ, multi := at["name"].(string), at["type"].(string), at["multiValued"] == true
			switch {
			case multi:
				continue // emails, phoneNumbers, addresses, roles: typed paths, tested apart
			case typ == "complex":
				for _, s := range at["subAttributes"].([]any) {
					sub := s.(map[string]any)
					if sub["type"] != "reference" {
						out = append(out, publishedAttr{prefix + name + "." + sub["name"].(string), sub["type"].(string), fmt.Sprint(sub["mutability"])})
					}
				}
			default:
				out = append(out, publishedAttr{prefix + name, typ, fmt.Sprint(at["mutability"])})
			}
		}
	}
	return out
}

// valueAt reads a flattened path back from a resource.
func valueAt(res map[string]any, path string) any {
	var scope map[string]any = res
	if i := strings.LastIndex(path, ":"); i >= 0 {
		scope, _ = res[path[:i]].(map[string]any)
		path = path[i+1:]
	}
	parts := strings.Split(path, ".")
	var v any = scope
	for _, p := range parts {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// TestValidatorUpdatesEveryPublishedAttribute: the validator's
// SCIM_User_Update_Test PATCHes a generated value into every single-valued
// attribute /Schemas publishes (string, dateTime, boolean; not id, meta,
// active, read-only or references) and expects each one back on GET. An
// attribute published but not kept would fail it.
func TestValidatorUpdatesEveryPublishedAttribute(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		id := e.do("POST", "/Users", user("upd@contoso.com", "Up", "Date")).must(t, 201).body["id"].(string)
		attrs := publishedSimpleAttrs(t, e)
		if len(attrs) < 20 {
			t.Fatalf("only %d single-valued attributes published", len(attrs))
		}
		var ops []string
		want := map[string]any{}
		for i, a := range attrs {
			if a.path == "active" || a.path == "userName" || a.mutability == "readOnly" || a.mutability == "immutable" {
				continue
			}
			var v any
			switch a.typ {
			case "string":
				v = fmt.Sprintf("Value %d of %s", i, a.path)
			case "dateTime":
				v = "2025-02-03T04:05:06Z"
			case "boolean":
				v = true
			default:
				t.Fatalf("%s: type %s not generated", a.path, a.typ)
			}
			b, _ := json.Marshal(v)
			ops = append(ops, fmt.Sprintf(`{"op":"replace","path":%q,"value":%s}`, a.path, b))
			want[a.path] = v
		}
		if len(want) < 20 {
			t.Fatalf("only %d attributes to update: %v", len(want), want)
		}
		e.do("PATCH", "/Users/"+id, patchBody(ops...)).must(t, 200)
		r := e.do("GET", "/Users/"+id, "").must(t, 200)
		for path, v := range want {
			if got := valueAt(r.body, path); got != v {
				t.Errorf("%s: PATCHed %#v, read back %#v", path, v, got)
			}
		}
		if t.Failed() {
			t.Logf("resource: %s", r.raw)
		}
	})
}

// TestValidatorNullUpdate: SCIM_Null_Update_Test sends optional attributes
// as empty strings, then as JSON null, and expects them empty (absent or
// "") on GET, with 200/204 each time; required attributes stay.
func TestValidatorNullUpdate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		id := e.do("POST", "/Users", entraCreate).must(t, 201).body["id"].(string)
		mgr := e.do("POST", "/Users", user("null.mgr@contoso.com", "M", "G")).must(t, 201).body["id"].(string)
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"`+mgrPath+`","value":"`+mgr+`"}`)).must(t, 200)
		paths := []string{
			"title", "displayName", "externalId", "preferredLanguage", "name.formatted",
			`emails[type eq "work"].value`, `phoneNumbers[type eq "mobile"].value`, `phoneNumbers[type eq "work"].value`,
			`addresses[type eq "work"].country`,
			URNEnterprise + ":department", URNEnterprise + ":employeeNumber", URNEnterprise + ":manager",
			URNDirectory + ":dateOfEmployment", URNDirectory + ":payrollNumber", URNDirectory + ":groupCompanyName",
		}
		for _, empty := range []string{`""`, `null`} {
			var ops []string
			for _, p := range paths {
				ops = append(ops, fmt.Sprintf(`{"op":"replace","path":%q,"value":%s}`, p, empty))
			}
			r := e.do("PATCH", "/Users/"+id, patchBody(ops...))
			if r.code != 200 && r.code != 204 {
				t.Fatalf("PATCH with %s values: %d %s", empty, r.code, r.raw)
			}
			r = e.do("GET", "/Users/"+id, "").must(t, 200)
			for _, p := range []string{"title", "displayName", "externalId", "preferredLanguage", "name.formatted",
				URNEnterprise + ":department", URNEnterprise + ":employeeNumber", URNEnterprise + ":manager",
				URNDirectory + ":dateOfEmployment", URNDirectory + ":payrollNumber", URNDirectory + ":groupCompanyName"} {
				if v := valueAt(r.body, p); v != nil && v != "" {
					t.Errorf("%s after %s: %#v", p, empty, v)
				}
			}
			for _, tv := range [][2]string{{"emails", "work"}, {"phoneNumbers", "mobile"}, {"phoneNumbers", "work"}} {
				if m := typed(r.body, tv[0], tv[1]); m != nil && m["value"] != nil && m["value"] != "" {
					t.Errorf("%s[type eq %q] after %s: %v", tv[0], tv[1], empty, m)
				}
			}
			if m := typed(r.body, "addresses", "work"); m != nil && m["country"] != nil && m["country"] != "" {
				t.Errorf("work address country after %s: %v", empty, m)
			}
			if r.body["userName"] != "Maja.Holm@contoso.com" || get(r.body, "name", "givenName") != "Maja" || r.body["active"] != true {
				t.Errorf("required attributes changed: %s", r.raw)
			}
			emp := e.employee(id)
			if emp.Title != "" || emp.Email != "" || emp.MobilePhone != "" || emp.ManagerID != "" || emp.Department != "" || emp.DateOfEmployment != "" {
				t.Errorf("stored after %s: %+v", empty, emp)
			}
			if t.Failed() {
				t.Fatalf("resource: %s", r.raw)
			}
		}
	})
}

// TestValidatorPagination: SCIM_User_Pagination_Test makes at least 11
// users and walks GET /Users?startIndex=N&count=5; every page answers 200
// with startIndex = page*5+1, and together the pages list each user once.
func TestValidatorPagination(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		var ids []string
		for i := range 12 {
			e.now = e.now.Add(time.Second)
			ids = append(ids, e.do("POST", "/Users", user(fmt.Sprintf("page%02d@contoso.com", i), "P", "G")).must(t, 201).body["id"].(string))
		}
		var seen []string
		pages := 0
		for start := 1; ; start += 5 {
			r := e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=5", start), "").must(t, 200)
			pages++
			if r.body["startIndex"] != float64(start) || r.body["totalResults"] != float64(12) {
				t.Fatalf("page at %d: %s", start, r.raw)
			}
			res := r.body["Resources"].([]any)
			if r.body["itemsPerPage"] != float64(len(res)) || len(res) > 5 {
				t.Fatalf("page at %d: itemsPerPage %v, %d resources", start, r.body["itemsPerPage"], len(res))
			}
			for _, x := range res {
				seen = append(seen, x.(map[string]any)["id"].(string))
			}
			if len(res) < 5 {
				break
			}
		}
		slices.Sort(seen)
		slices.Sort(ids)
		if pages < 3 || !slices.Equal(seen, ids) {
			t.Fatalf("%d pages listed %v, want each of %v once", pages, seen, ids)
		}
		// Past the end: an empty page, still 200.
		r := e.do("GET", "/Users?startIndex=100&count=5", "").must(t, 200)
		if len(r.body["Resources"].([]any)) != 0 || r.body["totalResults"] != float64(12) {
			t.Fatalf("past the end: %s", r.raw)
		}
	})
}

// TestValidatorManagerSetChangeRemove: SCIM_Update_Manager_Test sets the
// manager with Add, changes it with Replace (a bare id), removes it with
// Replace "" and checks each step with GET.
func TestValidatorManagerSetChangeRemove(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		id := e.do("POST", "/Users", user("mgr.report@contoso.com", "R", "P")).must(t, 201).body["id"].(string)
		m1 := e.do("POST", "/Users", user("mgr.one@contoso.com", "O", "N")).must(t, 201).body["id"].(string)
		m2 := e.do("POST", "/Users", user("mgr.two@contoso.com", "T", "W")).must(t, 201).body["id"].(string)
		for _, step := range []struct{ op, value, want string }{
			{"add", `"` + m1 + `"`, m1},
			{"replace", `"` + m2 + `"`, m2},
			{"replace", `""`, ""},
		} {
			r := e.do("PATCH", "/Users/"+id, patchBody(fmt.Sprintf(`{"op":%q,"path":%q,"value":%s}`, step.op, mgrPath, step.value)))
			if r.code != 200 && r.code != 204 {
				t.Fatalf("%s %s: %d %s", step.op, step.value, r.code, r.raw)
			}
			r = e.do("GET", "/Users/"+id, "").must(t, 200)
			got, _ := get(r.body, URNEnterprise, "manager", "value").(string)
			if got != step.want || (step.want == "" && get(r.body, URNEnterprise, "manager") != nil) {
				t.Fatalf("after %s %s: manager %s", step.op, step.value, r.raw)
			}
		}
	})
}

// TestValidatorSchemaDiscovery: Schema_Discoverability_Test flattens
// /Schemas into names such as emails[type eq "work"].value and expects every
// target attribute of the provisioning mapping among them; schema discovery
// answers carry no null values and camel-cased property values.
func TestValidatorSchemaDiscovery(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		r := e.do("GET", "/Schemas", "").must(t, 200)
		if r.body["schemas"].([]any)[0] != urnListResponse {
			t.Fatalf("/Schemas is not a ListResponse: %s", r.raw)
		}
		names := map[string]bool{}
		for _, res := range r.body["Resources"].([]any) {
			sc := res.(map[string]any)
			prefix := ""
			if sc["id"] != URNCore {
				prefix = sc["id"].(string) + ":"
			}
			for _, a := range sc["attributes"].([]any) {
				at := a.(map[string]any)
				name := prefix + at["name"].(string)
				names[strings.ToLower(name)] = true
				subs, _ := at["subAttributes"].([]any)
				for _, s := range subs {
					sub := s.(map[string]any)
					names[strings.ToLower(name+"."+sub["name"].(string))] = true
					if sub["name"] == "type" {
						cvs, _ := sub["canonicalValues"].([]any)
						for _, cv := range cvs {
							for _, s2 := range subs {
								if n := s2.(map[string]any)["name"]; n != "type" && n != "primary" {
									names[strings.ToLower(fmt.Sprintf(`%s[type eq "%s"].%s`, name, cv, n))] = true
								}
							}
						}
					}
				}
			}
		}
		// The target attributes of Entra's default mapping for a custom
		// SCIM app, plus the product's extension schema.
		for _, want := range []string{
			"userName", "active", "displayName", "title", "externalId", "preferredLanguage",
			"name.givenName", "name.familyName", "name.formatted",
			`emails[type eq "work"].value`, `emails[type eq "other"].value`,
			`phoneNumbers[type eq "work"].value`, `phoneNumbers[type eq "mobile"].value`, `phoneNumbers[type eq "fax"].value`,
			`addresses[type eq "work"].formatted`, `addresses[type eq "work"].streetAddress`, `addresses[type eq "work"].locality`,
			`addresses[type eq "work"].region`, `addresses[type eq "work"].postalCode`, `addresses[type eq "work"].country`,
			`addresses[type eq "other"].formatted`,
			URNEnterprise + ":employeeNumber", URNEnterprise + ":department", URNEnterprise + ":manager",
			URNDirectory + ":dateOfEmployment", URNDirectory + ":payrollNumber", URNDirectory + ":employeeNumber", URNDirectory + ":groupCompanyName",
		} {
			if !names[strings.ToLower(want)] {
				t.Errorf("/Schemas does not make %s discoverable", want)
			}
		}
		// No null anywhere in discovery answers; enumerations camel-cased.
		enums := map[string][]string{
			"mutability": {"readOnly", "readWrite", "immutable", "writeOnly"},
			"returned":   {"always", "never", "default", "request"},
			"uniqueness": {"none", "server", "global"},
			"type":       {"string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary"},
		}
		for _, target := range []string{"/Schemas", "/ResourceTypes", "/ServiceProviderConfig", "/Schemas/" + url.PathEscape(URNCore)} {
			raw := e.do("GET", target, "").must(t, 200).raw
			var v any
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				t.Fatal(err)
			}
			var walk func(path string, v any)
			walk = func(path string, v any) {
				switch x := v.(type) {
				case nil:
					t.Errorf("%s: null at %s", target, path)
				case map[string]any:
					for k, c := range x {
						if allowed, ok := enums[k]; ok && target != "/ResourceTypes" && target != "/ServiceProviderConfig" {
							if s, _ := c.(string); !slices.Contains(allowed, s) && !(k == "type" && strings.HasPrefix(path, "authenticationSchemes")) {
								t.Errorf("%s: %s.%s = %v, not one of %v", target, path, k, c, allowed)
							}
						}
						walk(path+"."+k, c)
					}
				case []any:
					for i, c := range x {
						walk(fmt.Sprintf("%s[%d]", path, i), c)
					}
				}
			}
			walk("", v)
		}
	})
}

// TestValidatorTypeValuesAreUnique: "the type sub-attribute values of
// multi-valued complex attributes must be unique": a POST with two work
// emails is refused with a descriptive invalidValue, and a PATCH of one
// typed value never makes a second entry of that type.
func TestValidatorTypeValuesAreUnique(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.do("POST", "/Users", user("two.work@contoso.com", "T", "W",
			"emails", `[{"type":"work","value":"a@contoso.com","primary":true},{"type":"work","value":"b@contoso.com"}]`)).scimErr(t, 400, "invalidValue")
		e.do("POST", "/Users", user("two.mobile@contoso.com", "T", "M",
			"phoneNumbers", `[{"type":"mobile","value":"+45 1"},{"type":"Mobile","value":"+45 2"}]`)).scimErr(t, 400, "invalidValue")
		id := e.do("POST", "/Users", user("one.work@contoso.com", "O", "W",
			"emails", `[{"type":"work","value":"one.work@contoso.com","primary":true},{"type":"other","value":"x@old.com"}]`)).must(t, 201).body["id"].(string)
		e.do("PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"emails","value":[{"type":"work","value":"a@contoso.com"},{"type":"WORK","value":"b@contoso.com"}]}`)).scimErr(t, 400, "invalidValue")
		e.do("PUT", "/Users/"+id, user("one.work@contoso.com", "O", "W",
			"addresses", `[{"type":"work","country":"DK"},{"type":"work","country":"SE"}]`)).scimErr(t, 400, "invalidValue")
		if emp := e.employee(id); emp.Email != "one.work@contoso.com" || emp.Country != "" {
			t.Fatalf("a refused write changed the employee: %+v", emp)
		}
		r := e.do("PATCH", "/Users/"+id, patchBody(`{"op":"add","path":"emails[type eq \"work\"].value","value":"new@contoso.com"}`)).must(t, 200)
		if countTyped(r.body, "emails", "work") != 1 || typed(r.body, "emails", "work")["value"] != "new@contoso.com" ||
			typed(r.body, "emails", "other")["value"] != "x@old.com" {
			t.Fatalf("after a typed add: %s", r.raw)
		}
	})
}
