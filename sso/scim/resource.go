package scim

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"
	"github.com/ssogate/ssogate/sso/directory"
)

// doc is a User resource in canonical form: core attributes at the top
// level, extension attributes in an object keyed by the extension URN, every
// attribute and sub-attribute under its schema spelling. Values are string,
// bool, map[string]any (complex) or []any of map[string]any (multi-valued).
type doc = map[string]any

// Limits. Values over them are refused (400 invalidValue), never truncated.
const (
	maxUserName   = 256 // Entra UPNs are at most 113 characters
	maxEmail      = 256
	maxString     = 512 // any other string attribute
	maxEntries    = 20  // entries of one multi-valued attribute
	maxExtraBytes = 32 << 10
	maxIDLen      = 128
)

func limitFor(a *attrDef, parent *attrDef) int {
	switch {
	case parent == nil && (a.Name == "userName" || a.Name == "externalId"):
		return maxUserName
	case parent != nil && (parent.Name == "emails" || parent.Name == "manager") && a.Name == "value":
		return maxEmail
	}
	return maxString
}

// target is a resolved attribute reference: schema, attribute and, for a
// complex attribute, an optional sub-attribute; for a multi-valued one an
// optional entry filter.
type target struct {
	sc     *schemaDef
	a      *attrDef
	sub    *attrDef
	filter filter.Expression
}

// resolveAttr finds (uri, name, sub) in the schemas. A name without URN
// that is not a core attribute is looked up in the extensions (Entra's
// "manager[value eq …]" shape). ok is false for unknown attributes.
func resolveAttr(uri, name, sub string) (target, bool) {
	var sc *schemaDef
	switch {
	case uri == "":
		sc = &coreSchema
	case strings.EqualFold(uri, URNCore):
		sc = &coreSchema
	default:
		sc = extensionByURN(uri)
		if sc == nil {
			return target{}, false
		}
	}
	a := sc.attr(name)
	if a == nil && uri == "" {
		for _, ext := range extensions {
			if a = ext.attr(name); a != nil {
				sc = ext
				break
			}
		}
	}
	if a == nil {
		return target{}, false
	}
	t := target{sc: sc, a: a}
	if sub != "" {
		if t.sub = a.sub(sub); t.sub == nil {
			return target{}, false
		}
	}
	return t, true
}

// resolveKey resolves a key of a value object: "userName", "name.givenName",
// "urn:…:enterprise:2.0:User:department", "urn:…:User:manager.value". whole
// is non-nil when the key is a whole extension (or the core) URN.
func resolveKey(key string) (t target, whole *schemaDef, ok bool) {
	if s := extensionByURN(key); s != nil {
		return target{}, s, true
	}
	if strings.EqualFold(key, URNCore) {
		return target{}, &coreSchema, true
	}
	uri, rest := "", key
	if sc, r, found := splitURNAttr(key); found {
		uri, rest = sc.ID, r
	}
	name, sub, _ := strings.Cut(rest, ".")
	t, ok = resolveAttr(uri, name, sub)
	return t, nil, ok
}

// container returns the object holding t's attribute, creating the
// extension object when create is set (nil if absent and !create).
func container(d doc, sc *schemaDef, create bool) map[string]any {
	if sc == &coreSchema {
		return d
	}
	m, _ := d[sc.ID].(map[string]any)
	if m == nil && create {
		m = map[string]any{}
		d[sc.ID] = m
	}
	return m
}

// cleanContainer drops an empty extension object.
func cleanContainer(d doc, sc *schemaDef) {
	if sc == &coreSchema {
		return
	}
	if m, _ := d[sc.ID].(map[string]any); m != nil && len(m) == 0 {
		delete(d, sc.ID)
	}
}

// --- value coercion --------------------------------------------------------

