// Package storetest is the conformance suite every directory.Store passes.
// It pins the semantics callers rely on, including the ones databases
// tend to disagree on (case-insensitive and non-ASCII matching, partial
// uniqueness, transactions, concurrent writers).
//
// It imports only directory and the standard library; it must not import a
// store implementation (each implementation's tests call Run).
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

// Run runs the suite. open must return a fresh, empty store for each call
// and close it at the test's cleanup. Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) directory.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s directory.Store)
	}{
		{"Companies", testCompanies},
		{"PinIssuer", testPinIssuer},
		{"Certificates", testCertificates},
		{"FederationMetadata", testFederationMetadata},
		{"EmployeeRoundTrip", testEmployeeRoundTrip},
		{"EmployeeNotFound", testEmployeeNotFound},
		{"CaseInsensitiveConflicts", testCaseInsensitiveConflicts},
		{"NonASCIIFolding", testNonASCIIFolding},
		{"HardDeleteFreesKeys", testHardDeleteFreesKeys},
		{"ObjectIDBinding", testObjectIDBinding},
		{"ExternalID", testExternalID},
		{"Managers", testManagers},
		{"ListEmployees", testListEmployees},
		{"CompanyIsolation", testCompanyIsolation},
		{"InTx", testInTx},
		{"ConcurrentCreate", testConcurrentCreate},
		{"Limits", testLimits},
		{"SignIns", testSignIns},
		{"RecordLogins", testRecordLogins},
		{"PruneSignIns", testPruneSignIns},
		{"Provisioning", testProvisioning},
		{"Audit", testAudit},
		{"SCIMTokens", testSCIMTokens},
		{"SCIMClients", testSCIMClients},
		{"SCIMAccessTokens", testSCIMAccessTokens},
		{"Admins", testAdmins},
		{"OAuthClients", testOAuthClients},
		{"DepartmentApprovers", testDepartmentApprovers},
		{"EmployeePasswords", testEmployeePasswords},
		{"SigningKeys", testSigningKeys},
		{"SigningKeysRace", testSigningKeysRace},
		{"SLOAndTokenEncryptionSettings", testSLOAndTokenEncryptionSettings},
		{"EncryptionKeys", testEncryptionKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A nil result after an ignored error must fail this subtest,
			// not the whole binary.
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v\n%s", r, debug.Stack())
				}
			}()
			s := open(t)
			if err := s.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			tc.fn(t, s)
		})
	}
}

// --- helpers ---

var ctx = context.Background()

func must(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// wantErr checks err matches target.
func wantErr(t *testing.T, err, target error, what string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", fmt.Sprintf(what, args...), err, target)
	}
}

// wantConflict checks err is a *directory.ConflictError on field.
func wantConflict(t *testing.T, err error, field, what string, args ...any) {
	t.Helper()
	var ce *directory.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, directory.ErrConflict) {
		t.Fatalf("%s: got error %v, want a ConflictError on %q", fmt.Sprintf(what, args...), err, field)
	}
	if ce.Field != field {
		t.Fatalf("%s: conflict on %q, want %q", fmt.Sprintf(what, args...), ce.Field, field)
	}
}

func company(t *testing.T, s directory.Store, slug string) *directory.Company {
	t.Helper()
	c := &directory.Company{Slug: slug, Name: strings.ToUpper(slug), NameIDMode: directory.NameIDUPN}
	must(t, s.CreateCompany(ctx, c), "CreateCompany %s", slug)
	return c
}

func employee(t *testing.T, s directory.Store, companyID int64, userName, email string) *directory.Employee {
	t.Helper()
	e := &directory.Employee{CompanyID: companyID, UserName: userName, Email: email, GivenName: "Given", FamilyName: "Family",
		Active: true, Source: directory.SourceSCIM, EntraLinked: true}
	must(t, s.CreateEmployee(ctx, e), "CreateEmployee %q/%q", userName, email)
	return e
}

// same compares two values through their JSON form (times as RFC 3339 in
// UTC, so equal instants compare equal).
func same(t *testing.T, got, want any, what string) {
	t.Helper()
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: marshal: %v %v", what, err1, err2)
	}
	if string(g) != string(w) {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func ids(es []directory.Employee) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func sameIDs(t *testing.T, got []directory.Employee, want []string, what string) {
	t.Helper()
	g := ids(got)
	if strings.Join(g, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: got ids %v, want %v", what, g, want)
	}
}

// --- companies ---

func testCompanies(t *testing.T, s directory.Store) {
	before := time.Now().Add(-time.Minute)
	a := &directory.Company{Slug: "contoso", Name: "Contoso Ltd", SSOEnabled: true, NameIDMode: directory.NameIDMail,
		EntraIdentifier: "https://sts.windows.net/0000/"}
	must(t, s.CreateCompany(ctx, a), "CreateCompany")
	if a.ID == 0 || a.Version != 1 || a.CreatedAt.Before(before) || !a.UpdatedAt.Equal(a.CreatedAt) {
		t.Fatalf("CreateCompany filled %+v: want an ID, Version 1 and both times set", a)
	}
	got, err := s.GetCompany(ctx, "contoso")
	must(t, err, "GetCompany")
	same(t, got, a, "GetCompany")
	got, err = s.GetCompanyByID(ctx, a.ID)
	must(t, err, "GetCompanyByID")
	same(t, got, a, "GetCompanyByID")

	_, err = s.GetCompany(ctx, "nope")
	wantErr(t, err, directory.ErrNotFound, "GetCompany of a missing slug")
	_, err = s.GetCompanyByID(ctx, a.ID+1000)
	wantErr(t, err, directory.ErrNotFound, "GetCompanyByID of a missing id")

	err = s.CreateCompany(ctx, &directory.Company{Slug: "contoso", Name: "Other"})
	wantConflict(t, err, "slug", "CreateCompany with a taken slug")
	for _, bad := range []string{"", " ", "Contoso", "a/b", "-x", "a_b", "ä", strings.Repeat("a", 64)} {
		err = s.CreateCompany(ctx, &directory.Company{Slug: bad, Name: "x"})
		wantErr(t, err, directory.ErrInvalid, "CreateCompany with slug %q", bad)
	}
	err = s.CreateCompany(ctx, &directory.Company{Slug: "badmode", NameIDMode: "email"})
	wantErr(t, err, directory.ErrInvalid, "CreateCompany with an unknown NameID mode")

	b := &directory.Company{Slug: "fabrikam", Name: "Fabrikam"}
	must(t, s.CreateCompany(ctx, b), "CreateCompany without NameIDMode")
	if b.NameIDMode != directory.NameIDUPN {
		t.Fatalf("empty NameIDMode became %q, want %q", b.NameIDMode, directory.NameIDUPN)
	}
	list, err := s.ListCompanies(ctx)
	must(t, err, "ListCompanies")
	if len(list) != 2 || list[0].Slug != "contoso" || list[1].Slug != "fabrikam" {
		t.Fatalf("ListCompanies = %+v, want contoso and fabrikam", list)
	}

	upd := *a
	upd.Name, upd.SSOEnabled, upd.NameIDMode, upd.EntraIdentifier = "Contoso AG", false, directory.NameIDUPN, ""
	upd.Slug = "renamed" // not a setting: must be ignored
	must(t, s.UpdateCompanySettings(ctx, &upd), "UpdateCompanySettings")
	if upd.Version != 2 {
		t.Fatalf("Version after UpdateCompanySettings = %d, want 2", upd.Version)
	}
	got, err = s.GetCompanyByID(ctx, a.ID)
	must(t, err, "GetCompanyByID")
	if got.Slug != "contoso" || got.Name != "Contoso AG" || got.SSOEnabled || got.NameIDMode != directory.NameIDUPN ||
		got.EntraIdentifier != "" || got.Version != 2 || got.UpdatedAt.Before(got.CreatedAt) {
		t.Fatalf("after UpdateCompanySettings: %+v", got)
	}
	// The Login URL and automatic certificate retirement are settings too.
	upd.IDPLoginURL, upd.CertAutoRetireDays = "https://login.microsoftonline.com/0000/saml2", 7
	must(t, s.UpdateCompanySettings(ctx, &upd), "UpdateCompanySettings with login URL and auto-retire")
	got, err = s.GetCompany(ctx, "contoso")
	must(t, err, "GetCompany")
	if got.IDPLoginURL != "https://login.microsoftonline.com/0000/saml2" || got.CertAutoRetireDays != 7 || got.Version != 3 {
		t.Fatalf("login URL / auto-retire not stored: %+v", got)
	}
	bad := upd
	bad.CertAutoRetireDays = -1
	wantErr(t, s.UpdateCompanySettings(ctx, &bad), directory.ErrInvalid, "UpdateCompanySettings with negative auto-retire days")
	withURL := &directory.Company{Slug: "withurl", Name: "W", IDPLoginURL: "https://login.microsoftonline.com/1111/saml2", CertAutoRetireDays: 3}
	must(t, s.CreateCompany(ctx, withURL), "CreateCompany with a login URL")
	got, err = s.GetCompanyByID(ctx, withURL.ID)
	must(t, err, "GetCompanyByID")
	same(t, got, withURL, "CreateCompany with a login URL")
	upd.NameIDMode = "nope"
	wantErr(t, s.UpdateCompanySettings(ctx, &upd), directory.ErrInvalid, "UpdateCompanySettings with a bad mode")
	missing := &directory.Company{ID: a.ID + 1000, Name: "x", NameIDMode: directory.NameIDUPN}
	wantErr(t, s.UpdateCompanySettings(ctx, missing), directory.ErrNotFound, "UpdateCompanySettings of a missing company")
}

func testPinIssuer(t *testing.T, s directory.Store) {
	c := company(t, s, "pin")
	got, err := s.PinIssuer(ctx, c.ID, "https://sts.windows.net/first/")
	must(t, err, "PinIssuer")
	if got != "https://sts.windows.net/first/" {
		t.Fatalf("first PinIssuer = %q", got)
	}
	after, _ := s.GetCompanyByID(ctx, c.ID)
	if after.PinnedIssuer != got || after.Version != c.Version+1 {
		t.Fatalf("after the first pin: %+v, want PinnedIssuer set and Version %d", after, c.Version+1)
	}
	got, err = s.PinIssuer(ctx, c.ID, "https://sts.windows.net/second/")
	must(t, err, "PinIssuer again")
	if got != "https://sts.windows.net/first/" {
		t.Fatalf("second PinIssuer = %q, want the first pin to win", got)
	}
	again, _ := s.GetCompanyByID(ctx, c.ID)
	if again.PinnedIssuer != got || again.Version != after.Version {
		t.Fatalf("a losing pin changed the company: %+v", again)
	}
	_, err = s.PinIssuer(ctx, c.ID+1000, "x")
	wantErr(t, err, directory.ErrNotFound, "PinIssuer of a missing company")
	_, err = s.PinIssuer(ctx, c.ID, "")
	wantErr(t, err, directory.ErrInvalid, "PinIssuer with an empty issuer")

	// Racing pins: exactly one value wins and every caller sees it.
	d := company(t, s, "pinrace")
	var wg sync.WaitGroup
	res := make([]string, 8)
	errs := make([]error, 8)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = s.PinIssuer(ctx, d.ID, fmt.Sprintf("issuer-%d", i))
		}()
	}
	wg.Wait()
	for i := range res {
		must(t, errs[i], "racing PinIssuer %d", i)
		if res[i] != res[0] {
			t.Fatalf("racing pins returned %q and %q", res[0], res[i])
		}
	}
}

// --- certificates ---

