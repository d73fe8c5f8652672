package scim

import (
	"net/http"
	"strings"
)

// Schema URNs this endpoint speaks.
const (
	URNCore       = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// URNDirectory is the product's custom extension for the attributes
	// Entra's default mapping lacks. Admins type it into their tenant: never
	// change it.
	URNDirectory = "urn:ietf:params:scim:schemas:extension:employeedirectory:2.0:User"

	urnListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	urnPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	urnSPConfig     = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	urnSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	urnResourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
)

type attrKind int

const (
	kString attrKind = iota
	kBool
	kDateTime // stored as the string received
	kComplex
	kReference
)

// attrDef describes one attribute this endpoint accepts. Anything not
// described here is accepted and ignored (Entra's default mapping sends
// attributes the product has no use for; refusing them breaks every create).
type attrDef struct {
	Name        string
	Kind        attrKind
	Multi       bool
	Sub         []attrDef
	Required    bool
	CaseExact   bool
	Mutability  string // readWrite (default), readOnly, immutable
	Uniqueness  string // none (default), server
	Description string
	// CanonicalValues are the values published for a "type" sub-attribute
	// (RFC 7643 §4.1.2); Microsoft's validator builds the typed paths it
	// looks for, such as emails[type eq "work"].value, from them.
	CanonicalValues []string
}

func (a *attrDef) sub(name string) *attrDef {
	for i := range a.Sub {
		if strings.EqualFold(a.Sub[i].Name, name) {
			return &a.Sub[i]
		}
	}
	return nil
}

type schemaDef struct {
	ID, Name, Description string
	Attrs                 []attrDef
}

func (s *schemaDef) attr(name string) *attrDef {
	for i := range s.Attrs {
		if strings.EqualFold(s.Attrs[i].Name, name) {
			return &s.Attrs[i]
		}
	}
	return nil
}

func multiSub(types ...string) []attrDef {
	return []attrDef{
		{Name: "value", Kind: kString},
		{Name: "display", Kind: kString},
		{Name: "type", Kind: kString, CanonicalValues: types},
		{Name: "primary", Kind: kBool},
	}
}

var coreSchema = schemaDef{
	ID: URNCore, Name: "User", Description: "User Account",
	Attrs: []attrDef{
		{Name: "userName", Kind: kString, Required: true, Uniqueness: "server",
			Description: "Login name (Entra userPrincipalName); unique per company, case-insensitive."},
		{Name: "externalId", Kind: kString, CaseExact: true, Description: "Entra mailNickname, stored as sent."},
		{Name: "name", Kind: kComplex, Required: true, Sub: []attrDef{
			{Name: "formatted", Kind: kString},
			{Name: "familyName", Kind: kString, Required: true},
			{Name: "givenName", Kind: kString, Required: true},
			{Name: "middleName", Kind: kString},
			{Name: "honorificPrefix", Kind: kString},
			{Name: "honorificSuffix", Kind: kString},
		}},
		{Name: "displayName", Kind: kString},
		{Name: "nickName", Kind: kString},
		{Name: "title", Kind: kString},
		{Name: "userType", Kind: kString},
		{Name: "preferredLanguage", Kind: kString},
		{Name: "locale", Kind: kString},
		{Name: "timezone", Kind: kString},
		{Name: "active", Kind: kBool},
		{Name: "emails", Kind: kComplex, Multi: true, Sub: multiSub("work", "home", "other")},
		{Name: "phoneNumbers", Kind: kComplex, Multi: true, Sub: multiSub("work", "home", "mobile", "fax", "pager", "other")},
		{Name: "addresses", Kind: kComplex, Multi: true, Sub: []attrDef{
			{Name: "formatted", Kind: kString},
			{Name: "streetAddress", Kind: kString},
			{Name: "locality", Kind: kString},
			{Name: "region", Kind: kString},
			{Name: "postalCode", Kind: kString},
			{Name: "country", Kind: kString},
			{Name: "type", Kind: kString, CanonicalValues: []string{"work", "home", "other"}},
			{Name: "primary", Kind: kBool},
		}},
		{Name: "roles", Kind: kComplex, Multi: true, Sub: multiSub()},
	},
}