// coerceScalar converts a JSON value for a simple attribute. present is
// false for null and "" (Entra never sends empty values; "" is its "clear").
func coerceScalar(a, parent *attrDef, v any) (val any, present bool, err *Error) {
	if v == nil {
		return nil, false, nil
	}
	name := a.Name
	if parent != nil {
		name = parent.Name + "." + a.Name
	}
	if a.Kind == kBool {
		switch x := v.(type) {
		case bool:
			return x, true, nil
		case string:
			switch {
			case strings.EqualFold(x, "true"):
				return true, true, nil
			case strings.EqualFold(x, "false"):
				return false, true, nil
			}
		}
		return nil, false, badValue("%s must be a boolean (true/false), got %s", name, describe(v))
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case bool:
		if x {
			s = "true"
		} else {
			s = "false"
		}
	default:
		return nil, false, badValue("%s must be a string, got %s", name, describe(v))
	}
	if s == "" {
		return nil, false, nil
	}
	if max := limitFor(a, parent); utf8.RuneCountInString(s) > max {
		return nil, false, badValue("%s is longer than %d characters; shorten it in Entra (values are never truncated)", name, max)
	}
	if strings.ContainsRune(s, 0) {
		return nil, false, badValue("%s contains a NUL character", name)
	}
	return s, true, nil
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	}
	return "null"
}

// coerceComplex converts an object for a single-valued complex attribute
// (or one entry of a multi-valued one). Unknown sub-attributes are ignored.
func coerceComplex(a *attrDef, v any) (map[string]any, *Error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		// manager as a bare id string; a multi-valued entry as its value.
		if x == "" {
			return nil, nil
		}
		v = map[string]any{"value": x}
	case json.Number, bool:
		v = map[string]any{"value": x}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, badValue("%s must be an object, got %s", a.Name, describe(v))
	}
	out := map[string]any{}
	for k, sv := range obj {
		sd := a.sub(k)
		if sd == nil || sd.Mutability == "readOnly" {
			continue
		}
		val, present, err := coerceScalar(sd, a, sv)
		if err != nil {
			return nil, err
		}
		if present {
			out[sd.Name] = val
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// coerceMulti converts the value of a multi-valued attribute: an array of
// entries or a single entry.
func coerceMulti(a *attrDef, v any) ([]any, *Error) {
	var in []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		in = x
	default:
		in = []any{x}
	}
	if len(in) > maxEntries {
		return nil, badValue("%s has more than %d entries", a.Name, maxEntries)
	}
	out := make([]any, 0, len(in))
	for _, e := range in {
		m, err := coerceComplex(a, e)
		if err != nil {
			return nil, err
		}
		if m != nil && meaningful(m) {
			out = append(out, m)
		}
	}
	// One value per type (Microsoft: "the type sub-attribute values of
	// multi-valued complex attributes must be unique"): two work emails
	// would leave the product's email ambiguous. Roles may repeat a type.
	if ts := a.sub("type"); ts != nil && len(ts.CanonicalValues) > 0 {
		seen := make(map[string]bool, len(out))
		for _, e := range out {
			typ, _ := e.(map[string]any)["type"].(string)
			if k := strings.ToLower(typ); k != "" {
				if seen[k] {
					return nil, badValue("%s has two entries of type %q: send one value per type", a.Name, typ)
				}
				seen[k] = true
			}
		}
	}
	return out, nil
}

// meaningful reports whether an entry of a multi-valued attribute carries
// more than its type/primary/display labels.
func meaningful(m map[string]any) bool {
	for k := range m {
		if k != "type" && k != "primary" && k != "display" {
			return true
		}
	}
	return false
}

// --- column bindings ---------------------------------------------------------

// binding ties one Employee column to one place in the resource.
type binding struct {
	get func(d doc) string
	set func(d doc, v string) // "" removes
	col func(e *directory.Employee) *string
}

func topBinding(name string, col func(e *directory.Employee) *string) binding {
	return binding{
		get: func(d doc) string { s, _ := d[name].(string); return s },
		set: func(d doc, v string) {
			if v == "" {
				delete(d, name)
			} else {
				d[name] = v
			}
		},
		col: col,
	}
}

func subBinding(sc *schemaDef, attr, sub string, col func(e *directory.Employee) *string) binding {
	return binding{
		get: func(d doc) string {
			c := container(d, sc, false)
			if c == nil {
				return ""
			}
			if sub == "" {
				s, _ := c[attr].(string)
				return s
			}
			m, _ := c[attr].(map[string]any)
			s, _ := m[sub].(string)
			return s
		},
		set: func(d doc, v string) {
			c := container(d, sc, v != "")
			if c == nil {
				return
			}
			if sub == "" {
				if v == "" {
					delete(c, attr)
				} else {
					c[attr] = v
				}
			} else {
				m, _ := c[attr].(map[string]any)
				if v == "" {
					if m != nil {
						delete(m, sub)
						if len(m) == 0 {
							delete(c, attr)
						}
					}
				} else {
					if m == nil {
						m = map[string]any{}
						c[attr] = m
					}
					m[sub] = v
				}
			}
			cleanContainer(d, sc)
		},
		col: col,
	}
}

// typedBinding binds attr[type eq typ].sub. Setting creates the entry when
// missing; clearing removes only the sub-attribute (the entry's other parts,
// such as primary, stay for the echo).
func typedBinding(attr, typ, sub string, col func(e *directory.Employee) *string) binding {
	find := func(d doc) map[string]any {
		list, _ := d[attr].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			if t, _ := m["type"].(string); m != nil && strings.EqualFold(t, typ) {
				return m
			}
		}
		return nil
	}
	return binding{
		get: func(d doc) string {
			s, _ := find(d)[sub].(string)
			return s
		},
		set: func(d doc, v string) {
			m := find(d)
			if v == "" {
				if m != nil {
					delete(m, sub)
				}
				return
			}
			if m == nil {
				m = map[string]any{"type": typ}
				list, _ := d[attr].([]any)
				d[attr] = append(list, m)
			}
			m[sub] = v
		},
		col: col,
	}
}