func testCertificates(t *testing.T, s directory.Store) {
	c := company(t, s, "certs")
	other := company(t, s, "othercerts")
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	na := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	c1 := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-one"), Subject: "CN=Microsoft Azure Federated SSO Certificate", NotBefore: nb, NotAfter: na}
	must(t, s.AddCertificate(ctx, c1, false), "AddCertificate")
	if c1.ID == 0 || len(c1.SHA256) != 64 || len(c1.SHA1) != 40 || strings.ToUpper(c1.SHA1) != c1.SHA1 || strings.ToLower(c1.SHA256) != c1.SHA256 {
		t.Fatalf("AddCertificate filled %+v: want an ID, SHA1 upper-case hex, SHA256 lower-case hex", c1)
	}
	if !c1.NotBefore.Equal(nb) || !c1.NotAfter.Equal(na) || c1.RetiredAt != nil || c1.UseCount != 0 {
		t.Fatalf("AddCertificate stored %+v", c1)
	}
	v := func() int64 {
		got, err := s.GetCompanyByID(ctx, c.ID)
		must(t, err, "GetCompanyByID")
		return got.Version
	}
	if v() != 2 {
		t.Fatalf("Version after AddCertificate = %d, want 2", v())
	}

	// Idempotent: same DER again keeps one row with the same ID.
	again := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-one"), Subject: "CN=changed", NotBefore: nb, NotAfter: na}
	must(t, s.AddCertificate(ctx, again, false), "AddCertificate again")
	if again.ID != c1.ID || again.Subject != c1.Subject {
		t.Fatalf("adding a known certificate made %+v, want the stored row %+v", again, c1)
	}
	list, err := s.ListCertificates(ctx, c.ID, true)
	must(t, err, "ListCertificates")
	if len(list) != 1 {
		t.Fatalf("%d certificates after adding one twice", len(list))
	}

	// A wrong fingerprint is refused.
	bad := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-x"), SHA256: strings.Repeat("0", 64)}
	wantErr(t, s.AddCertificate(ctx, bad, false), directory.ErrInvalid, "AddCertificate with a SHA256 that does not match")
	wantErr(t, s.AddCertificate(ctx, &directory.Certificate{CompanyID: c.ID}, false), directory.ErrInvalid, "AddCertificate without DER")
	err = s.AddCertificate(ctx, &directory.Certificate{CompanyID: c.ID + 1000, DER: []byte("x")}, false)
	wantErr(t, err, directory.ErrNotFound, "AddCertificate to a missing company")

	// Retire, list without and with retired, un-retire by adding again.
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	before := v()
	must(t, s.RetireCertificate(ctx, c.ID, c1.SHA256, at), "RetireCertificate")
	if v() != before+1 {
		t.Fatalf("RetireCertificate did not bump Version")
	}
	list, _ = s.ListCertificates(ctx, c.ID, false)
	if len(list) != 0 {
		t.Fatalf("retired certificate still listed as trusted: %+v", list)
	}
	list, _ = s.ListCertificates(ctx, c.ID, true)
	if len(list) != 1 || list[0].RetiredAt == nil || !list[0].RetiredAt.Equal(at) {
		t.Fatalf("ListCertificates(includeRetired) = %+v, want the retired one with RetiredAt %v", list, at)
	}
	must(t, s.RetireCertificate(ctx, c.ID, c1.SHA256, at.Add(time.Hour)), "RetireCertificate again")
	list, _ = s.ListCertificates(ctx, c.ID, true)
	if !list[0].RetiredAt.Equal(at) {
		t.Fatalf("retiring again moved RetiredAt to %v", list[0].RetiredAt)
	}
	wantErr(t, s.RetireCertificate(ctx, c.ID, strings.Repeat("a", 64), at), directory.ErrNotFound, "RetireCertificate of a missing cert")
	wantErr(t, s.RetireCertificate(ctx, other.ID, c1.SHA256, at), directory.ErrNotFound, "RetireCertificate through another company")
	must(t, s.AddCertificate(ctx, &directory.Certificate{CompanyID: c.ID, DER: []byte("der-one")}, false), "re-add")
	list, _ = s.ListCertificates(ctx, c.ID, false)
	if len(list) != 1 || list[0].ID != c1.ID || list[0].RetiredAt != nil {
		t.Fatalf("adding a retired certificate again did not un-retire it: %+v", list)
	}

	// retireOthers: the new one stays, every other is retired.
	c2 := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-two"), NotBefore: nb, NotAfter: na}
	must(t, s.AddCertificate(ctx, c2, false), "AddCertificate two")
	c3 := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-three"), NotBefore: nb, NotAfter: na}
	before = v()
	must(t, s.AddCertificate(ctx, c3, true), "AddCertificate three, retiring others")
	if v() != before+1 {
		t.Fatalf("AddCertificate with retireOthers bumped Version by %d, want 1", v()-before)
	}
	list, _ = s.ListCertificates(ctx, c.ID, false)
	if len(list) != 1 || list[0].SHA256 != c3.SHA256 {
		t.Fatalf("trusted after retireOthers: %+v, want only the third", list)
	}
	list, _ = s.ListCertificates(ctx, c.ID, true)
	if len(list) != 3 || list[0].ID != c1.ID || list[1].ID != c2.ID || list[2].ID != c3.ID {
		t.Fatalf("ListCertificates(includeRetired) = %v, want three, oldest first", list)
	}

	// Same certificate in another company: separate row.
	oc := &directory.Certificate{CompanyID: other.ID, DER: []byte("der-three")}
	must(t, s.AddCertificate(ctx, oc, true), "same certificate in another company")
	if oc.ID == c3.ID {
		t.Fatal("two companies share one certificate row")
	}
	list, _ = s.ListCertificates(ctx, c.ID, false)
	if len(list) != 1 {
		t.Fatalf("retireOthers in another company retired ours: %+v", list)
	}
}

// --- employees ---

func fullEmployee(companyID int64) *directory.Employee {
	return &directory.Employee{
		CompanyID: companyID, UserName: "Maja.Holm@Contoso.com", Email: "maja.holm@contoso.com",
		GivenName: "Maja", FamilyName: "Holm", DisplayName: "Maja Holm", ExternalID: "maja.holm",
		EntraObjectID: "8c1a3c07-6f0b-4a36-9a2f-6d2f3e1b0c11", Title: "Nurse", Department: "Ärzte & Pflege",
		ManagerRef: "ext-manager-1", MobilePhone: "+45 11 22 33 44", WorkPhone: "+45 55 66 77 88", Country: "DK",
		DateOfEmployment: "2024-02-01T00:00:00Z", PayrollNumber: "P-001", EmployeeNumber: "E-42",
		GroupCompanyName: "Contoso Nordic", Active: true, TerminationDate: "2027-01-31",
		Source: directory.SourceSCIM, EntraLinked: true, IsAdmin: true, IsApprover: true,
		SelfApprover: true, OnlySelectedApprover: true,
		SCIMExtra: []byte(`{"name":{"formatted":"Maja Holm"},"addresses":[{"type":"work","locality":"Aarhus"}]}`),
	}
}

func testEmployeeRoundTrip(t *testing.T, s directory.Store) {
	c := company(t, s, "roundtrip")
	before := time.Now().Add(-time.Minute)
	e := fullEmployee(c.ID)
	must(t, s.CreateEmployee(ctx, e), "CreateEmployee")
	if len(e.ID) < 22 || strings.Trim(e.ID, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") != "" {
		t.Fatalf("generated id %q is not a URL-safe value of at least 128 bits", e.ID)
	}
	if e.Version != 1 || e.CreatedAt.Before(before) || !e.UpdatedAt.Equal(e.CreatedAt) {
		t.Fatalf("CreateEmployee filled Version %d, CreatedAt %v, UpdatedAt %v", e.Version, e.CreatedAt, e.UpdatedAt)
	}
	got, err := s.GetEmployee(ctx, c.ID, e.ID)
	must(t, err, "GetEmployee")
	same(t, got, e, "GetEmployee after create")
	if !got.Visible() {
		t.Fatal("a new employee is not visible")
	}

	// Generated ids differ.
	e2 := employee(t, s, c.ID, "other@contoso.com", "")
	if e2.ID == e.ID {
		t.Fatal("two employees got the same id")
	}
	// A caller-chosen id is kept; a duplicate is a conflict.
	e3 := &directory.Employee{ID: "import-0001", CompanyID: c.ID, UserName: "imported@contoso.com", Source: directory.SourceImport}
	must(t, s.CreateEmployee(ctx, e3), "CreateEmployee with an id")
	if e3.ID != "import-0001" {
		t.Fatalf("caller id replaced by %q", e3.ID)
	}
	err = s.CreateEmployee(ctx, &directory.Employee{ID: "import-0001", CompanyID: c.ID, UserName: "x@contoso.com"})
	wantErr(t, err, directory.ErrConflict, "CreateEmployee with a taken id")

	// Update replaces every field and bumps Version; CreatedAt stays.
	u := *got
	u.UserName, u.Email, u.GivenName, u.FamilyName, u.DisplayName = "maja.holm@fabrikam.com", "maja@fabrikam.com", "Maya", "Holm-Berg", ""
	u.ExternalID, u.EntraObjectID, u.Title, u.Department, u.ManagerRef = "", "", "", "IT", ""
	u.MobilePhone, u.WorkPhone, u.Country, u.DateOfEmployment, u.PayrollNumber = "", "", "SE", "", ""
	u.EmployeeNumber, u.GroupCompanyName, u.Active, u.TerminationDate = "", "", false, ""
	u.Source, u.EntraLinked, u.IsAdmin, u.IsApprover, u.SelfApprover, u.OnlySelectedApprover = directory.SourceLocal, false, false, false, false, false
	u.SCIMExtra = nil
	u.CreatedAt = time.Time{}
	must(t, s.UpdateEmployee(ctx, &u), "UpdateEmployee")
	if u.Version != 2 || !u.CreatedAt.Equal(e.CreatedAt) || u.UpdatedAt.Before(u.CreatedAt) {
		t.Fatalf("UpdateEmployee filled Version %d, CreatedAt %v (want %v), UpdatedAt %v", u.Version, u.CreatedAt, e.CreatedAt, u.UpdatedAt)
	}
	got, err = s.GetEmployee(ctx, c.ID, e.ID)
	must(t, err, "GetEmployee after update")
	same(t, got, &u, "GetEmployee after update")
	_, err = s.FindEmployeeByUserName(ctx, c.ID, "Maja.Holm@Contoso.com")
	wantErr(t, err, directory.ErrNotFound, "old userName after a rename")
	f, err := s.FindEmployeeByUserName(ctx, c.ID, "MAJA.HOLM@FABRIKAM.COM")
	must(t, err, "new userName after a rename")
	if f.ID != e.ID {
		t.Fatalf("rename changed the id: %s", f.ID)
	}
	// The old userName may be reused.
	employee(t, s, c.ID, "maja.holm@contoso.com", "")

	// Update with an unknown Source is refused; an empty Source becomes local.
	bad := u
	bad.Source = "ldap"
	wantErr(t, s.UpdateEmployee(ctx, &bad), directory.ErrInvalid, "UpdateEmployee with an unknown source")
	n := &directory.Employee{CompanyID: c.ID, UserName: "nosource@contoso.com"}
	must(t, s.CreateEmployee(ctx, n), "CreateEmployee without source")
	if n.Source != directory.SourceLocal {
		t.Fatalf("empty Source became %q", n.Source)
	}
	tbad := u
	tbad.TerminationDate = "31.01.2027"
	wantErr(t, s.UpdateEmployee(ctx, &tbad), directory.ErrInvalid, "UpdateEmployee with a bad termination date")
}

func testEmployeeNotFound(t *testing.T, s directory.Store) {
	c := company(t, s, "notfound")
	_, err := s.GetEmployee(ctx, c.ID, "nope")
	wantErr(t, err, directory.ErrNotFound, "GetEmployee")
	_, err = s.FindEmployeeByUserName(ctx, c.ID, "nobody@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByUserName")
	_, err = s.FindEmployeeByUserName(ctx, c.ID, "")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByUserName of empty")
	_, err = s.FindEmployeeByEmail(ctx, c.ID, "nobody@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByEmail")
	_, err = s.FindEmployeeByObjectID(ctx, c.ID, "0000")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByObjectID")
	list, err := s.FindEmployeesByExternalID(ctx, c.ID, "nobody")
	must(t, err, "FindEmployeesByExternalID")
	if len(list) != 0 {
		t.Fatalf("FindEmployeesByExternalID of nobody = %v", list)
	}
	err = s.UpdateEmployee(ctx, &directory.Employee{ID: "nope", CompanyID: c.ID, UserName: "x"})
	wantErr(t, err, directory.ErrNotFound, "UpdateEmployee of a missing employee")
	wantErr(t, s.BindObjectID(ctx, c.ID, "nope", "oid"), directory.ErrNotFound, "BindObjectID of a missing employee")
	// Binding is first-come: an employee bound to one object id is never
	// silently rebound to another, and one object id binds one employee.
	b1 := employee(t, s, c.ID, "bind-one@contoso.com", "bind-one@contoso.com")
	b2 := employee(t, s, c.ID, "bind-two@contoso.com", "bind-two@contoso.com")
	must(t, s.BindObjectID(ctx, c.ID, b1.ID, "oid-first"), "BindObjectID of an unbound employee")
	must(t, s.BindObjectID(ctx, c.ID, b1.ID, "oid-first"), "BindObjectID of the id it already has")
	wantConflict(t, s.BindObjectID(ctx, c.ID, b1.ID, "oid-second"), "entraObjectId", "BindObjectID over another object id")
	wantConflict(t, s.BindObjectID(ctx, c.ID, b2.ID, "oid-first"), "entraObjectId", "BindObjectID of an id another employee holds")
	if got, err := s.GetEmployee(ctx, c.ID, b1.ID); err != nil || got.EntraObjectID != "oid-first" {
		t.Fatalf("after refused rebinds: %v %v", got, err)
	}
	// Racing first binds of one employee: exactly one object id wins.
	var wg sync.WaitGroup
	var wins atomic.Int32
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.BindObjectID(ctx, c.ID, b2.ID, fmt.Sprintf("oid-race-%d", i)) == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if got, err := s.GetEmployee(ctx, c.ID, b2.ID); err != nil || wins.Load() != 1 || !strings.HasPrefix(got.EntraObjectID, "oid-race-") {
		t.Fatalf("8 racing binds: %d won, bound to %q (%v); want exactly 1", wins.Load(), got.EntraObjectID, err)
	}
	// An admin's explicit rebind (UpdateEmployee) is what changes a bound id.
	u, err := s.GetEmployee(ctx, c.ID, b1.ID)
	must(t, err, "get")
	u.EntraObjectID = "oid-rebound"
	must(t, s.UpdateEmployee(ctx, u), "rebind by UpdateEmployee")
	must(t, s.BindObjectID(ctx, c.ID, b1.ID, "oid-rebound"), "BindObjectID after the rebind")
	err = s.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID + 1000, UserName: "x"})
	if err == nil {
		t.Fatal("CreateEmployee in a missing company succeeded")
	}
}