var enterpriseSchema = schemaDef{
	ID: URNEnterprise, Name: "EnterpriseUser", Description: "Enterprise User",
	Attrs: []attrDef{
		{Name: "employeeNumber", Kind: kString},
		{Name: "costCenter", Kind: kString},
		{Name: "organization", Kind: kString},
		{Name: "division", Kind: kString},
		{Name: "department", Kind: kString},
		{Name: "manager", Kind: kComplex, Sub: []attrDef{
			{Name: "value", Kind: kString, CaseExact: true},
			{Name: "$ref", Kind: kReference},
			{Name: "displayName", Kind: kString, Mutability: "readOnly"},
		}, Description: "The manager's SCIM id. Written as a bare id string or {\"value\": id}; read back as {\"value\": id}."},
	},
}

var directorySchema = schemaDef{
	ID: URNDirectory, Name: "EmployeeDirectoryUser", Description: "Employee directory attributes of the product",
	Attrs: []attrDef{
		{Name: "dateOfEmployment", Kind: kDateTime, Description: "Employment date as sent (RFC 3339 or YYYY-MM-DD), echoed unchanged."},
		{Name: "payrollNumber", Kind: kString},
		{Name: "employeeNumber", Kind: kString, Description: "When sent, this is the product's employee number (else the enterprise employeeNumber)."},
		{Name: "groupCompanyName", Kind: kString, Description: "Subsidiary / group company name."},
	},
}

// extensions in the order they are published.
var extensions = []*schemaDef{&enterpriseSchema, &directorySchema}

// extensionByURN returns the extension schema with this URN (case-insensitive).
func extensionByURN(urn string) *schemaDef {
	for _, s := range extensions {
		if strings.EqualFold(s.ID, urn) {
			return s
		}
	}
	return nil
}

// splitURNAttr splits "urn:…:User:attr[.sub]" into its extension schema and
// the remainder. ok is false when key does not start with a known URN.
func splitURNAttr(key string) (s *schemaDef, rest string, ok bool) {
	for _, sc := range append([]*schemaDef{&coreSchema}, extensions...) {
		if len(key) > len(sc.ID)+1 && strings.EqualFold(key[:len(sc.ID)], sc.ID) && key[len(sc.ID)] == ':' {
			return sc, key[len(sc.ID)+1:], true
		}
	}
	return nil, "", false
}

// --- discovery --------------------------------------------------------------