var bindings = []binding{
	topBinding("userName", func(e *directory.Employee) *string { return &e.UserName }),
	topBinding("externalId", func(e *directory.Employee) *string { return &e.ExternalID }),
	topBinding("displayName", func(e *directory.Employee) *string { return &e.DisplayName }),
	topBinding("title", func(e *directory.Employee) *string { return &e.Title }),
	subBinding(&coreSchema, "name", "givenName", func(e *directory.Employee) *string { return &e.GivenName }),
	subBinding(&coreSchema, "name", "familyName", func(e *directory.Employee) *string { return &e.FamilyName }),
	typedBinding("emails", "work", "value", func(e *directory.Employee) *string { return &e.Email }),
	typedBinding("phoneNumbers", "mobile", "value", func(e *directory.Employee) *string { return &e.MobilePhone }),
	typedBinding("phoneNumbers", "work", "value", func(e *directory.Employee) *string { return &e.WorkPhone }),
	typedBinding("addresses", "work", "country", func(e *directory.Employee) *string { return &e.Country }),
	subBinding(&enterpriseSchema, "department", "", func(e *directory.Employee) *string { return &e.Department }),
	subBinding(&directorySchema, "dateOfEmployment", "", func(e *directory.Employee) *string { return &e.DateOfEmployment }),
	subBinding(&directorySchema, "payrollNumber", "", func(e *directory.Employee) *string { return &e.PayrollNumber }),
	subBinding(&directorySchema, "groupCompanyName", "", func(e *directory.Employee) *string { return &e.GroupCompanyName }),
}

var (
	entEmployeeNumber = subBinding(&enterpriseSchema, "employeeNumber", "", nil)
	dirEmployeeNumber = subBinding(&directorySchema, "employeeNumber", "", nil)
	managerBinding    = subBinding(&enterpriseSchema, "manager", "value", nil)
)

// fields are the product's view of a resource: the column values plus the
// residual JSON (attributes without a column, echoed back as stored).
type fields struct {
	emp      directory.Employee // only the columns bound above + EmployeeNumber
	active   *bool
	manager  string // manager reference as sent ("" = none)
	residual []byte
}