func testCaseInsensitiveConflicts(t *testing.T, s directory.Store) {
	c := company(t, s, "conflicts")
	a := employee(t, s, c.ID, "Maja.Holm@Contoso.com", "Maja.Holm@Contoso.com")

	err := s.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: " maja.holm@contoso.com ", Email: "other@contoso.com"})
	wantConflict(t, err, "userName", "userName differing in case and spaces")
	err = s.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: "other@contoso.com", Email: " maja.holm@contoso.com "})
	wantConflict(t, err, "email", "email differing in case and spaces")

	for _, v := range []string{"maja.holm@contoso.com", " MAJA.HOLM@CONTOSO.COM ", "Maja.Holm@Contoso.com\t"} {
		got, err := s.FindEmployeeByUserName(ctx, c.ID, v)
		must(t, err, "FindEmployeeByUserName(%q)", v)
		if got.ID != a.ID || got.UserName != "Maja.Holm@Contoso.com" {
			t.Fatalf("FindEmployeeByUserName(%q) = %s %q, want the stored value as received", v, got.ID, got.UserName)
		}
		got, err = s.FindEmployeeByEmail(ctx, c.ID, v)
		must(t, err, "FindEmployeeByEmail(%q)", v)
		if got.ID != a.ID {
			t.Fatalf("FindEmployeeByEmail(%q) = %s", v, got.ID)
		}
	}
	// Substring or other characters do not match.
	_, err = s.FindEmployeeByUserName(ctx, c.ID, "maja.holm@contoso.co")
	wantErr(t, err, directory.ErrNotFound, "prefix of a userName")
	_, err = s.FindEmployeeByUserName(ctx, c.ID, "maja_holm@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "userName with '_' for '.'")

	// Update into someone else's keys conflicts; changing one's own case does not.
	b := employee(t, s, c.ID, "b@contoso.com", "b@contoso.com")
	u := *b
	u.UserName = "MAJA.holm@contoso.com"
	wantConflict(t, s.UpdateEmployee(ctx, &u), "userName", "UpdateEmployee onto a taken userName")
	u = *b
	u.Email = "MAJA.holm@contoso.com"
	wantConflict(t, s.UpdateEmployee(ctx, &u), "email", "UpdateEmployee onto a taken email")
	u = *a
	u.UserName, u.Email = "MAJA.HOLM@contoso.com", "maja.holm@CONTOSO.com"
	must(t, s.UpdateEmployee(ctx, &u), "changing the case of one's own keys")

	// A soft-deleted (inactive) employee keeps both reserved.
	u.Active, u.TerminationDate = false, "2026-11-25"
	must(t, s.UpdateEmployee(ctx, &u), "soft delete")
	err = s.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: "maja.holm@contoso.com"})
	wantConflict(t, err, "userName", "userName of a soft-deleted employee")

	// Empty userName/email are not keys.
	employee(t, s, c.ID, "", "")
	employee(t, s, c.ID, "", "")
	employee(t, s, c.ID, "only-name@contoso.com", "")
	employee(t, s, c.ID, "only-name-2@contoso.com", "  ")
}

func testNonASCIIFolding(t *testing.T, s directory.Store) {
	c := company(t, s, "unicode")
	a := employee(t, s, c.ID, "Ärzte.Team@Klinik-Süd.de", "ÉLODIE.ÇA@EXEMPLE.FR")
	for _, v := range []string{"ärzte.team@klinik-süd.de", "ÄRZTE.TEAM@KLINIK-SÜD.DE", " Ärzte.team@KLINIK-süd.de "} {
		got, err := s.FindEmployeeByUserName(ctx, c.ID, v)
		must(t, err, "FindEmployeeByUserName(%q)", v)
		if got.ID != a.ID {
			t.Fatalf("FindEmployeeByUserName(%q) = %s", v, got.ID)
		}
	}
	for _, v := range []string{"élodie.ça@exemple.fr", "Élodie.Ça@Exemple.fr"} {
		got, err := s.FindEmployeeByEmail(ctx, c.ID, v)
		must(t, err, "FindEmployeeByEmail(%q)", v)
		if got.ID != a.ID {
			t.Fatalf("FindEmployeeByEmail(%q) = %s", v, got.ID)
		}
	}
	err := s.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: "ÄRZTE.team@klinik-SÜD.de"})
	wantConflict(t, err, "userName", "non-ASCII userName differing in case")
	err = s.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: "x", Email: "élodie.ÇA@exemple.fr"})
	wantConflict(t, err, "email", "non-ASCII email differing in case")
	// Different letters stay different: "arzte" is not "ärzte".
	employee(t, s, c.ID, "Arzte.Team@Klinik-Sud.de", "elodie.ca@exemple.fr")
	// Greek and Cyrillic fold too.
	g := employee(t, s, c.ID, "ΣΩΚΡΆΤΗΣ@παράδειγμα.gr", "ИВАН@пример.рф")
	got, err := s.FindEmployeeByUserName(ctx, c.ID, "σωκράτησ@ΠΑΡΆΔΕΙΓΜΑ.GR")
	must(t, err, "Greek userName in other case")
	if got.ID != g.ID {
		t.Fatalf("Greek userName matched another employee %s", got.ID)
	}
	got, err = s.FindEmployeeByEmail(ctx, c.ID, "иван@ПРИМЕР.РФ")
	must(t, err, "Cyrillic email in other case")
	if got.ID != g.ID {
		t.Fatalf("Cyrillic email matched %s", got.ID)
	}
	// Search folds the same way.
	rows, total, err := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Search: "ÄRZTE", Limit: 10})
	must(t, err, "ListEmployees search")
	if total != 1 || len(rows) != 1 || rows[0].ID != a.ID {
		t.Fatalf("search ÄRZTE: total %d, %v", total, ids(rows))
	}
}

func testHardDeleteFreesKeys(t *testing.T, s directory.Store) {
	c := company(t, s, "harddelete")
	old := employee(t, s, c.ID, "Maja.Holm@Contoso.com", "Maja.Holm@Contoso.com")
	must(t, s.BindObjectID(ctx, c.ID, old.ID, "oid-maja"), "BindObjectID")
	old, _ = s.GetEmployee(ctx, c.ID, old.ID)

	del := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	u := *old
	u.Active, u.TerminationDate, u.DeletedAt = false, "2026-11-25", &del
	must(t, s.UpdateEmployee(ctx, &u), "hard delete")

	got, err := s.GetEmployee(ctx, c.ID, old.ID)
	must(t, err, "GetEmployee of a hard-deleted employee")
	if got.Visible() || got.DeletedAt == nil || !got.DeletedAt.Equal(del) {
		t.Fatalf("hard-deleted employee: DeletedAt %v", got.DeletedAt)
	}
	_, err = s.FindEmployeeByUserName(ctx, c.ID, "maja.holm@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByUserName of a hard-deleted employee")
	_, err = s.FindEmployeeByEmail(ctx, c.ID, "maja.holm@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByEmail of a hard-deleted employee")
	_, err = s.FindEmployeeByObjectID(ctx, c.ID, "oid-maja")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByObjectID of a hard-deleted employee")
	wantErr(t, s.BindObjectID(ctx, c.ID, old.ID, "oid-other"), directory.ErrNotFound, "BindObjectID on a hard-deleted employee")

	// A new employee with the same keys is distinct.
	n := employee(t, s, c.ID, "maja.holm@contoso.com", "MAJA.HOLM@contoso.com")
	if n.ID == old.ID {
		t.Fatal("the new employee reused the hard-deleted id")
	}
	got, err = s.FindEmployeeByUserName(ctx, c.ID, "Maja.Holm@Contoso.com")
	must(t, err, "FindEmployeeByUserName after re-create")
	if got.ID != n.ID {
		t.Fatalf("found %s, want the new employee %s", got.ID, n.ID)
	}
	// The object id is free again too (a purged Entra user re-provisioned).
	must(t, s.BindObjectID(ctx, c.ID, n.ID, "oid-maja"), "BindObjectID of a hard-deleted employee's object id")

	rows, total, err := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Limit: 10})
	must(t, err, "ListEmployees")
	if total != 1 || len(rows) != 1 || rows[0].ID != n.ID {
		t.Fatalf("ListEmployees without deleted: total %d, %v", total, ids(rows))
	}
	rows, total, err = s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, IncludeDeleted: true, Limit: 10})
	must(t, err, "ListEmployees with deleted")
	if total != 2 || len(rows) != 2 {
		t.Fatalf("ListEmployees with deleted: total %d, %v", total, ids(rows))
	}

	// Un-deleting the old record now conflicts with the new one.
	back := *got
	back.ID, back.DeletedAt = old.ID, nil
	back.EntraObjectID = ""
	err = s.UpdateEmployee(ctx, &back)
	wantErr(t, err, directory.ErrConflict, "un-deleting onto a reused userName")
}

func testObjectIDBinding(t *testing.T, s directory.Store) {
	c := company(t, s, "objectid")
	other := company(t, s, "objectid2")
	a := employee(t, s, c.ID, "a@contoso.com", "")
	b := employee(t, s, c.ID, "b@contoso.com", "")
	x := employee(t, s, other.ID, "a@contoso.com", "")

	must(t, s.BindObjectID(ctx, c.ID, a.ID, "oid-1"), "BindObjectID")
	got, err := s.FindEmployeeByObjectID(ctx, c.ID, "oid-1")
	must(t, err, "FindEmployeeByObjectID")
	if got.ID != a.ID || got.EntraObjectID != "oid-1" || got.Version != a.Version+1 {
		t.Fatalf("after BindObjectID: %+v", got)
	}
	wantConflict(t, s.BindObjectID(ctx, c.ID, b.ID, "oid-1"), "entraObjectId", "binding a taken object id")
	// Through the full update as well.
	ub := *b
	ub.EntraObjectID = "oid-1"
	wantConflict(t, s.UpdateEmployee(ctx, &ub), "entraObjectId", "UpdateEmployee onto a taken object id")
	// Re-binding the same employee to the same id is fine.
	must(t, s.BindObjectID(ctx, c.ID, a.ID, "oid-1"), "BindObjectID again")
	// Another company may hold the same object id (one tenant, several companies).
	must(t, s.BindObjectID(ctx, other.ID, x.ID, "oid-1"), "same object id in another company")
	got, err = s.FindEmployeeByObjectID(ctx, other.ID, "oid-1")
	must(t, err, "FindEmployeeByObjectID in the other company")
	if got.ID != x.ID {
		t.Fatalf("other company's lookup returned %s", got.ID)
	}
	wantErr(t, s.BindObjectID(ctx, c.ID, a.ID, ""), directory.ErrInvalid, "BindObjectID with an empty id")
	wantErr(t, s.BindObjectID(ctx, other.ID, a.ID, "oid-2"), directory.ErrNotFound, "BindObjectID through another company")
}

func testExternalID(t *testing.T, s directory.Store) {
	c := company(t, s, "externalid")
	a := &directory.Employee{CompanyID: c.ID, UserName: "a@contoso.com", ExternalID: "majah"}
	b := &directory.Employee{CompanyID: c.ID, UserName: "b@contoso.com", ExternalID: "majah"}
	d := &directory.Employee{CompanyID: c.ID, UserName: "d@contoso.com", ExternalID: "MajaH"}
	for _, e := range []*directory.Employee{a, b, d} {
		must(t, s.CreateEmployee(ctx, e), "CreateEmployee")
	}
	list, err := s.FindEmployeesByExternalID(ctx, c.ID, "majah")
	must(t, err, "FindEmployeesByExternalID")
	sameIDs(t, list, []string{a.ID, b.ID}, "FindEmployeesByExternalID (exact match, oldest first)")
	del := time.Now()
	ub := *b
	ub.DeletedAt = &del
	must(t, s.UpdateEmployee(ctx, &ub), "hard delete")
	list, err = s.FindEmployeesByExternalID(ctx, c.ID, "majah")
	must(t, err, "FindEmployeesByExternalID")
	sameIDs(t, list, []string{a.ID}, "FindEmployeesByExternalID without the hard-deleted one")
}

func testManagers(t *testing.T, s directory.Store) {
	c := company(t, s, "managers")
	other := company(t, s, "managers2")
	boss := employee(t, s, c.ID, "boss@contoso.com", "")
	mid := &directory.Employee{CompanyID: c.ID, UserName: "mid@contoso.com", ManagerID: boss.ID}
	must(t, s.CreateEmployee(ctx, mid), "CreateEmployee with a manager")
	r1 := &directory.Employee{CompanyID: c.ID, UserName: "r1@contoso.com", ManagerID: mid.ID}
	r2 := &directory.Employee{CompanyID: c.ID, UserName: "r2@contoso.com", ManagerRef: "ext-77"}
	r3 := &directory.Employee{CompanyID: c.ID, UserName: "r3@contoso.com", ManagerRef: "ext-77"}
	for _, e := range []*directory.Employee{r1, r2, r3} {
		must(t, s.CreateEmployee(ctx, e), "CreateEmployee %s", e.UserName)
	}
	list, err := s.ListReports(ctx, c.ID, mid.ID)
	must(t, err, "ListReports")
	sameIDs(t, list, []string{r1.ID}, "ListReports(mid)")
	list, err = s.ListReports(ctx, c.ID, boss.ID)
	must(t, err, "ListReports")
	sameIDs(t, list, []string{mid.ID}, "ListReports(boss)")
	list, err = s.ListByManagerRef(ctx, c.ID, "ext-77")
	must(t, err, "ListByManagerRef")
	sameIDs(t, list, []string{r2.ID, r3.ID}, "ListByManagerRef")
	list, _ = s.ListByManagerRef(ctx, other.ID, "ext-77")
	sameIDs(t, list, nil, "ListByManagerRef through another company")

	// The reference resolves: r2 no longer waits for it.
	u := *r2
	u.ManagerID = boss.ID
	must(t, s.UpdateEmployee(ctx, &u), "resolve manager")
	list, _ = s.ListByManagerRef(ctx, c.ID, "ext-77")
	sameIDs(t, list, []string{r3.ID}, "ListByManagerRef after resolving r2")
	list, _ = s.ListReports(ctx, c.ID, boss.ID)
	sameIDs(t, list, []string{mid.ID, r2.ID}, "ListReports(boss) after resolving r2")

	// Cycles and foreign managers are refused.
	ub := *boss
	ub.ManagerID = boss.ID
	wantErr(t, s.UpdateEmployee(ctx, &ub), directory.ErrInvalid, "own manager")
	ub.ManagerID = r1.ID // r1 -> mid -> boss
	wantErr(t, s.UpdateEmployee(ctx, &ub), directory.ErrInvalid, "manager cycle over three")
	ub.ManagerID = "no-such-employee"
	wantErr(t, s.UpdateEmployee(ctx, &ub), directory.ErrInvalid, "unknown manager")
	foreign := employee(t, s, other.ID, "f@contoso.com", "")
	ub.ManagerID = foreign.ID
	wantErr(t, s.UpdateEmployee(ctx, &ub), directory.ErrInvalid, "manager from another company")
	got, _ := s.GetEmployee(ctx, c.ID, boss.ID)
	if got.ManagerID != "" || got.Version != boss.Version {
		t.Fatalf("a refused manager change was written: %+v", got)
	}

	// Hard-deleted reports are not listed; clearing the manager unlinks.
	del := time.Now()
	ur := *r1
	ur.DeletedAt = &del
	must(t, s.UpdateEmployee(ctx, &ur), "hard delete r1")
	list, _ = s.ListReports(ctx, c.ID, mid.ID)
	sameIDs(t, list, nil, "ListReports without hard-deleted reports")
	um := *mid
	um.ManagerID = ""
	must(t, s.UpdateEmployee(ctx, &um), "clear manager")
	list, _ = s.ListReports(ctx, c.ID, boss.ID)
	sameIDs(t, list, []string{r2.ID}, "ListReports(boss) after clearing mid's manager")
}