func (h *Handler) serviceProviderConfig(baseURL string) map[string]any {
	return map[string]any{
		"schemas":          []string{urnSPConfig},
		"documentationUri": "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxCount},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": false},
		"authenticationSchemes": []map[string]any{{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "The company's SCIM secret token (ssogate scim token), sent as Authorization: Bearer.",
			"primary":     true,
		}, {
			"type":        "oauth2",
			"name":        "OAuth 2.0 client credentials",
			"description": "An access token from " + strings.TrimSuffix(baseURL, "/v2") + "/oauth/token (grant_type=client_credentials with the company's SCIM client id and secret), sent as Authorization: Bearer.",
			"specUri":     "https://www.rfc-editor.org/rfc/rfc6749#section-4.4",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": baseURL + "/ServiceProviderConfig"},
	}
}

func attrJSON(a attrDef) map[string]any {
	typ := "string"
	switch a.Kind {
	case kBool:
		typ = "boolean"
	case kDateTime:
		typ = "dateTime"
	case kComplex:
		typ = "complex"
	case kReference:
		typ = "reference"
	}
	mut := a.Mutability
	if mut == "" {
		mut = "readWrite"
	}
	uniq := a.Uniqueness
	if uniq == "" {
		uniq = "none"
	}
	m := map[string]any{
		"name": a.Name, "type": typ, "multiValued": a.Multi, "required": a.Required,
		"caseExact": a.CaseExact, "mutability": mut, "returned": "default", "uniqueness": uniq,
		"description": a.Description,
	}
	if a.Kind == kReference {
		m["referenceTypes"] = []string{"User"}
	}
	if len(a.CanonicalValues) > 0 {
		m["canonicalValues"] = a.CanonicalValues
	}
	if len(a.Sub) > 0 {
		subs := make([]map[string]any, 0, len(a.Sub))
		for _, s := range a.Sub {
			subs = append(subs, attrJSON(s))
		}
		m["subAttributes"] = subs
	}
	return m
}

func schemaJSON(s *schemaDef, baseURL string) map[string]any {
	attrs := make([]map[string]any, 0, len(s.Attrs))
	for _, a := range s.Attrs {
		attrs = append(attrs, attrJSON(a))
	}
	return map[string]any{
		"schemas": []string{urnSchema}, "id": s.ID, "name": s.Name, "description": s.Description,
		"attributes": attrs,
		"meta":       map[string]any{"resourceType": "Schema", "location": baseURL + "/Schemas/" + s.ID},
	}
}

func userResourceType(baseURL string) map[string]any {
	exts := make([]map[string]any, 0, len(extensions))
	for _, s := range extensions {
		exts = append(exts, map[string]any{"schema": s.ID, "required": false})
	}
	return map[string]any{
		"schemas": []string{urnResourceType}, "id": "User", "name": "User", "endpoint": "/Users",
		"description": "Employee", "schema": URNCore, "schemaExtensions": exts,
		"meta": map[string]any{"resourceType": "ResourceType", "location": baseURL + "/ResourceTypes/User"},
	}
}

func listOf(items []map[string]any) map[string]any {
	return map[string]any{
		"schemas": []string{urnListResponse}, "totalResults": len(items), "startIndex": 1,
		"itemsPerPage": len(items), "Resources": items,
	}
}

// serveDiscovery answers /ServiceProviderConfig, /Schemas[/id] and
// /ResourceTypes[/id]. ok is false when subpath is not a discovery path.
func (h *Handler) serveDiscovery(w http.ResponseWriter, r *http.Request, subpath, baseURL string) bool {
	first, rest, _ := strings.Cut(strings.TrimPrefix(subpath, "/"), "/")
	var v any
	switch {
	case strings.EqualFold(first, "ServiceProviderConfig") || strings.EqualFold(first, "ServiceProviderConfigs"):
		if rest != "" {
			writeError(w, errNotFoundPath)
			return true
		}
		v = h.serviceProviderConfig(baseURL)
	case strings.EqualFold(first, "Schemas"):
		all := []*schemaDef{&coreSchema, &enterpriseSchema, &directorySchema}
		if rest == "" {
			items := make([]map[string]any, 0, len(all))
			for _, s := range all {
				items = append(items, schemaJSON(s, baseURL))
			}
			v = listOf(items)
			break
		}
		for _, s := range all {
			if strings.EqualFold(s.ID, rest) {
				v = schemaJSON(s, baseURL)
			}
		}
		if v == nil {
			writeError(w, errf(http.StatusNotFound, "", "no such schema"))
			return true
		}
	case strings.EqualFold(first, "ResourceTypes"):
		switch {
		case rest == "":
			v = listOf([]map[string]any{userResourceType(baseURL)})
		case strings.EqualFold(rest, "User"):
			v = userResourceType(baseURL)
		default:
			writeError(w, errf(http.StatusNotFound, "", "no such resource type (only User is served)"))
			return true
		}
	default:
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, errMethod)
		return true
	}
	writeJSON(w, http.StatusOK, v)
	return true
}

var (
	errNotFoundPath = &Error{Status: http.StatusNotFound, Detail: "no such SCIM endpoint; this service provides /Users, /ServiceProviderConfig, /Schemas and /ResourceTypes"}
	errMethod       = &Error{Status: http.StatusMethodNotAllowed, Detail: "method not allowed on this endpoint"}
)