// extract splits a canonical resource into column values and the residual.
//
// Employee number: the product has one column. When the custom extension's
// employeeNumber is present it wins (the admin mapped it on purpose);
// otherwise the enterprise employeeNumber (Entra's default mapping of
// employeeId) is used. Both are kept in the residual as sent, so each echoes
// exactly.
func extract(d doc) (fields, *Error) {
	var f fields
	work := deepCopy(d)
	for _, b := range bindings {
		*b.col(&f.emp) = b.get(work)
		b.set(work, "")
	}
	f.emp.EmployeeNumber = dirEmployeeNumber.get(work)
	if f.emp.EmployeeNumber == "" {
		f.emp.EmployeeNumber = entEmployeeNumber.get(work)
	}
	f.manager = managerBinding.get(work)
	if c := container(work, &enterpriseSchema, false); c != nil {
		delete(c, "manager")
		cleanContainer(work, &enterpriseSchema)
	}
	if v, ok := work["active"].(bool); ok {
		f.active = &v
	}
	for _, k := range []string{"active", "id", "schemas", "meta"} {
		delete(work, k)
	}
	if n, _ := work["name"].(map[string]any); n != nil && len(n) == 0 {
		delete(work, "name")
	}
	if len(work) > 0 {
		b, err := json.Marshal(work)
		if err != nil {
			return f, badValue("resource cannot be stored")
		}
		if len(b) > maxExtraBytes {
			return f, badValue("the resource carries more than %d bytes of additional attributes", maxExtraBytes)
		}
		f.residual = b
	}
	return f, nil
}

// validate checks the mandatory attributes.
func (f *fields) validate() *Error {
	switch {
	case strings.TrimSpace(f.emp.UserName) == "":
		return badValue("userName is mandatory (map userPrincipalName to userName in Entra)")
	case strings.TrimSpace(f.emp.GivenName) == "":
		return badValue("name.givenName is mandatory: set the user's first name in Entra (givenName)")
	case strings.TrimSpace(f.emp.FamilyName) == "":
		return badValue("name.familyName is mandatory: set the user's last name in Entra (surname)")
	}
	return nil
}

// render builds the canonical resource of an employee: residual first,
// columns on top (a column set locally wins over what was last received).
func render(e *directory.Employee) doc {
	d := doc{}
	if len(e.SCIMExtra) > 0 {
		if err := json.Unmarshal(e.SCIMExtra, &d); err != nil || d == nil {
			d = doc{}
		}
	}
	for _, b := range bindings {
		b.set(d, *b.col(e))
	}
	// Employee number: write the column back where extract read it from.
	switch {
	case dirEmployeeNumber.get(d) != "":
		dirEmployeeNumber.set(d, e.EmployeeNumber)
	case entEmployeeNumber.get(d) != "" || e.EmployeeNumber != "":
		entEmployeeNumber.set(d, e.EmployeeNumber)
	}
	if ref := managerRef(e); ref != "" {
		managerBinding.set(d, ref)
	}
	d["active"] = e.Active
	d["id"] = e.ID
	pruneEntries(d)
	return d
}

// managerRef is the manager id as SCIM shows it: the resolved employee id,
// else the reference still waiting to resolve.
func managerRef(e *directory.Employee) string {
	if e.ManagerID != "" {
		return e.ManagerID
	}
	return e.ManagerRef
}

// pruneEntries removes multi-valued entries left with only labels.
func pruneEntries(d doc) {
	for _, a := range coreSchema.Attrs {
		if !a.Multi {
			continue
		}
		list, ok := d[a.Name].([]any)
		if !ok {
			continue
		}
		out := list[:0]
		for _, e := range list {
			if m, _ := e.(map[string]any); m != nil && meaningful(m) {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			delete(d, a.Name)
		} else {
			d[a.Name] = out
		}
	}
}

func deepCopy(v doc) doc {
	return copyValue(v).(map[string]any)
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = copyValue(e)
		}
		return l
	}
	return v
}

// output decorates a canonical resource for the wire.
func output(e *directory.Employee, baseURL string) map[string]any {
	d := render(e)
	schemas := []string{URNCore}
	for _, s := range extensions {
		if _, ok := d[s.ID]; ok {
			schemas = append(schemas, s.ID)
		}
	}
	d["schemas"] = schemas
	loc := baseURL + "/Users/" + e.ID
	d["meta"] = map[string]any{
		"resourceType": "User",
		"created":      e.CreatedAt.UTC().Format(timeFormat),
		"lastModified": e.UpdatedAt.UTC().Format(timeFormat),
		"location":     loc,
		"version":      `W/"` + itoa(e.Version) + `"`,
	}
	if c := container(d, &enterpriseSchema, false); c != nil {
		if m, _ := c["manager"].(map[string]any); m != nil {
			if v, _ := m["value"].(string); v != "" {
				m["$ref"] = baseURL + "/Users/" + v
			}
		}
	}
	return d
}

const timeFormat = "2006-01-02T15:04:05.000Z07:00"