func testListEmployees(t *testing.T, s directory.Store) {
	c := company(t, s, "listing")
	var all []string
	for i := range 23 {
		e := &directory.Employee{CompanyID: c.ID, UserName: fmt.Sprintf("user%02d@contoso.com", i),
			GivenName: fmt.Sprintf("Given%02d", i), FamilyName: "Family", Active: i%3 != 0}
		if i == 7 {
			e.DisplayName = "Ole 100% Olsen"
		}
		must(t, s.CreateEmployee(ctx, e), "CreateEmployee %d", i)
		all = append(all, e.ID)
	}
	full, total, err := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Limit: 100})
	must(t, err, "ListEmployees")
	if total != 23 || len(full) != 23 {
		t.Fatalf("ListEmployees: total %d, %d rows, want 23", total, len(full))
	}
	for i := 1; i < len(full); i++ {
		p, q := full[i-1], full[i]
		if q.CreatedAt.Before(p.CreatedAt) || q.CreatedAt.Equal(p.CreatedAt) && q.ID < p.ID {
			t.Fatalf("ListEmployees not in (created_at, id) order at %d", i)
		}
	}
	order := ids(full)
	// Pages of 5 give the same sequence, twice over.
	for round := range 2 {
		var paged []string
		for off := 0; ; off += 5 {
			rows, total, err := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Offset: off, Limit: 5})
			must(t, err, "ListEmployees page at %d", off)
			if total != 23 {
				t.Fatalf("page total %d", total)
			}
			if len(rows) == 0 {
				break
			}
			paged = append(paged, ids(rows)...)
		}
		if strings.Join(paged, ",") != strings.Join(order, ",") {
			t.Fatalf("round %d: paging gave %v, want %v", round, paged, order)
		}
	}
	if len(order) != len(all) {
		t.Fatal("not every employee listed")
	}
	rows, total, err := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Limit: 0})
	must(t, err, "ListEmployees count only")
	if total != 23 || len(rows) != 0 {
		t.Fatalf("Limit 0: total %d, %d rows; want 23 and none", total, len(rows))
	}
	rows, total, _ = s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Offset: 100, Limit: 5})
	if total != 23 || len(rows) != 0 {
		t.Fatalf("offset past the end: total %d, %d rows", total, len(rows))
	}
	active, inactive := true, false
	_, total, _ = s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Active: &active, Limit: 100})
	if total != 15 {
		t.Fatalf("active total %d, want 15", total)
	}
	rows, total, _ = s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Active: &inactive, Limit: 100})
	if total != 8 || len(rows) != 8 || rows[0].Active {
		t.Fatalf("inactive total %d", total)
	}
	// Search: case-insensitive substring of names, userName or email;
	// LIKE wildcards in the search are literal.
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"GIVEN1", 10}, {"user05@", 1}, {"CONTOSO.COM", 23}, {"family", 23}, {"100%", 1}, {"%", 1},
		{"_", 0}, {"given_1", 0}, {"nobody", 0}, {"ole 100", 1},
	} {
		_, total, err := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Search: tc.q, Limit: 100})
		must(t, err, "search %q", tc.q)
		if total != tc.want {
			t.Fatalf("search %q: total %d, want %d", tc.q, total, tc.want)
		}
	}
	_, _, err = s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Offset: -1, Limit: 5})
	wantErr(t, err, directory.ErrInvalid, "negative offset")
}

func testCompanyIsolation(t *testing.T, s directory.Store) {
	a := company(t, s, "alpha")
	b := company(t, s, "beta")
	ea := employee(t, s, a.ID, "shared@contoso.com", "shared@contoso.com")
	must(t, s.BindObjectID(ctx, a.ID, ea.ID, "oid-shared"), "BindObjectID")
	ea, _ = s.GetEmployee(ctx, a.ID, ea.ID)

	_, err := s.GetEmployee(ctx, b.ID, ea.ID)
	wantErr(t, err, directory.ErrNotFound, "GetEmployee through another company")
	_, err = s.FindEmployeeByUserName(ctx, b.ID, "shared@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByUserName through another company")
	_, err = s.FindEmployeeByEmail(ctx, b.ID, "shared@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByEmail through another company")
	_, err = s.FindEmployeeByObjectID(ctx, b.ID, "oid-shared")
	wantErr(t, err, directory.ErrNotFound, "FindEmployeeByObjectID through another company")
	_, total, _ := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: b.ID, IncludeDeleted: true, Limit: 10})
	if total != 0 {
		t.Fatalf("company B lists %d employees", total)
	}
	moved := *ea
	moved.CompanyID = b.ID
	wantErr(t, s.UpdateEmployee(ctx, &moved), directory.ErrNotFound, "UpdateEmployee through another company")

	// The same keys are free in company B.
	eb := employee(t, s, b.ID, "SHARED@contoso.com", "shared@CONTOSO.com")
	got, err := s.FindEmployeeByUserName(ctx, a.ID, "shared@contoso.com")
	must(t, err, "FindEmployeeByUserName in A")
	if got.ID != ea.ID {
		t.Fatalf("A's lookup returned B's employee %s", got.ID)
	}
	got, _ = s.FindEmployeeByUserName(ctx, b.ID, "shared@contoso.com")
	if got.ID != eb.ID {
		t.Fatalf("B's lookup returned %s", got.ID)
	}
	// A manager in A cannot be set on B's employee; approvers neither.
	ub := *eb
	ub.ManagerID = ea.ID
	wantErr(t, s.UpdateEmployee(ctx, &ub), directory.ErrInvalid, "cross-company manager")
	if err := s.AddDepartmentApprover(ctx, b.ID, "IT", ea.ID); err == nil {
		t.Fatal("AddDepartmentApprover with another company's employee succeeded")
	}
}

func testInTx(t *testing.T, s directory.Store) {
	boom := errors.New("boom")
	// Rollback: nothing fn wrote is kept.
	err := s.InTx(ctx, func(tx directory.Store) error {
		c := &directory.Company{Slug: "rolledback", Name: "x"}
		if err := tx.CreateCompany(ctx, c); err != nil {
			return err
		}
		e := &directory.Employee{CompanyID: c.ID, UserName: "a@contoso.com"}
		if err := tx.CreateEmployee(ctx, e); err != nil {
			return err
		}
		// Reads inside see the writes.
		if _, err := tx.FindEmployeeByUserName(ctx, c.ID, "A@contoso.com"); err != nil {
			return fmt.Errorf("read inside the transaction: %w", err)
		}
		if err := tx.AppendAudit(ctx, &directory.AuditEntry{CompanyID: c.ID, Actor: "cli", Action: "x"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want fn's error", err)
	}
	_, err = s.GetCompany(ctx, "rolledback")
	wantErr(t, err, directory.ErrNotFound, "company written in a rolled-back transaction")

	// Rollback after a failed statement, too.
	c := company(t, s, "tx")
	employee(t, s, c.ID, "taken@contoso.com", "")
	err = s.InTx(ctx, func(tx directory.Store) error {
		if err := tx.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: "first@contoso.com"}); err != nil {
			return err
		}
		return tx.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: "TAKEN@contoso.com"})
	})
	wantConflict(t, err, "userName", "conflict inside InTx")
	_, err = s.FindEmployeeByUserName(ctx, c.ID, "first@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "first write of a transaction that failed later")

	// Commit, with a nested InTx that runs in the same transaction.
	var id string
	err = s.InTx(ctx, func(tx directory.Store) error {
		e := &directory.Employee{CompanyID: c.ID, UserName: "committed@contoso.com"}
		if err := tx.CreateEmployee(ctx, e); err != nil {
			return err
		}
		id = e.ID
		if _, err := tx.PinIssuer(ctx, c.ID, "https://sts.windows.net/x/"); err != nil {
			return err
		}
		return tx.InTx(ctx, func(inner directory.Store) error {
			_, err := inner.GetEmployee(ctx, c.ID, id)
			return err
		})
	})
	must(t, err, "InTx commit")
	got, err := s.FindEmployeeByUserName(ctx, c.ID, "committed@contoso.com")
	must(t, err, "employee written in a committed transaction")
	if got.ID != id {
		t.Fatalf("committed employee id %s, want %s", got.ID, id)
	}
	cc, _ := s.GetCompanyByID(ctx, c.ID)
	if cc.PinnedIssuer == "" {
		t.Fatal("pin written in a committed transaction is missing")
	}

	// A nested failure rolls back the whole outer transaction.
	err = s.InTx(ctx, func(tx directory.Store) error {
		if err := tx.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: "outer@contoso.com"}); err != nil {
			return err
		}
		return tx.InTx(ctx, func(inner directory.Store) error { return boom })
	})
	wantErr(t, err, boom, "nested InTx error")
	_, err = s.FindEmployeeByUserName(ctx, c.ID, "outer@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "outer write after a nested failure")

	// A panic rolls back and propagates.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic inside InTx was swallowed")
			}
		}()
		_ = s.InTx(ctx, func(tx directory.Store) error {
			_ = tx.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: "panic@contoso.com"})
			panic("boom")
		})
	}()
	_, err = s.FindEmployeeByUserName(ctx, c.ID, "panic@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "write before a panic")
	// The store still works after all of that.
	employee(t, s, c.ID, "after@contoso.com", "")
}

func testConcurrentCreate(t *testing.T, s directory.Store) {
	c := company(t, s, "concurrent")
	const n = 8
	variants := []string{"Maja.Holm@Contoso.com", " maja.holm@contoso.com ", "MAJA.HOLM@CONTOSO.COM", "maja.Holm@contoso.com"}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.CreateEmployee(ctx, &directory.Employee{CompanyID: c.ID, UserName: variants[i%len(variants)], Email: fmt.Sprintf("m%d@contoso.com", i)})
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, directory.ErrConflict):
			wantConflict(t, err, "userName", "racing create %d", i)
		default:
			t.Fatalf("racing create %d: %v (want success or ErrConflict only)", i, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d racing creates of one userName succeeded, want exactly 1", ok)
	}

	// Many writers and readers at once: every distinct write succeeds.
	const m = 24
	errs = make([]error, m)
	for i := range m {
		wg.Add(2)
		go func() {
			defer wg.Done()
			e := &directory.Employee{CompanyID: c.ID, UserName: fmt.Sprintf("w%d@contoso.com", i)}
			if err := s.CreateEmployee(ctx, e); err != nil {
				errs[i] = err
				return
			}
			e.Title = "updated"
			errs[i] = s.UpdateEmployee(ctx, e)
		}()
		go func() {
			defer wg.Done()
			if _, _, err := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, Limit: 10}); err != nil {
				t.Errorf("concurrent ListEmployees: %v", err)
			}
			if err := s.AppendAudit(ctx, &directory.AuditEntry{CompanyID: c.ID, Actor: "scim", Action: "employee.update"}); err != nil {
				t.Errorf("concurrent AppendAudit: %v", err)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		must(t, err, "concurrent writer %d", i)
	}
	_, total, _ := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID})
	if total != m+1 {
		t.Fatalf("%d employees after concurrent writes, want %d", total, m+1)
	}
	// Concurrent transactions that read then write do not deadlock.
	errs = make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.InTx(ctx, func(tx directory.Store) error {
				e, err := tx.FindEmployeeByUserName(ctx, c.ID, "maja.holm@contoso.com")
				if err != nil {
					return err
				}
				e.PayrollNumber = fmt.Sprint(i)
				return tx.UpdateEmployee(ctx, e)
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		must(t, err, "read-then-write transaction %d", i)
	}
	e, _ := s.FindEmployeeByUserName(ctx, c.ID, "maja.holm@contoso.com")
	if e.Version != 1+n {
		t.Fatalf("Version after %d serialised updates = %d, want %d (lost update)", n, e.Version, 1+n)
	}
}

func testLimits(t *testing.T, s directory.Store) {
	c := company(t, s, "limits")
	long := func(n int) string { return strings.Repeat("ä", n) }
	ok := &directory.Employee{CompanyID: c.ID, UserName: long(256), Email: long(256), GivenName: long(1024), FamilyName: long(1024)}
	must(t, s.CreateEmployee(ctx, ok), "employee at the limits")
	got, _ := s.GetEmployee(ctx, c.ID, ok.ID)
	if got.UserName != ok.UserName || got.GivenName != ok.GivenName {
		t.Fatal("a value at the limit was not stored whole")
	}
	for name, e := range map[string]*directory.Employee{
		"userName 257":     {CompanyID: c.ID, UserName: long(257)},
		"email 257":        {CompanyID: c.ID, UserName: "x1", Email: long(257)},
		"givenName 1025":   {CompanyID: c.ID, UserName: "x2", GivenName: long(1025)},
		"title 1025":       {CompanyID: c.ID, UserName: "x3", Title: long(1025)},
		"invalid UTF-8":    {CompanyID: c.ID, UserName: "x4\xff"},
		"NUL":              {CompanyID: c.ID, UserName: "x5", FamilyName: "a\x00b"},
		"SCIMExtra 1 MiB":  {CompanyID: c.ID, UserName: "x6", SCIMExtra: make([]byte, 1<<20)},
		"no company":       {UserName: "x7"},
		"manager is self":  {ID: "self", CompanyID: c.ID, UserName: "x8", ManagerID: "self"},
		"bad source":       {CompanyID: c.ID, UserName: "x9", Source: "ldap"},
		"termination date": {CompanyID: c.ID, UserName: "x10", TerminationDate: "tomorrow"},
	} {
		wantErr(t, s.CreateEmployee(ctx, e), directory.ErrInvalid, "CreateEmployee with %s", name)
	}
	_, total, _ := s.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: c.ID, IncludeDeleted: true})
	if total != 1 {
		t.Fatalf("refused employees were stored: %d", total)
	}
	u := *got
	u.DisplayName = long(1025)
	wantErr(t, s.UpdateEmployee(ctx, &u), directory.ErrInvalid, "UpdateEmployee with an over-long displayName")
	wantErr(t, s.CreateCompany(ctx, &directory.Company{Slug: "ok", Name: long(1025)}), directory.ErrInvalid, "company name 1025")
	wantErr(t, s.CreateAdmin(ctx, &directory.Admin{CompanyID: c.ID, Email: long(257), PasswordHash: "h"}), directory.ErrInvalid, "admin email 257")
	wantErr(t, s.AddOAuthClient(ctx, &directory.OAuthClient{CompanyID: c.ID, ClientID: "c", RedirectURIs: []string{""}}), directory.ErrInvalid, "empty redirect URI")
	wantErr(t, s.AddSCIMToken(ctx, &directory.SCIMToken{CompanyID: c.ID, Hash: []byte("short")}), directory.ErrInvalid, "token hash not 32 bytes")
}

// --- logs ---

func testSignIns(t *testing.T, s directory.Store) {
	c := company(t, s, "signins")
	other := company(t, s, "signins2")
	base := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for i := range 6 {
		ev := &directory.SignInEvent{CompanyID: c.ID, At: base.Add(time.Duration(i) * time.Minute), Success: i%2 == 0,
			Reason: "ok", NameID: fmt.Sprintf("u%d@contoso.com", i), CertSHA256: "ab", RemoteIP: "192.0.2.1"}
		if !ev.Success {
			ev.Reason, ev.Detail = "unknown_certificate", "thumbprint 0A1B"
		}
		must(t, s.RecordSignIn(ctx, ev), "RecordSignIn")
		if ev.ID == 0 {
			t.Fatal("RecordSignIn did not fill ID")
		}
	}
	must(t, s.RecordSignIn(ctx, &directory.SignInEvent{CompanyID: other.ID, Reason: "x"}), "RecordSignIn other")
	list, err := s.ListSignIns(ctx, c.ID, false, 0)
	must(t, err, "ListSignIns")
	if len(list) != 6 || !list[0].At.Equal(base.Add(5*time.Minute)) || list[0].NameID != "u5@contoso.com" {
		t.Fatalf("ListSignIns: %d events, first %+v; want 6, newest first", len(list), list[0])
	}
	list, _ = s.ListSignIns(ctx, c.ID, true, 0)
	if len(list) != 3 || list[0].Success || list[0].Reason != "unknown_certificate" || list[0].Detail != "thumbprint 0A1B" {
		t.Fatalf("failures only: %+v", list)
	}
	list, _ = s.ListSignIns(ctx, c.ID, false, 2)
	if len(list) != 2 {
		t.Fatalf("limit 2 gave %d", len(list))
	}
	list, _ = s.ListSignIns(ctx, other.ID, false, 0)
	if len(list) != 1 || list[0].At.IsZero() {
		t.Fatalf("other company: %+v (At should default to now)", list)
	}
	wantErr(t, s.RecordSignIn(ctx, &directory.SignInEvent{CompanyID: 0}), directory.ErrInvalid, "RecordSignIn without company")
}

// testPruneSignIns: events older than the limit go, at every company;
// newer ones and the limit's own instant stay.
func testPruneSignIns(t *testing.T, s directory.Store) {
	a, b := company(t, s, "prune-a"), company(t, s, "prune-b")
	limit := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{limit.AddDate(0, -3, 0), limit.Add(-time.Second), limit, limit.Add(time.Hour)} {
		for _, c := range []*directory.Company{a, b} {
			must(t, s.RecordSignIn(ctx, &directory.SignInEvent{CompanyID: c.ID, At: at, Reason: "unknown_employee",
				Detail: fmt.Sprintf("event %d", i)}), "RecordSignIn")
		}
	}
	n, err := s.PruneSignIns(ctx, limit)
	must(t, err, "PruneSignIns")
	if n != 4 {
		t.Fatalf("PruneSignIns deleted %d, want 4 (two per company)", n)
	}
	for _, c := range []*directory.Company{a, b} {
		list, err := s.ListSignIns(ctx, c.ID, false, 0)
		must(t, err, "ListSignIns")
		if len(list) != 2 || list[1].At.Before(limit) {
			t.Fatalf("after pruning %s: %+v", c.Slug, list)
		}
	}
	if n, err := s.PruneSignIns(ctx, limit); err != nil || n != 0 {
		t.Fatalf("second prune: %d %v", n, err)
	}
}

// testRecordLogins: a batch lands whole, in chunks of every size, with
// certificate uses that add up and never move the last use back.
func testRecordLogins(t *testing.T, s directory.Store) {
	c := company(t, s, "batchlogins")
	other := company(t, s, "batchlogins2")
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-batch"), NotBefore: nb, NotAfter: nb.AddDate(3, 0, 0)}
	must(t, s.AddCertificate(ctx, cert, false), "AddCertificate")
	otherCert := &directory.Certificate{CompanyID: other.ID, DER: []byte("der-batch"), NotBefore: nb, NotAfter: nb.AddDate(3, 0, 0)}
	must(t, s.AddCertificate(ctx, otherCert, false), "AddCertificate other")
	before, err := s.GetCompanyByID(ctx, c.ID)
	must(t, err, "GetCompanyByID")

	base := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var events []*directory.SignInEvent
	for i := range 45 { // 32 + 8 + 4 + 1: every chunk path but 16 and 2
		events = append(events, &directory.SignInEvent{CompanyID: c.ID, At: base.Add(time.Duration(i) * time.Second),
			Success: i%3 != 0, Reason: fmt.Sprintf("r%d", i), NameID: fmt.Sprintf("u%d@contoso.com", i), CertSHA256: cert.SHA256})
	}
	events = append(events, &directory.SignInEvent{CompanyID: other.ID, Reason: "other"}) // At zero: now
	uses := []directory.CertificateUse{
		{CompanyID: c.ID, SHA256: cert.SHA256, At: base.Add(time.Minute), Count: 30},
		{CompanyID: c.ID, SHA256: strings.Repeat("e", 64), At: base, Count: 1}, // gone: skipped
	}
	must(t, s.RecordLogins(ctx, events, uses), "RecordLogins")
	list, err := s.ListSignIns(ctx, c.ID, false, 100)
	must(t, err, "ListSignIns")
	if len(list) != 45 || list[0].Reason != "r44" || list[44].Reason != "r0" || list[44].NameID != "u0@contoso.com" {
		t.Fatalf("after the batch: %d events, newest %+v", len(list), list[0])
	}
	fails, _ := s.ListSignIns(ctx, c.ID, true, 100)
	if len(fails) != 15 {
		t.Fatalf("failures: %d, want 15", len(fails))
	}
	if o, _ := s.ListSignIns(ctx, other.ID, false, 0); len(o) != 1 || o[0].At.IsZero() {
		t.Fatalf("other company: %+v", o)
	}

	// An older use adds its count but leaves the last use where it is.
	must(t, s.RecordLogins(ctx, nil, []directory.CertificateUse{{CompanyID: c.ID, SHA256: cert.SHA256, At: base, Count: 2}}), "older use")
	certs, _ := s.ListCertificates(ctx, c.ID, false)
	if certs[0].UseCount != 32 || certs[0].LastUsedAt == nil || !certs[0].LastUsedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("certificate after 30 + 2 uses: %+v", certs[0])
	}
	must(t, s.RecordLogins(ctx, nil, []directory.CertificateUse{{CompanyID: c.ID, SHA256: cert.SHA256, At: base.Add(time.Hour), Count: 1}}), "newer use")
	certs, _ = s.ListCertificates(ctx, c.ID, false)
	if certs[0].UseCount != 33 || !certs[0].LastUsedAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("certificate after a newer use: %+v", certs[0])
	}
	if oc, _ := s.ListCertificates(ctx, other.ID, false); oc[0].UseCount != 0 {
		t.Fatalf("the same certificate in another company was counted: %+v", oc[0])
	}
	if after, _ := s.GetCompanyByID(ctx, c.ID); after.Version != before.Version {
		t.Fatal("RecordLogins bumped the company's Version")
	}

	// One bad event refuses the whole batch: nothing half-written.
	bad := []*directory.SignInEvent{{CompanyID: c.ID, Reason: "fine"}, {CompanyID: c.ID, Reason: strings.Repeat("x", 5000)}}
	wantErr(t, s.RecordLogins(ctx, bad, nil), directory.ErrInvalid, "RecordLogins with an oversized reason")
	wantErr(t, s.RecordLogins(ctx, nil, []directory.CertificateUse{{CompanyID: c.ID, SHA256: cert.SHA256, Count: 0}}), directory.ErrInvalid, "a use counting nothing")
	if list, _ := s.ListSignIns(ctx, c.ID, false, 100); len(list) != 45 {
		t.Fatalf("a refused batch wrote %d events", len(list)-45)
	}
	must(t, s.RecordLogins(ctx, nil, nil), "an empty batch")
}

func testProvisioning(t *testing.T, s directory.Store) {
	c := company(t, s, "provisioning")
	other := company(t, s, "provisioning2")
	base := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	entries := []directory.ProvisioningEntry{
		{Operation: "create", EmployeeID: "e1", UserName: "a@contoso.com", Outcome: "ok", Status: 201, Change: `{"userName":"a@contoso.com"}`},
		{Operation: "update", EmployeeID: "e1", UserName: "a@contoso.com", Outcome: "ok", Status: 200},
		{Operation: "create", EmployeeID: "", UserName: "a@contoso.com", Outcome: "uniqueness", Status: 409},
		{Operation: "update", EmployeeID: "e2", UserName: "b@contoso.com", Outcome: "invalidValue", Status: 400},
	}
	for i := range entries {
		p := entries[i]
		p.CompanyID, p.At = c.ID, base.Add(time.Duration(i)*time.Second)
		must(t, s.AppendProvisioning(ctx, &p), "AppendProvisioning")
		entries[i] = p
	}
	must(t, s.AppendProvisioning(ctx, &directory.ProvisioningEntry{CompanyID: other.ID, Operation: "create", Outcome: "ok"}), "other")
	list, err := s.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: c.ID})
	must(t, err, "ListProvisioning")
	if len(list) != 4 || list[0].ID != entries[3].ID || list[3].ID != entries[0].ID {
		t.Fatalf("ListProvisioning: %+v, want 4 newest first", list)
	}
	same(t, list[3], entries[0], "stored provisioning entry")
	list, _ = s.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: c.ID, Outcome: "error"})
	if len(list) != 2 || list[0].Outcome != "invalidValue" || list[1].Outcome != "uniqueness" {
		t.Fatalf("errors only: %+v", list)
	}
	list, _ = s.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: c.ID, Outcome: "ok"})
	if len(list) != 2 {
		t.Fatalf("ok only: %d", len(list))
	}
	list, _ = s.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: c.ID, EmployeeID: "e1", Limit: 1})
	if len(list) != 1 || list[0].Operation != "update" {
		t.Fatalf("employee e1, limit 1: %+v", list)
	}
	list, _ = s.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: other.ID})
	if len(list) != 1 {
		t.Fatalf("other company sees %d entries", len(list))
	}
}

func testAudit(t *testing.T, s directory.Store) {
	c := company(t, s, "audit")
	other := company(t, s, "audit2")
	must(t, s.AppendAudit(ctx, &directory.AuditEntry{CompanyID: c.ID, Actor: "cli", Action: "sso.configure", Detail: "nameid=mail"}), "AppendAudit")
	a := &directory.AuditEntry{CompanyID: c.ID, Actor: "admin:it@contoso.com", Action: "cert.add"}
	must(t, s.AppendAudit(ctx, a), "AppendAudit")
	if a.ID == 0 || a.At.IsZero() {
		t.Fatalf("AppendAudit filled %+v", a)
	}
	must(t, s.AppendAudit(ctx, &directory.AuditEntry{CompanyID: other.ID, Actor: "cli", Action: "x"}), "AppendAudit other")
	list, err := s.ListAudit(ctx, c.ID, 0)
	must(t, err, "ListAudit")
	if len(list) != 2 || list[0].ID != a.ID || list[1].Detail != "nameid=mail" {
		t.Fatalf("ListAudit: %+v", list)
	}
	list, _ = s.ListAudit(ctx, c.ID, 1)
	if len(list) != 1 {
		t.Fatalf("limit 1: %d", len(list))
	}
	wantErr(t, s.AppendAudit(ctx, &directory.AuditEntry{CompanyID: c.ID, Action: "x"}), directory.ErrInvalid, "AppendAudit without actor")
}

// --- access ---

func hash(b byte) []byte {
	h := make([]byte, 32)
	for i := range h {
		h[i] = b + byte(i)
	}
	return h
}

func testSCIMTokens(t *testing.T, s directory.Store) {
	c := company(t, s, "tokens")
	other := company(t, s, "tokens2")
	t1 := &directory.SCIMToken{CompanyID: c.ID, Hash: hash(1), Label: "Entra"}
	must(t, s.AddSCIMToken(ctx, t1), "AddSCIMToken")
	t2 := &directory.SCIMToken{CompanyID: other.ID, Hash: hash(100), Label: "Entra"}
	must(t, s.AddSCIMToken(ctx, t2), "AddSCIMToken other")
	if t1.ID == 0 || t1.CreatedAt.IsZero() {
		t.Fatalf("AddSCIMToken filled %+v", t1)
	}
	wantErr(t, s.AddSCIMToken(ctx, &directory.SCIMToken{CompanyID: c.ID, Hash: hash(1)}), directory.ErrConflict, "duplicate token hash")

	got, err := s.FindSCIMToken(ctx, hash(1))
	must(t, err, "FindSCIMToken")
	if got.ID != t1.ID || got.CompanyID != c.ID || string(got.Hash) != string(hash(1)) {
		t.Fatalf("FindSCIMToken = %+v", got)
	}
	got, _ = s.FindSCIMToken(ctx, hash(100))
	if got == nil || got.CompanyID != other.ID {
		t.Fatalf("FindSCIMToken of the other company's token = %+v", got)
	}
	_, err = s.FindSCIMToken(ctx, hash(2))
	wantErr(t, err, directory.ErrNotFound, "FindSCIMToken of an unknown hash")
	_, err = s.FindSCIMToken(ctx, nil)
	wantErr(t, err, directory.ErrNotFound, "FindSCIMToken of no hash")

	used := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	must(t, s.TouchSCIMToken(ctx, t1.ID, used), "TouchSCIMToken")
	wantErr(t, s.TouchSCIMToken(ctx, t1.ID+1000, used), directory.ErrNotFound, "TouchSCIMToken of a missing token")
	wantErr(t, s.RevokeSCIMToken(ctx, other.ID, t1.ID, used), directory.ErrNotFound, "RevokeSCIMToken through another company")
	must(t, s.RevokeSCIMToken(ctx, c.ID, t1.ID, used.Add(time.Hour)), "RevokeSCIMToken")
	_, err = s.FindSCIMToken(ctx, hash(1))
	wantErr(t, err, directory.ErrNotFound, "FindSCIMToken of a revoked token")
	must(t, s.RevokeSCIMToken(ctx, c.ID, t1.ID, used.Add(2*time.Hour)), "RevokeSCIMToken again")
	list, err := s.ListSCIMTokens(ctx, c.ID)
	must(t, err, "ListSCIMTokens")
	if len(list) != 1 || list[0].RevokedAt == nil || !list[0].RevokedAt.Equal(used.Add(time.Hour)) ||
		list[0].LastUsed == nil || !list[0].LastUsed.Equal(used) || list[0].Label != "Entra" {
		t.Fatalf("ListSCIMTokens = %+v", list)
	}
}

func testSCIMClients(t *testing.T, s directory.Store) {
	c := company(t, s, "scimclients")
	other := company(t, s, "scimclients2")
	exp := time.Date(2027, 12, 4, 10, 0, 0, 0, time.UTC)
	cl := &directory.SCIMClient{CompanyID: c.ID, ClientID: "scim-abc", Label: "Entra",
		Secrets: []directory.SCIMClientSecret{{Hash: hash(10), ExpiresAt: exp}}}
	must(t, s.AddSCIMClient(ctx, cl), "AddSCIMClient")
	if cl.ID == 0 || cl.CreatedAt.IsZero() || cl.Secrets[0].ID == 0 || cl.Secrets[0].Client != cl.ID || cl.Secrets[0].CompanyID != c.ID {
		t.Fatalf("AddSCIMClient filled %+v", cl)
	}
	wantConflict(t, s.AddSCIMClient(ctx, &directory.SCIMClient{CompanyID: c.ID, ClientID: "scim-abc"}), "clientId", "duplicate client id")
	must(t, s.AddSCIMClient(ctx, &directory.SCIMClient{CompanyID: other.ID, ClientID: "scim-abc",
		Secrets: []directory.SCIMClientSecret{{Hash: hash(20), ExpiresAt: exp}}}), "same client id in another company")
	// A secret hash is unique everywhere; the failed add leaves no client.
	wantConflict(t, s.AddSCIMClient(ctx, &directory.SCIMClient{CompanyID: c.ID, ClientID: "dup-secret",
		Secrets: []directory.SCIMClientSecret{{Hash: hash(10), ExpiresAt: exp}}}), "secret", "duplicate secret hash")
	_, err := s.GetSCIMClient(ctx, c.ID, "dup-secret")
	wantErr(t, err, directory.ErrNotFound, "client whose secret conflicted")
	wantErr(t, s.AddSCIMClient(ctx, &directory.SCIMClient{CompanyID: c.ID, ClientID: "x",
		Secrets: []directory.SCIMClientSecret{{Hash: hash(30)}}}), directory.ErrInvalid, "secret without expiry")
	wantErr(t, s.AddSCIMClient(ctx, &directory.SCIMClient{CompanyID: c.ID, ClientID: "x",
		Secrets: []directory.SCIMClientSecret{{Hash: []byte("short"), ExpiresAt: exp}}}), directory.ErrInvalid, "secret hash not a SHA-256")
	wantErr(t, s.AddSCIMClient(ctx, &directory.SCIMClient{CompanyID: c.ID, ClientID: " "}), directory.ErrInvalid, "empty client id")

	// A second secret (rotation); adding one through another company fails.
	sec2 := &directory.SCIMClientSecret{CompanyID: c.ID, Client: cl.ID, Hash: hash(11), ExpiresAt: exp.AddDate(1, 0, 0)}
	must(t, s.AddSCIMClientSecret(ctx, sec2), "AddSCIMClientSecret")
	if sec2.ID == 0 || sec2.CreatedAt.IsZero() {
		t.Fatalf("AddSCIMClientSecret filled %+v", sec2)
	}
	wantErr(t, s.AddSCIMClientSecret(ctx, &directory.SCIMClientSecret{CompanyID: other.ID, Client: cl.ID, Hash: hash(12), ExpiresAt: exp}),
		directory.ErrNotFound, "AddSCIMClientSecret through another company")
	wantErr(t, s.AddSCIMClientSecret(ctx, &directory.SCIMClientSecret{CompanyID: c.ID, Client: cl.ID + 1000, Hash: hash(12), ExpiresAt: exp}),
		directory.ErrNotFound, "AddSCIMClientSecret to a missing client")

	got, err := s.GetSCIMClient(ctx, c.ID, "scim-abc")
	must(t, err, "GetSCIMClient")
	if got.ID != cl.ID || got.Label != "Entra" || len(got.Secrets) != 2 || got.Secrets[0].ID != cl.Secrets[0].ID ||
		string(got.Secrets[0].Hash) != string(hash(10)) || !got.Secrets[0].ExpiresAt.Equal(exp) ||
		got.Secrets[1].ID != sec2.ID || !got.Secrets[1].ExpiresAt.Equal(exp.AddDate(1, 0, 0)) || got.Secrets[0].LastUsed != nil {
		t.Fatalf("GetSCIMClient = %+v", got)
	}
	_, err = s.GetSCIMClient(ctx, c.ID, "SCIM-ABC")
	wantErr(t, err, directory.ErrNotFound, "client id is matched exactly")
	must(t, s.AddSCIMClient(ctx, &directory.SCIMClient{CompanyID: c.ID, ClientID: "second"}), "client without secrets")
	list, err := s.ListSCIMClients(ctx, c.ID)
	must(t, err, "ListSCIMClients")
	if len(list) != 2 || list[0].ClientID != "scim-abc" || len(list[0].Secrets) != 2 || list[1].ClientID != "second" || len(list[1].Secrets) != 0 {
		t.Fatalf("ListSCIMClients = %+v", list)
	}
	if l2, _ := s.ListSCIMClients(ctx, other.ID); len(l2) != 1 || len(l2[0].Secrets) != 1 || string(l2[0].Secrets[0].Hash) != string(hash(20)) {
		t.Fatalf("ListSCIMClients of the other company = %+v", l2)
	}

	wantErr(t, s.RemoveSCIMClientSecret(ctx, other.ID, sec2.ID), directory.ErrNotFound, "RemoveSCIMClientSecret through another company")
	must(t, s.RemoveSCIMClientSecret(ctx, c.ID, sec2.ID), "RemoveSCIMClientSecret")
	wantErr(t, s.RemoveSCIMClientSecret(ctx, c.ID, sec2.ID), directory.ErrNotFound, "RemoveSCIMClientSecret again")
	got, _ = s.GetSCIMClient(ctx, c.ID, "scim-abc")
	if got == nil || len(got.Secrets) != 1 || got.Secrets[0].ID != cl.Secrets[0].ID {
		t.Fatalf("after removing a secret: %+v", got)
	}
	wantErr(t, s.RemoveSCIMClient(ctx, other.ID, "second"), directory.ErrNotFound, "RemoveSCIMClient through another company")
	must(t, s.RemoveSCIMClient(ctx, c.ID, "scim-abc"), "RemoveSCIMClient")
	_, err = s.GetSCIMClient(ctx, c.ID, "scim-abc")
	wantErr(t, err, directory.ErrNotFound, "removed client")
	wantErr(t, s.RemoveSCIMClient(ctx, c.ID, "scim-abc"), directory.ErrNotFound, "removing again")
	if _, err := s.GetSCIMClient(ctx, other.ID, "scim-abc"); err != nil {
		t.Fatalf("removing in one company removed the other's client: %v", err)
	}
	// The removed client's secret hash is free again.
	must(t, s.AddSCIMClient(ctx, &directory.SCIMClient{CompanyID: c.ID, ClientID: "again",
		Secrets: []directory.SCIMClientSecret{{Hash: hash(10), ExpiresAt: exp}}}), "reuse of a removed secret's hash")
}

func testSCIMAccessTokens(t *testing.T, s directory.Store) {
	c := company(t, s, "scimaccess")
	other := company(t, s, "scimaccess2")
	exp := time.Date(2027, 12, 4, 10, 0, 0, 0, time.UTC)
	cl := &directory.SCIMClient{CompanyID: c.ID, ClientID: "cc", Secrets: []directory.SCIMClientSecret{
		{Hash: hash(40), ExpiresAt: exp}, {Hash: hash(41), ExpiresAt: exp}}}
	must(t, s.AddSCIMClient(ctx, cl), "AddSCIMClient")
	oc := &directory.SCIMClient{CompanyID: other.ID, ClientID: "cc", Secrets: []directory.SCIMClientSecret{{Hash: hash(42), ExpiresAt: exp}}}
	must(t, s.AddSCIMClient(ctx, oc), "AddSCIMClient other")
	s1, s2 := cl.Secrets[0].ID, cl.Secrets[1].ID

	at := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	tok := func(h byte, secret int64, issued time.Time) *directory.SCIMAccessToken {
		return &directory.SCIMAccessToken{Hash: hash(h), CompanyID: c.ID, Client: cl.ID, Secret: secret, IssuedAt: issued, ExpiresAt: issued.Add(time.Hour)}
	}
	a := tok(50, s1, at)
	must(t, s.AddSCIMAccessToken(ctx, a), "AddSCIMAccessToken")
	got, err := s.FindSCIMAccessToken(ctx, hash(50))
	must(t, err, "FindSCIMAccessToken")
	if got.CompanyID != c.ID || got.Client != cl.ID || got.Secret != s1 || !got.IssuedAt.Equal(at) || !got.ExpiresAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("FindSCIMAccessToken = %+v", got)
	}
	if g, _ := s.GetSCIMClient(ctx, c.ID, "cc"); g == nil || g.Secrets[0].LastUsed == nil || !g.Secrets[0].LastUsed.Equal(at) || g.Secrets[1].LastUsed != nil {
		t.Fatalf("secret use not recorded: %+v", g)
	}
	_, err = s.FindSCIMAccessToken(ctx, hash(51))
	wantErr(t, err, directory.ErrNotFound, "unknown access token")
	_, err = s.FindSCIMAccessToken(ctx, []byte("x"))
	wantErr(t, err, directory.ErrNotFound, "malformed hash")
	wantConflict(t, s.AddSCIMAccessToken(ctx, tok(50, s1, at)), "token", "duplicate access token hash")

	// The secret must belong to the client and the company.
	bad := tok(52, oc.Secrets[0].ID, at)
	wantErr(t, s.AddSCIMAccessToken(ctx, bad), directory.ErrNotFound, "token with another company's secret")
	bad = tok(52, s1, at)
	bad.Client = oc.ID
	wantErr(t, s.AddSCIMAccessToken(ctx, bad), directory.ErrNotFound, "token with another client")
	bad = tok(52, s1, at)
	bad.ExpiresAt = at
	wantErr(t, s.AddSCIMAccessToken(ctx, bad), directory.ErrInvalid, "token expiring when issued")
	if _, err := s.FindSCIMAccessToken(ctx, hash(52)); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("a refused token was stored: %v", err)
	}

	// A later issue purges the company's expired tokens (not the other's).
	must(t, s.AddSCIMAccessToken(ctx, &directory.SCIMAccessToken{Hash: hash(60), CompanyID: other.ID, Client: oc.ID, Secret: oc.Secrets[0].ID,
		IssuedAt: at, ExpiresAt: at.Add(time.Hour)}), "other company's token")
	must(t, s.AddSCIMAccessToken(ctx, tok(53, s2, at.Add(2*time.Hour))), "token two hours later")
	_, err = s.FindSCIMAccessToken(ctx, hash(50))
	wantErr(t, err, directory.ErrNotFound, "expired token after a later issue")
	if _, err := s.FindSCIMAccessToken(ctx, hash(60)); err != nil {
		t.Fatalf("another company's expired token was purged: %v", err)
	}

	// Removing a secret ends its tokens only; removing the client ends all.
	must(t, s.AddSCIMAccessToken(ctx, tok(54, s1, at.Add(2*time.Hour))), "token of secret 1")
	must(t, s.RemoveSCIMClientSecret(ctx, c.ID, s1), "RemoveSCIMClientSecret")
	_, err = s.FindSCIMAccessToken(ctx, hash(54))
	wantErr(t, err, directory.ErrNotFound, "token of a removed secret")
	if _, err := s.FindSCIMAccessToken(ctx, hash(53)); err != nil {
		t.Fatalf("removing secret 1 ended secret 2's token: %v", err)
	}
	wantErr(t, s.AddSCIMAccessToken(ctx, tok(55, s1, at.Add(2*time.Hour))), directory.ErrNotFound, "token with a removed secret")
	must(t, s.RemoveSCIMClient(ctx, c.ID, "cc"), "RemoveSCIMClient")
	_, err = s.FindSCIMAccessToken(ctx, hash(53))
	wantErr(t, err, directory.ErrNotFound, "token of a removed client")
	if _, err := s.FindSCIMAccessToken(ctx, hash(60)); err != nil {
		t.Fatalf("removing a client ended another company's token: %v", err)
	}
}

func testAdmins(t *testing.T, s directory.Store) {
	c := company(t, s, "admins")
	other := company(t, s, "admins2")
	e := employee(t, s, c.ID, "it@contoso.com", "")
	a := &directory.Admin{CompanyID: c.ID, Email: "IT.Admin@Contoso.com", PasswordHash: "$argon2id$v=19$...", EmployeeID: e.ID}
	must(t, s.CreateAdmin(ctx, a), "CreateAdmin")
	if a.ID == 0 || a.CreatedAt.IsZero() {
		t.Fatalf("CreateAdmin filled %+v", a)
	}
	wantConflict(t, s.CreateAdmin(ctx, &directory.Admin{CompanyID: c.ID, Email: " it.admin@contoso.com", PasswordHash: "x"}), "email", "admin email in other case")
	must(t, s.CreateAdmin(ctx, &directory.Admin{CompanyID: other.ID, Email: "it.admin@contoso.com", PasswordHash: "x"}), "same email in another company")

	got, err := s.GetAdminByEmail(ctx, c.ID, "it.admin@CONTOSO.COM ")
	must(t, err, "GetAdminByEmail")
	same(t, got, a, "GetAdminByEmail")
	_, err = s.GetAdminByEmail(ctx, c.ID, "nobody@contoso.com")
	wantErr(t, err, directory.ErrNotFound, "GetAdminByEmail of a stranger")

	must(t, s.UpdateAdminPassword(ctx, c.ID, a.ID, "$argon2id$new"), "UpdateAdminPassword")
	got, _ = s.GetAdminByEmail(ctx, c.ID, "it.admin@contoso.com")
	if got.PasswordHash != "$argon2id$new" {
		t.Fatalf("password hash = %q", got.PasswordHash)
	}
	wantErr(t, s.UpdateAdminPassword(ctx, other.ID, a.ID, "x"), directory.ErrNotFound, "UpdateAdminPassword through another company")
	byID, err := s.GetAdmin(ctx, c.ID, a.ID)
	must(t, err, "GetAdmin")
	if byID.Email != a.Email || byID.PasswordHash != "$argon2id$new" || byID.EmployeeID != e.ID {
		t.Fatalf("GetAdmin = %+v", byID)
	}
	_, err = s.GetAdmin(ctx, other.ID, a.ID)
	wantErr(t, err, directory.ErrNotFound, "GetAdmin through another company")
	_, err = s.GetAdmin(ctx, c.ID, a.ID+1000)
	wantErr(t, err, directory.ErrNotFound, "GetAdmin of a missing id")
	wantErr(t, s.UpdateAdminPassword(ctx, c.ID, a.ID, ""), directory.ErrInvalid, "empty password hash")
	if err := s.CreateAdmin(ctx, &directory.Admin{CompanyID: c.ID, Email: "z@contoso.com", PasswordHash: "x", EmployeeID: "missing"}); err == nil {
		t.Fatal("CreateAdmin linked to a missing employee succeeded")
	}
}

func testOAuthClients(t *testing.T, s directory.Store) {
	c := company(t, s, "oauth")
	other := company(t, s, "oauth2")
	cl := &directory.OAuthClient{CompanyID: c.ID, ClientID: "mobile-app", Name: "Mobile",
		RedirectURIs: []string{"com.example.app:/oauth2redirect", "https://app.example.com/cb"}}
	must(t, s.AddOAuthClient(ctx, cl), "AddOAuthClient")
	wantConflict(t, s.AddOAuthClient(ctx, &directory.OAuthClient{CompanyID: c.ID, ClientID: "mobile-app"}), "clientId", "duplicate client id")
	must(t, s.AddOAuthClient(ctx, &directory.OAuthClient{CompanyID: other.ID, ClientID: "mobile-app", RedirectURIs: []string{"x:/y"}}), "same client id elsewhere")
	must(t, s.AddOAuthClient(ctx, &directory.OAuthClient{CompanyID: c.ID, ClientID: "second"}), "client without redirect URIs")

	got, err := s.GetOAuthClient(ctx, c.ID, "mobile-app")
	must(t, err, "GetOAuthClient")
	same(t, got, cl, "GetOAuthClient")
	_, err = s.GetOAuthClient(ctx, c.ID, "Mobile-App")
	wantErr(t, err, directory.ErrNotFound, "client id is matched exactly")
	list, err := s.ListOAuthClients(ctx, c.ID)
	must(t, err, "ListOAuthClients")
	if len(list) != 2 || list[0].ClientID != "mobile-app" || list[1].ClientID != "second" || len(list[1].RedirectURIs) != 0 {
		t.Fatalf("ListOAuthClients = %+v", list)
	}
	must(t, s.RemoveOAuthClient(ctx, c.ID, "mobile-app"), "RemoveOAuthClient")
	_, err = s.GetOAuthClient(ctx, c.ID, "mobile-app")
	wantErr(t, err, directory.ErrNotFound, "removed client")
	wantErr(t, s.RemoveOAuthClient(ctx, c.ID, "mobile-app"), directory.ErrNotFound, "removing again")
	if _, err := s.GetOAuthClient(ctx, other.ID, "mobile-app"); err != nil {
		t.Fatalf("removing in one company removed the other's client: %v", err)
	}
}

func testDepartmentApprovers(t *testing.T, s directory.Store) {
	c := company(t, s, "approvers")
	other := company(t, s, "approvers2")
	a := employee(t, s, c.ID, "a@contoso.com", "")
	b := employee(t, s, c.ID, "b@contoso.com", "")
	must(t, s.AddDepartmentApprover(ctx, c.ID, "Ärzte & Pflege", a.ID), "AddDepartmentApprover")
	must(t, s.AddDepartmentApprover(ctx, c.ID, "ärzte & pflege ", a.ID), "AddDepartmentApprover again (other case)")
	must(t, s.AddDepartmentApprover(ctx, c.ID, "ÄRZTE & PFLEGE", b.ID), "AddDepartmentApprover b")
	must(t, s.AddDepartmentApprover(ctx, c.ID, "IT", b.ID), "AddDepartmentApprover IT")
	list, err := s.ListDepartmentApprovers(ctx, c.ID, "ärzte & pflege")
	must(t, err, "ListDepartmentApprovers")
	if strings.Join(list, ",") != a.ID+","+b.ID {
		t.Fatalf("approvers = %v, want [%s %s]", list, a.ID, b.ID)
	}
	list, _ = s.ListDepartmentApprovers(ctx, other.ID, "ärzte & pflege")
	if len(list) != 0 {
		t.Fatalf("another company sees approvers %v", list)
	}
	list, _ = s.ListDepartmentApprovers(ctx, c.ID, "Sales")
	if len(list) != 0 {
		t.Fatalf("Sales approvers %v", list)
	}
	if err := s.AddDepartmentApprover(ctx, c.ID, "IT", "missing"); err == nil {
		t.Fatal("AddDepartmentApprover of a missing employee succeeded")
	}
	wantErr(t, s.AddDepartmentApprover(ctx, c.ID, " ", a.ID), directory.ErrInvalid, "empty department")

	must(t, s.RemoveDepartmentApprover(ctx, c.ID, "ÄRZTE & Pflege", a.ID), "RemoveDepartmentApprover")
	wantErr(t, s.RemoveDepartmentApprover(ctx, c.ID, "Ärzte & Pflege", a.ID), directory.ErrNotFound, "removing again")
	list, _ = s.ListDepartmentApprovers(ctx, c.ID, "Ärzte & Pflege")
	if strings.Join(list, ",") != b.ID {
		t.Fatalf("after removing a: %v", list)
	}
	deps, err := s.ListApproverDepartments(ctx, c.ID, b.ID)
	must(t, err, "ListApproverDepartments")
	if strings.Join(deps, "|") != "ÄRZTE & PFLEGE|IT" {
		t.Fatalf("departments of b = %q, want the first spelling of each, in order", deps)
	}
	deps, _ = s.ListApproverDepartments(ctx, other.ID, b.ID)
	if len(deps) != 0 {
		t.Fatalf("another company sees departments %v", deps)
	}
	// A hard-deleted employee approves nothing.
	del := time.Now()
	ub := *b
	ub.DeletedAt = &del
	must(t, s.UpdateEmployee(ctx, &ub), "hard delete b")
	list, _ = s.ListDepartmentApprovers(ctx, c.ID, "IT")
	if len(list) != 0 {
		t.Fatalf("hard-deleted approver still listed: %v", list)
	}
}

func testEmployeePasswords(t *testing.T, s directory.Store) {
	c := company(t, s, "passwords")
	other := company(t, s, "passwords2")
	e := employee(t, s, c.ID, "ola@contoso.com", "")
	_, err := s.GetEmployeePassword(ctx, c.ID, e.ID)
	wantErr(t, err, directory.ErrNotFound, "GetEmployeePassword before any is set")
	must(t, s.SetEmployeePassword(ctx, c.ID, e.ID, "$argon2id$one"), "SetEmployeePassword")
	must(t, s.SetEmployeePassword(ctx, c.ID, e.ID, "$argon2id$two"), "SetEmployeePassword again")
	got, err := s.GetEmployeePassword(ctx, c.ID, e.ID)
	must(t, err, "GetEmployeePassword")
	if got != "$argon2id$two" {
		t.Fatalf("password hash = %q, want the last one set", got)
	}
	_, err = s.GetEmployeePassword(ctx, other.ID, e.ID)
	wantErr(t, err, directory.ErrNotFound, "GetEmployeePassword through another company")
	wantErr(t, s.SetEmployeePassword(ctx, other.ID, e.ID, "$argon2id$x"), directory.ErrNotFound, "SetEmployeePassword through another company")
	wantErr(t, s.SetEmployeePassword(ctx, c.ID, "missing", "$argon2id$x"), directory.ErrNotFound, "SetEmployeePassword of a missing employee")
	// The hash is not part of the employee record.
	emp, err := s.GetEmployee(ctx, c.ID, e.ID)
	must(t, err, "GetEmployee")
	if raw, _ := json.Marshal(emp); strings.Contains(string(raw), "argon2id") {
		t.Fatal("the password hash leaks into the Employee")
	}
	// Inside a failed transaction nothing is kept.
	_ = s.InTx(ctx, func(tx directory.Store) error {
		must(t, tx.SetEmployeePassword(ctx, c.ID, e.ID, "$argon2id$rolled-back"), "SetEmployeePassword in tx")
		return errors.New("roll back")
	})
	got, _ = s.GetEmployeePassword(ctx, c.ID, e.ID)
	if got != "$argon2id$two" {
		t.Fatalf("a rolled-back password was kept: %q", got)
	}
	must(t, s.SetEmployeePassword(ctx, c.ID, e.ID, ""), "SetEmployeePassword empty (remove)")
	_, err = s.GetEmployeePassword(ctx, c.ID, e.ID)
	wantErr(t, err, directory.ErrNotFound, "GetEmployeePassword after removal")
}

func signingKey(seq int64, kid string, at time.Time) *directory.SigningKey {
	return &directory.SigningKey{Seq: seq, KID: kid, Algorithm: "ES256", PublicKey: []byte("pub-" + kid),
		PrivateKey: []byte{0, 1, 2, 0xff, byte(seq)}, Sealing: "", CreatedAt: at, SignsFrom: at.Add(time.Hour)}
}

func testSigningKeys(t *testing.T, s directory.Store) {
	keys, err := s.ListSigningKeys(ctx)
	must(t, err, "ListSigningKeys on an empty store")
	if len(keys) != 0 {
		t.Fatalf("empty store lists %d signing keys", len(keys))
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	k2 := signingKey(2, "kid-2", at)
	k2.Sealing = "A256GCM"
	must(t, s.AddSigningKey(ctx, k2), "AddSigningKey 2")
	k1 := signingKey(1, "kid-1", at.Add(-time.Hour))
	must(t, s.AddSigningKey(ctx, k1), "AddSigningKey 1")
	if !k2.CreatedAt.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("AddSigningKey left CreatedAt %v, want it truncated to microseconds", k2.CreatedAt)
	}
	wantConflict(t, s.AddSigningKey(ctx, signingKey(2, "kid-other", at)), "seq", "a second key 2")
	wantConflict(t, s.AddSigningKey(ctx, signingKey(3, "kid-1", at)), "kid", "a reused kid")
	for _, bad := range []*directory.SigningKey{
		signingKey(0, "k0", at), signingKey(-1, "kneg", at), signingKey(4, "", at),
		{Seq: 5, KID: "k5", Algorithm: "ES256", PublicKey: []byte("p"), CreatedAt: at, SignsFrom: at},
		{Seq: 6, KID: "k6", Algorithm: "ES256", PublicKey: []byte("p"), PrivateKey: []byte("q")},
	} {
		wantErr(t, s.AddSigningKey(ctx, bad), directory.ErrInvalid, "AddSigningKey seq %d kid %q", bad.Seq, bad.KID)
	}
	keys, err = s.ListSigningKeys(ctx)
	must(t, err, "ListSigningKeys")
	same(t, keys, []directory.SigningKey{*k1, *k2}, "signing keys by seq")
	must(t, s.DeleteSigningKey(ctx, 1), "DeleteSigningKey 1")
	must(t, s.DeleteSigningKey(ctx, 1), "DeleteSigningKey 1 again")
	must(t, s.DeleteSigningKey(ctx, 99), "DeleteSigningKey of a key that never was")
	keys, err = s.ListSigningKeys(ctx)
	must(t, err, "ListSigningKeys after delete")
	same(t, keys, []directory.SigningKey{*k2}, "signing keys after deleting 1")
	// A deleted seq and kid may be used again.
	must(t, s.AddSigningKey(ctx, signingKey(1, "kid-1", at)), "AddSigningKey 1 after its delete")
}

// testSigningKeysRace: instances racing to add the same next key: exactly
// one wins, the others get a conflict on seq.
func testSigningKeysRace(t *testing.T, s directory.Store) {
	const n = 8
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.AddSigningKey(ctx, signingKey(1, fmt.Sprintf("racer-%d", i), at))
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantConflict(t, err, "seq", "racer %d", i)
	}
	keys, err := s.ListSigningKeys(ctx)
	must(t, err, "ListSigningKeys")
	if won != 1 || len(keys) != 1 {
		t.Fatalf("%d racers won and %d keys are stored; want exactly one", won, len(keys))
	}
}

func testSLOAndTokenEncryptionSettings(t *testing.T, s directory.Store) {
	c := company(t, s, "slo")
	if c.SLOEnabled || c.TokenEncryption != directory.EncryptionOff {
		t.Fatalf("a new company has SLO %v and token encryption %q, want false and off", c.SLOEnabled, c.TokenEncryption)
	}
	c.SLOEnabled, c.TokenEncryption = true, directory.EncryptionRequired
	v := c.Version
	must(t, s.UpdateCompanySettings(ctx, c), "UpdateCompanySettings with SLO and encryption")
	got, err := s.GetCompany(ctx, "slo")
	must(t, err, "GetCompany")
	if !got.SLOEnabled || got.TokenEncryption != directory.EncryptionRequired || got.Version != v+1 {
		t.Fatalf("SLO/encryption not stored: %+v", got)
	}
	bad := *got
	bad.TokenEncryption = "sometimes"
	wantErr(t, s.UpdateCompanySettings(ctx, &bad), directory.ErrInvalid, "UpdateCompanySettings with an unknown encryption policy")
	created := &directory.Company{Slug: "slo-created", Name: "S", SLOEnabled: true, TokenEncryption: directory.EncryptionOptional}
	must(t, s.CreateCompany(ctx, created), "CreateCompany with SLO and encryption")
	got, err = s.GetCompanyByID(ctx, created.ID)
	must(t, err, "GetCompanyByID")
	same(t, got, created, "CreateCompany with SLO and encryption")
}

func testEncryptionKeys(t *testing.T, s directory.Store) {
	c := company(t, s, "enckeys")
	other := company(t, s, "enckeys-other")
	na := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	version := func() int64 {
		got, err := s.GetCompanyByID(ctx, c.ID)
		must(t, err, "GetCompanyByID")
		return got.Version
	}
	v0 := version()
	k1 := &directory.EncryptionKey{CompanyID: c.ID, PrivateKey: []byte("pkcs8-one"), CertDER: []byte("cert-one"), NotAfter: na}
	must(t, s.AddEncryptionKey(ctx, k1), "AddEncryptionKey")
	if k1.ID == 0 || len(k1.SHA1) != 40 || strings.ToUpper(k1.SHA1) != k1.SHA1 || len(k1.SHA256) != 64 || k1.CreatedAt.IsZero() ||
		!k1.NotAfter.Equal(na) || k1.RetiredAt != nil || k1.LastUsedAt != nil || string(k1.PrivateKey) != "pkcs8-one" {
		t.Fatalf("AddEncryptionKey filled %+v", k1)
	}
	if version() != v0+1 {
		t.Fatal("AddEncryptionKey did not bump the company's Version")
	}
	k2 := &directory.EncryptionKey{CompanyID: c.ID, PrivateKey: []byte("pkcs8-two"), CertDER: []byte("cert-two"), NotAfter: na}
	must(t, s.AddEncryptionKey(ctx, k2), "AddEncryptionKey second")
	wantErr(t, s.AddEncryptionKey(ctx, &directory.EncryptionKey{CompanyID: c.ID, CertDER: []byte("x"), NotAfter: na}), directory.ErrInvalid, "AddEncryptionKey without a private key")
	wantErr(t, s.AddEncryptionKey(ctx, &directory.EncryptionKey{CompanyID: c.ID + 1000, PrivateKey: []byte("k"), CertDER: []byte("x"), NotAfter: na}), directory.ErrNotFound, "AddEncryptionKey to a missing company")
	wantConflict(t, s.AddEncryptionKey(ctx, &directory.EncryptionKey{CompanyID: c.ID, PrivateKey: []byte("k"), CertDER: []byte("cert-one"), NotAfter: na}), "encryptionKey", "AddEncryptionKey with a known certificate")

	list, err := s.ListEncryptionKeys(ctx, c.ID, false)
	must(t, err, "ListEncryptionKeys")
	if len(list) != 2 || list[0].SHA256 != k1.SHA256 || list[1].SHA256 != k2.SHA256 || string(list[1].PrivateKey) != "pkcs8-two" || string(list[0].CertDER) != "cert-one" {
		t.Fatalf("ListEncryptionKeys = %+v, want k1 then k2", list)
	}
	if l, _ := s.ListEncryptionKeys(ctx, other.ID, true); len(l) != 0 {
		t.Fatalf("another company lists %d keys", len(l))
	}

	used := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	must(t, s.TouchEncryptionKey(ctx, c.ID, k2.SHA256, used), "TouchEncryptionKey")
	must(t, s.TouchEncryptionKey(ctx, c.ID, k2.SHA256, used.Add(-time.Hour)), "TouchEncryptionKey earlier")
	wantErr(t, s.TouchEncryptionKey(ctx, other.ID, k2.SHA256, used), directory.ErrNotFound, "TouchEncryptionKey of another company's key")
	v1 := version()
	list, _ = s.ListEncryptionKeys(ctx, c.ID, false)
	if list[1].LastUsedAt == nil || !list[1].LastUsedAt.Equal(used) || list[0].LastUsedAt != nil {
		t.Fatalf("after touches: %+v", list)
	}

	at := time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC)
	must(t, s.RetireEncryptionKey(ctx, c.ID, k1.SHA256, at), "RetireEncryptionKey")
	if version() != v1+1 {
		t.Fatal("RetireEncryptionKey did not bump Version")
	}
	must(t, s.RetireEncryptionKey(ctx, c.ID, k1.SHA256, at.Add(time.Hour)), "RetireEncryptionKey again")
	wantErr(t, s.RetireEncryptionKey(ctx, other.ID, k2.SHA256, at), directory.ErrNotFound, "RetireEncryptionKey of another company's key")
	list, _ = s.ListEncryptionKeys(ctx, c.ID, false)
	if len(list) != 1 || list[0].SHA256 != k2.SHA256 {
		t.Fatalf("live keys after retiring k1: %+v", list)
	}
	list, _ = s.ListEncryptionKeys(ctx, c.ID, true)
	if len(list) != 2 || list[0].RetiredAt == nil || !list[0].RetiredAt.Equal(at) {
		t.Fatalf("ListEncryptionKeys(includeRetired) = %+v", list)
	}
}

// testFederationMetadata: the metadata URL and refresh bookkeeping of a
// company, certificate sources (a paste wins over the metadata, never the
// reverse) and MissingSince.
func testFederationMetadata(t *testing.T, s directory.Store) {
	c := company(t, s, "fedmeta")
	other := company(t, s, "fedmeta-other")
	get := func(id int64) *directory.Company {
		got, err := s.GetCompanyByID(ctx, id)
		must(t, err, "GetCompanyByID")
		return got
	}
	if got := get(c.ID); got.MetadataURL != "" || got.Metadata != (directory.MetadataState{}) {
		t.Fatalf("new company has metadata %q %+v", got.MetadataURL, got.Metadata)
	}
	const u = "https://login.microsoftonline.com/t/federationmetadata/2007-06/federationmetadata.xml?appid=a"
	v0 := get(c.ID).Version
	must(t, s.SetMetadataURL(ctx, c.ID, u), "SetMetadataURL")
	got := get(c.ID)
	if got.MetadataURL != u || got.Version != v0+1 {
		t.Fatalf("after SetMetadataURL: url %q version %d (was %d)", got.MetadataURL, got.Version, v0)
	}
	if bySlug, err := s.GetCompany(ctx, c.Slug); err != nil || bySlug.MetadataURL != u {
		t.Fatalf("GetCompany: %v %+v", err, bySlug)
	}
	checked := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	ok := checked.Add(-time.Hour)
	st := directory.MetadataState{ETag: `"abc"`, LastModified: "Fri, 01 May 2026 09:00:00 GMT", CheckedAt: &checked, OKAt: &ok,
		Outcome: "unreachable", Message: "the metadata server did not answer"}
	must(t, s.RecordMetadataRefresh(ctx, c.ID, st), "RecordMetadataRefresh")
	got = get(c.ID)
	if got.Version != v0+1 {
		t.Fatalf("RecordMetadataRefresh bumped Version to %d", got.Version)
	}
	if g := got.Metadata; g.ETag != st.ETag || g.LastModified != st.LastModified || g.Outcome != st.Outcome || g.Message != st.Message ||
		g.CheckedAt == nil || !g.CheckedAt.Equal(checked) || g.OKAt == nil || !g.OKAt.Equal(ok) {
		t.Fatalf("stored metadata state %+v, want %+v", g, st)
	}
	if o := get(other.ID); o.MetadataURL != "" || o.Metadata.Outcome != "" {
		t.Fatalf("another company changed: %+v", o)
	}
	list, err := s.ListCompanies(ctx)
	must(t, err, "ListCompanies")
	for _, l := range list {
		if l.ID == c.ID && (l.MetadataURL != u || l.Metadata.ETag != st.ETag) {
			t.Fatalf("ListCompanies: %+v", l)
		}
	}
	// A new URL forgets the validators and outcome of the old one.
	must(t, s.SetMetadataURL(ctx, c.ID, ""), "SetMetadataURL empty")
	if got := get(c.ID); got.MetadataURL != "" || got.Metadata != (directory.MetadataState{}) {
		t.Fatalf("after removing the URL: %q %+v", got.MetadataURL, got.Metadata)
	}
	wantErr(t, s.SetMetadataURL(ctx, c.ID+1000, u), directory.ErrNotFound, "SetMetadataURL of a missing company")
	wantErr(t, s.RecordMetadataRefresh(ctx, c.ID+1000, st), directory.ErrNotFound, "RecordMetadataRefresh of a missing company")
	wantErr(t, s.SetMetadataURL(ctx, c.ID, strings.Repeat("x", 5000)), directory.ErrInvalid, "an over-long metadata URL")

	// Sources.
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	na := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	pasted := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-paste"), NotBefore: nb, NotAfter: na}
	must(t, s.AddCertificate(ctx, pasted, false), "AddCertificate paste")
	if pasted.Source != directory.CertSourcePaste || pasted.MissingSince != nil {
		t.Fatalf("a certificate added without a source is %q (missing %v), want %q", pasted.Source, pasted.MissingSince, directory.CertSourcePaste)
	}
	meta := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-meta"), NotBefore: nb, NotAfter: na, Source: directory.CertSourceMetadata}
	must(t, s.AddCertificate(ctx, meta, false), "AddCertificate metadata")
	if meta.Source != directory.CertSourceMetadata {
		t.Fatalf("metadata certificate stored as %q", meta.Source)
	}
	wantErr(t, s.AddCertificate(ctx, &directory.Certificate{CompanyID: c.ID, DER: []byte("der-x"), Source: "mail"}, false), directory.ErrInvalid, "an unknown source")
	// The metadata listing a pasted certificate leaves it pasted.
	again := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-paste"), NotBefore: nb, NotAfter: na, Source: directory.CertSourceMetadata}
	must(t, s.AddCertificate(ctx, again, false), "AddCertificate pasted one from metadata")
	if again.Source != directory.CertSourcePaste {
		t.Fatalf("the metadata made a pasted certificate %q", again.Source)
	}

	// MissingSince: set and cleared without a Version bump; a paste clears it.
	v1 := get(c.ID).Version
	since := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	must(t, s.SetCertificateMissing(ctx, c.ID, meta.SHA256, &since), "SetCertificateMissing")
	certsNow := func() map[string]directory.Certificate {
		l, err := s.ListCertificates(ctx, c.ID, true)
		must(t, err, "ListCertificates")
		m := map[string]directory.Certificate{}
		for _, x := range l {
			m[x.SHA256] = x
		}
		return m
	}
	if m := certsNow()[meta.SHA256].MissingSince; m == nil || !m.Equal(since) {
		t.Fatalf("MissingSince = %v, want %v", m, since)
	}
	if get(c.ID).Version != v1 {
		t.Fatal("SetCertificateMissing bumped Version")
	}
	must(t, s.SetCertificateMissing(ctx, c.ID, meta.SHA256, nil), "SetCertificateMissing nil")
	if m := certsNow()[meta.SHA256].MissingSince; m != nil {
		t.Fatalf("MissingSince = %v after clearing", m)
	}
	must(t, s.SetCertificateMissing(ctx, c.ID, meta.SHA256, &since), "SetCertificateMissing again")
	repaste := &directory.Certificate{CompanyID: c.ID, DER: []byte("der-meta"), NotBefore: nb, NotAfter: na}
	must(t, s.AddCertificate(ctx, repaste, false), "paste the metadata certificate")
	if got := certsNow()[meta.SHA256]; got.Source != directory.CertSourcePaste || got.MissingSince != nil {
		t.Fatalf("after pasting a metadata certificate: source %q missing %v", got.Source, got.MissingSince)
	}
	wantErr(t, s.SetCertificateMissing(ctx, c.ID, strings.Repeat("0", 64), &since), directory.ErrNotFound, "SetCertificateMissing of an unknown certificate")
	wantErr(t, s.SetCertificateMissing(ctx, other.ID, meta.SHA256, &since), directory.ErrNotFound, "SetCertificateMissing of another company's certificate")
}
