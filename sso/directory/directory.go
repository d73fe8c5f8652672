// Package directory owns the gateway's durable data model: companies and
// their SSO settings, trusted IdP certificates, employees (the full master
// data Entra provisions), SCIM tokens, local admins, OAuth clients, and the
// logs an admin reads (sign-in failures, provisioning, audit).
//
// It defines the Store interface and its sentinel errors. It imports no
// protocol (SAML, SCIM, OAuth) and no HTTP; implementations live in
// sqlstore (SQLite and PostgreSQL) and every one of them passes the
// conformance suite in storetest.
package directory

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors. Implementations wrap them with %w; callers match with
// errors.Is.
var (
	// ErrNotFound: no such row (for employees: none that is visible, i.e.
	// not hard-deleted, unless the method says otherwise).
	ErrNotFound = errors.New("directory: not found")
	// ErrConflict: a uniqueness rule would break (company slug, employee
	// userName or work email among non-hard-deleted employees of one company,
	// an Entra object id bound to two employees, a duplicate client id...).
	ErrConflict = errors.New("directory: conflict")
	// ErrInvalid: the value breaks a rule the store enforces (empty slug,
	// over-long field, manager cycle...).
	ErrInvalid = errors.New("directory: invalid")
	// ErrUnavailable is wrapped by every error a Store returns because the
	// database gave no answer: unreachable, past its statement deadline, no
	// free connection, shutting down. It is an outage, never an answer:
	// callers must not read it as "not found" or as a refusal.
	ErrUnavailable = errors.New("directory: database unavailable")
)

// ConflictError says which rule a write would break. It matches ErrConflict.
type ConflictError struct {
	Field string // "userName", "email", "entraObjectId", "slug", "clientId", ...
}

func (e *ConflictError) Error() string { return "directory: conflict on " + e.Field }

// Is makes ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ValidSlug reports whether s may be a company slug: 1-63 characters a-z,
// 0-9 and '-', starting with a letter or digit. Slugs are path segments of
// every company URL (/c/{slug}/), so this one rule serves the store, the
// router and the CLI alike.
func ValidSlug(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// SlugRule says ValidSlug's rule to a person.
const SlugRule = "use 1-63 lower-case letters, digits and hyphens, starting with a letter or digit"

// NameIDMode says which employee attribute the SAML NameID is matched with.
type NameIDMode string

const (
	// NameIDUPN matches the NameID against the employee's userName (Entra's
	// user.userprincipalname, the default claim).
	NameIDUPN NameIDMode = "upn"
	// NameIDMail matches the NameID against the employee's work email
	// (Entra's user.mail).
	NameIDMail NameIDMode = "mail"
)

// Valid reports whether m is a known mode.
func (m NameIDMode) Valid() bool { return m == NameIDUPN || m == NameIDMail }

// Company is one customer account. Slug is the stable key used in URLs
// (/c/{slug}/...). Version increases on every change to the company's
// settings or trusted certificates, so caches keyed by (Slug, Version) see
// admin changes without a restart.
type Company struct {
	ID   int64
	Slug string
	Name string

	SSOEnabled bool
	NameIDMode NameIDMode
	// EntraIdentifier is the "Microsoft Entra Identifier" the admin entered
	// (e.g. https://sts.windows.net/<tenant>/). When set, it is enforced as
	// the Issuer. When empty, PinnedIssuer is enforced once set.
	EntraIdentifier string
	// PinnedIssuer is the Issuer of the first valid login when no
	// EntraIdentifier was entered (trust on first use).
	PinnedIssuer string
	// IDPLoginURL is where SP-initiated logins are sent (Entra: "Login
	// URL", https://login.microsoftonline.com/<tenant>/saml2). When empty it
	// is derived from EntraIdentifier or PinnedIssuer.
	IDPLoginURL string
	// CertAutoRetireDays turns on automatic certificate retirement (0 =
	// off): a trusted certificate that signed logins before, but none for
	// this many days while another trusted certificate signed the later
	// ones, is retired (web applies the rule).
	CertAutoRetireDays int
	// SLOEnabled turns on SAML Single Logout with Entra: LogoutRequests at
	// /c/{slug}/saml/slo end the employee's browser sessions, and signing
	// out continues at Entra's logout endpoint.
	SLOEnabled bool
	// TokenEncryption says whether Entra encrypts assertions to the
	// company's SP encryption certificate ("" reads as off).
	TokenEncryption TokenEncryption

	// MetadataURL is the app's App Federation Metadata URL (Entra: SAML
	// Certificates), "" when the company does not follow it. Metadata is
	// the bookkeeping of its fetches. Both are written by SetMetadataURL
	// and RecordMetadataRefresh only.
	MetadataURL string
	Metadata    MetadataState

	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TokenEncryption is a company's token encryption policy.
type TokenEncryption string

const (
	// EncryptionOff: no SP encryption certificate is published and an
	// encrypted assertion is refused.
	EncryptionOff TokenEncryption = "off"
	// EncryptionOptional: the certificate is published and encrypted and
	// plain assertions are both accepted (while Entra is being switched).
	EncryptionOptional TokenEncryption = "optional"
	// EncryptionRequired: only encrypted assertions are accepted.
	EncryptionRequired TokenEncryption = "required"
)

// Valid reports whether e is a known policy.
func (e TokenEncryption) Valid() bool {
	return e == EncryptionOff || e == EncryptionOptional || e == EncryptionRequired
}

// EncryptionKey is one of a company's SP encryption key pairs: Entra
// encrypts assertions to Certificate (Token encryption), the gateway
// decrypts with PrivateKey. Two are live during a rollover.
type EncryptionKey struct {
	ID         int64
	CompanyID  int64
	PrivateKey []byte // PKCS #8 DER
	CertDER    []byte
	SHA1       string // upper-case hex: the thumbprint Entra shows
	SHA256     string // lower-case hex
	NotAfter   time.Time
	CreatedAt  time.Time
	RetiredAt  *time.Time // nil while live (published and decrypting)
	LastUsedAt *time.Time // last decrypted an accepted assertion
}

// MetadataState is what the last fetches of a company's federation metadata
// left behind.
type MetadataState struct {
	// ETag and LastModified are the validators of the last document
	// applied, sent back as If-None-Match / If-Modified-Since.
	ETag         string
	LastModified string
	// CheckedAt is the last attempt, OKAt the last one that succeeded (a
	// document applied, or "not modified").
	CheckedAt *time.Time
	OKAt      *time.Time
	// Outcome is the last attempt's outcome ("ok", "not_modified", or why
	// it failed: "unreachable", "invalid", ...); Message says it for the
	// admin ("" when all is well). Both stay until the next attempt.
	Outcome string
	Message string
}

// Certificate sources.
const (
	CertSourcePaste    = "paste"    // pasted by an admin (console or CLI)
	CertSourceMetadata = "metadata" // found in the company's federation metadata
)

// Certificate is one trusted IdP signing certificate of a company.
type Certificate struct {
	ID        int64
	CompanyID int64
	DER       []byte
	Subject   string
	SHA1      string // upper-case hex, no separators: Entra's "Thumbprint"
	SHA256    string // lower-case hex
	NotBefore time.Time
	NotAfter  time.Time
	AddedAt   time.Time
	RetiredAt *time.Time // nil while trusted
	// LastUsedAt is when this certificate last verified a successful login;
	// UseCount how many it verified.
	LastUsedAt *time.Time
	UseCount   int64
	// Source is CertSourcePaste (the default when empty) or
	// CertSourceMetadata. MissingSince is when a metadata certificate was
	// first seen missing from the metadata (nil while it is listed).
	Source       string
	MissingSince *time.Time
}

// Source says where an employee record came from.
type Source string

const (
	SourceImport Source = "import" // spreadsheet import, not linked to Entra
	SourceSCIM   Source = "scim"   // created or linked by Entra provisioning
	SourceLocal  Source = "local"  // created or detached locally
)

// Employee is a person in a company's directory. ID is immutable and is the
// SCIM id. Fields hold values exactly as received (SCIM echoes them back);
// matching on userName and email is case-insensitive.
type Employee struct {
	ID        string
	CompanyID int64

	UserName    string // login name (= Entra UPN)
	Email       string // work email
	GivenName   string
	FamilyName  string
	DisplayName string
	ExternalID  string // Entra mailNickname, stored as sent

	// EntraObjectID is Entra's immutable objectidentifier claim, bound at
	// first SAML login; unique per company.
	EntraObjectID string

	Title            string
	Department       string
	ManagerID        string // resolved manager employee id ("" = none)
	ManagerRef       string // manager id as Entra sent it, kept until it resolves
	MobilePhone      string
	WorkPhone        string
	Country          string
	DateOfEmployment string // as received (RFC 3339 or YYYY-MM-DD)
	PayrollNumber    string
	EmployeeNumber   string
	GroupCompanyName string

	Active          bool
	TerminationDate string     // YYYY-MM-DD, "" when none
	DeletedAt       *time.Time // hard-deleted (SCIM DELETE): history only

	Source      Source
	EntraLinked bool // managed by Entra provisioning (false after detach)

	IsAdmin              bool
	IsApprover           bool
	SelfApprover         bool
	OnlySelectedApprover bool

	// SCIMExtra holds the JSON of SCIM attributes the product has no column
	// for but echoes back (displayName variants, addresses parts, other
	// emails and phones...). Opaque to the store.
	SCIMExtra []byte

	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Visible reports whether the employee still exists for SCIM and sign-in
// (is not hard-deleted).
func (e *Employee) Visible() bool { return e.DeletedAt == nil }

// DisplayedName is how pages and the identity assertion name the employee:
// given and family name, else the display name, else the sign-in name.
func (e *Employee) DisplayedName() string {
	if n := strings.TrimSpace(e.GivenName + " " + e.FamilyName); n != "" {
		return n
	}
	if e.DisplayName != "" {
		return e.DisplayName
	}
	return e.UserName
}

// EmployeeQuery lists employees of one company.
type EmployeeQuery struct {
	CompanyID int64
	// Search matches name, userName or email (case-insensitive substring).
	Search string
	// Active filters on the active flag when non-nil.
	Active *bool
	// IncludeDeleted also lists hard-deleted employees.
	IncludeDeleted bool
	// Offset and Limit page through the result in a stable order
	// (created_at, id). Limit 0 means no rows (count only).
	Offset, Limit int
}

// SignInEvent is a stored sign-in outcome, kept for the admin diagnostics.
type SignInEvent struct {
	ID         int64
	CompanyID  int64
	At         time.Time
	Success    bool
	Reason     string // machine reason code, e.g. "unknown_certificate"
	Detail     string // admin-facing detail (thumbprint, expected vs got...)
	NameID     string // as received ("" when unknown); PII, admin-only
	EmployeeID string
	CertSHA256 string
	RemoteIP   string
}

// CertificateUse is Count logins verified by one certificate, the last at At.
type CertificateUse struct {
	CompanyID int64
	SHA256    string
	At        time.Time
	Count     int64
}

// ProvisioningEntry is one SCIM write, kept per company.
type ProvisioningEntry struct {
	ID         int64
	CompanyID  int64
	At         time.Time
	Operation  string // "create", "link", "update", "deactivate", "reactivate", "delete", ...
	EmployeeID string
	UserName   string
	Outcome    string // "ok", or the SCIM error type ("uniqueness", "invalidValue", ...)
	Status     int    // HTTP status answered
	Change     string // normalised change (JSON), never a token
}

// ProvisioningQuery filters the provisioning log.
type ProvisioningQuery struct {
	CompanyID  int64
	EmployeeID string
	Outcome    string // "" = any; "ok"; "error" = any non-ok
	Limit      int
}

// AuditEntry records an admin or CLI change.
type AuditEntry struct {
	ID        int64
	CompanyID int64
	At        time.Time
	Actor     string // "cli", "admin:<email>", "employee:<id>", "scim"
	Action    string // "sso.configure", "cert.add", ...
	Detail    string
}

// SCIMToken is a provisioning bearer token; only its hash is stored.
type SCIMToken struct {
	ID        int64
	CompanyID int64
	Hash      []byte // SHA-256 of the token
	Label     string
	CreatedAt time.Time
	LastUsed  *time.Time
	RevokedAt *time.Time
}

// SCIMClient is an OAuth 2.0 client (client credentials grant) Entra's
// provisioning service uses to obtain SCIM access tokens. ClientID is its
// public identifier, unique per company; only hashes of its secrets are
// stored.
type SCIMClient struct {
	ID        int64
	CompanyID int64
	ClientID  string
	Label     string
	CreatedAt time.Time
	Secrets   []SCIMClientSecret // oldest first, expired ones included
}

// SCIMClientSecret is one secret of a SCIMClient; several may be valid at
// once (rotation). Client is the SCIMClient's ID.
type SCIMClientSecret struct {
	ID        int64
	CompanyID int64
	Client    int64
	Hash      []byte // SHA-256 of the secret
	CreatedAt time.Time
	ExpiresAt time.Time
	LastUsed  *time.Time // last access token issued with it
}

// SCIMAccessToken is an access token the SCIM token endpoint issued; only
// its hash is stored. Client and Secret are the ids it was issued with.
type SCIMAccessToken struct {
	Hash      []byte // SHA-256 of the token
	CompanyID int64
	Client    int64
	Secret    int64
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Admin is a setup admin with a local (break-glass) password.
type Admin struct {
	ID           int64
	CompanyID    int64
	Email        string // unique per company, case-insensitive
	PasswordHash string // encoded hash (argon2id/bcrypt), never the password
	CreatedAt    time.Time
	// EmployeeID links the admin to an employee when they are one ("" = none).
	EmployeeID string
}

// OAuthClient is a registered native (mobile) client of one company.
type OAuthClient struct {
	ID           int64
	CompanyID    int64
	ClientID     string
	Name         string
	RedirectURIs []string // exact-match
	CreatedAt    time.Time
}

// SigningKey is one key that signs the identity assertion ssogate hands the
// product behind it (package identity gives it meaning; the store only
// keeps it). Keys are shared by every instance through the database.
type SigningKey struct {
	// Seq numbers the keys 1, 2, 3, ... and is unique: when two instances
	// race to add the next key, exactly one AddSigningKey succeeds.
	Seq        int64
	KID        string // key id (the JWS "kid"); unique
	Algorithm  string // JWS "alg", e.g. ES256
	PublicKey  []byte // PKIX DER
	PrivateKey []byte // PKCS #8 DER, or sealed as Sealing says
	Sealing    string // "" = stored as is; else the scheme that sealed PrivateKey
	CreatedAt  time.Time
	SignsFrom  time.Time // when the key starts signing
}

// Store is the directory's storage. Every method is safe for concurrent
// use. Reads of a missing row return an error matching ErrNotFound.
type Store interface {
	// InTx runs fn in one transaction: if fn returns an error, nothing fn
	// wrote is kept. The Store passed to fn must be the only one fn uses.
	// InTx on a Store passed to fn runs fn directly (no nesting).
	InTx(ctx context.Context, fn func(tx Store) error) error

	// Companies.
	CreateCompany(ctx context.Context, c *Company) error // fills ID, Version, times; ErrConflict on slug
	GetCompany(ctx context.Context, slug string) (*Company, error)
	GetCompanyByID(ctx context.Context, id int64) (*Company, error)
	ListCompanies(ctx context.Context) ([]Company, error)
	// UpdateCompanySettings writes Name, SSOEnabled, NameIDMode,
	// EntraIdentifier, IDPLoginURL, CertAutoRetireDays, SLOEnabled and
	// TokenEncryption of c (by ID) and bumps Version.
	UpdateCompanySettings(ctx context.Context, c *Company) error
	// PinIssuer sets PinnedIssuer if it is empty and returns the pinned
	// value after the call (which may be another, earlier pin).
	PinIssuer(ctx context.Context, companyID int64, issuer string) (string, error)

	// Certificates. AddCertificate is idempotent on (company, SHA256): adding
	// a trusted certificate again only un-retires it (and a paste makes a
	// metadata certificate a pasted one; never the reverse). With
	// retireOthers, every other certificate of the company is retired in
	// the same transaction. Both bump the company's Version.
	AddCertificate(ctx context.Context, cert *Certificate, retireOthers bool) error
	ListCertificates(ctx context.Context, companyID int64, includeRetired bool) ([]Certificate, error)
	RetireCertificate(ctx context.Context, companyID int64, sha256 string, at time.Time) error
	// SetCertificateMissing sets (or with nil clears) MissingSince of one
	// certificate; it changes no trust, so Version stays. ErrNotFound when
	// the company has no such certificate.
	SetCertificateMissing(ctx context.Context, companyID int64, sha256 string, since *time.Time) error

	// Federation metadata. SetMetadataURL stores the URL ("" removes it),
	// clears MetadataState, and bumps Version. RecordMetadataRefresh writes
	// MetadataState without bumping Version.
	SetMetadataURL(ctx context.Context, companyID int64, url string) error
	RecordMetadataRefresh(ctx context.Context, companyID int64, st MetadataState) error

	// SP encryption keys (token encryption). AddEncryptionKey stores a new
	// key pair (filling ID, SHA1, SHA256 from CertDER) and bumps the
	// company's Version; RetireEncryptionKey stops using one (keeping an
	// earlier retirement) and bumps Version when it changed; both
	// ErrNotFound for an unknown company or key. ListEncryptionKeys lists
	// oldest first. TouchEncryptionKey moves LastUsedAt forward (never
	// back) without bumping Version.
	AddEncryptionKey(ctx context.Context, k *EncryptionKey) error
	ListEncryptionKeys(ctx context.Context, companyID int64, includeRetired bool) ([]EncryptionKey, error)
	RetireEncryptionKey(ctx context.Context, companyID int64, sha256 string, at time.Time) error
	TouchEncryptionKey(ctx context.Context, companyID int64, sha256 string, at time.Time) error

	// Employees. Create fills ID (when empty), Version and times, and returns
	// a ConflictError when userName or email (case-insensitive, trimmed) is
	// taken by a non-hard-deleted employee of the same company.
	CreateEmployee(ctx context.Context, e *Employee) error
	// UpdateEmployee replaces every field of e (by CompanyID and ID) and
	// bumps Version; same conflict rules as Create.
	UpdateEmployee(ctx context.Context, e *Employee) error
	// GetEmployee returns the employee by id, hard-deleted ones included
	// (check Visible).
	GetEmployee(ctx context.Context, companyID int64, id string) (*Employee, error)
	// Find* return the non-hard-deleted employee whose field equals value
	// (userName and email case-insensitively after trimming). Index-backed.
	FindEmployeeByUserName(ctx context.Context, companyID int64, userName string) (*Employee, error)
	FindEmployeeByEmail(ctx context.Context, companyID int64, email string) (*Employee, error)
	FindEmployeeByObjectID(ctx context.Context, companyID int64, objectID string) (*Employee, error)
	FindEmployeesByExternalID(ctx context.Context, companyID int64, externalID string) ([]Employee, error)
	// BindObjectID stores Entra's object id on an employee that has none
	// (binding the id it already has is a no-op success); ErrConflict when
	// another employee of the company holds it or the employee is bound to
	// another id (rebinding is an admin's explicit UpdateEmployee), so of
	// two racing first sign-ins only one binds.
	BindObjectID(ctx context.Context, companyID int64, employeeID, objectID string) error
	ListEmployees(ctx context.Context, q EmployeeQuery) (rows []Employee, total int, err error)
	// ListReports returns the non-hard-deleted employees whose ManagerID is
	// managerID; ListByManagerRef those whose unresolved ManagerRef is ref.
	ListReports(ctx context.Context, companyID int64, managerID string) ([]Employee, error)
	ListByManagerRef(ctx context.Context, companyID int64, ref string) ([]Employee, error)
	// One-statement forms of what SCIM provisioning reads and writes per
	// request. FindEmployeeByUserNameOrEmail is FindEmployeeByUserName and
	// FindEmployeeByEmail at once (nil where none matches; email "" matches
	// none). ListByManagerRefs is ListByManagerRef for several references.
	// ManagerChain returns id and the ids of the managers above it, nearest
	// first (hard-deleted managers included), at most limit; none when id is
	// not a visible employee; a looping chain repeats ids. RecomputeApprovers
	// sets IsApprover of each employee to whether it is visible and manages
	// an active, visible employee other than itself, bumping Version where
	// that changes; unknown ids are skipped.
	FindEmployeeByUserNameOrEmail(ctx context.Context, companyID int64, userName, email string) (byUserName, byEmail *Employee, err error)
	ListByManagerRefs(ctx context.Context, companyID int64, refs ...string) ([]Employee, error)
	ManagerChain(ctx context.Context, companyID int64, id string, limit int) ([]string, error)
	RecomputeApprovers(ctx context.Context, companyID int64, employeeIDs ...string) error

	// Logs.
	RecordSignIn(ctx context.Context, ev *SignInEvent) error
	// RecordLogins stores sign-in events and certificate uses in one
	// transaction: each use adds Count to the certificate's use count and
	// moves its last use to At, never back. A use of a certificate that is
	// gone is skipped. Unlike RecordSignIn it does not fill the events' IDs.
	RecordLogins(ctx context.Context, events []*SignInEvent, uses []CertificateUse) error
	ListSignIns(ctx context.Context, companyID int64, failuresOnly bool, limit int) ([]SignInEvent, error)
	// PruneSignIns deletes the sign-in events of every company older than
	// before (the retention limit), in bounded batches, and returns how
	// many it deleted.
	PruneSignIns(ctx context.Context, before time.Time) (int64, error)
	AppendProvisioning(ctx context.Context, p *ProvisioningEntry) error
	ListProvisioning(ctx context.Context, q ProvisioningQuery) ([]ProvisioningEntry, error)
	AppendAudit(ctx context.Context, a *AuditEntry) error
	ListAudit(ctx context.Context, companyID int64, limit int) ([]AuditEntry, error)

	// SCIM tokens.
	AddSCIMToken(ctx context.Context, t *SCIMToken) error
	// FindSCIMToken returns the unrevoked token with this hash (any company).
	FindSCIMToken(ctx context.Context, hash []byte) (*SCIMToken, error)
	ListSCIMTokens(ctx context.Context, companyID int64) ([]SCIMToken, error)
	RevokeSCIMToken(ctx context.Context, companyID, tokenID int64, at time.Time) error
	TouchSCIMToken(ctx context.Context, tokenID int64, at time.Time) error

	// SCIM OAuth clients (client credentials grant). AddSCIMClient stores c
	// with its Secrets (filling IDs and CreatedAt); ErrConflict on (company,
	// client id) or a secret hash already stored. AddSCIMClientSecret adds a
	// secret to the company's client sec.Client (ErrNotFound when there is
	// none). GetSCIMClient and ListSCIMClients return clients with all their
	// secrets, expired ones included. RemoveSCIMClient deletes a client with
	// its secrets and access tokens; RemoveSCIMClientSecret one secret and
	// the access tokens issued with it.
	AddSCIMClient(ctx context.Context, c *SCIMClient) error
	AddSCIMClientSecret(ctx context.Context, sec *SCIMClientSecret) error
	GetSCIMClient(ctx context.Context, companyID int64, clientID string) (*SCIMClient, error)
	ListSCIMClients(ctx context.Context, companyID int64) ([]SCIMClient, error)
	RemoveSCIMClient(ctx context.Context, companyID int64, clientID string) error
	RemoveSCIMClientSecret(ctx context.Context, companyID, secretID int64) error
	// AddSCIMAccessToken stores t, records t.IssuedAt as its secret's last
	// use and deletes the company's access tokens that expired before
	// t.IssuedAt, in one transaction; ErrNotFound when the secret (or its
	// client) is gone. FindSCIMAccessToken returns the token with this hash
	// (any company, expired or not: the caller checks both).
	AddSCIMAccessToken(ctx context.Context, t *SCIMAccessToken) error
	FindSCIMAccessToken(ctx context.Context, hash []byte) (*SCIMAccessToken, error)

	// Local admins.
	CreateAdmin(ctx context.Context, a *Admin) error // ErrConflict on email
	GetAdminByEmail(ctx context.Context, companyID int64, email string) (*Admin, error)
	GetAdmin(ctx context.Context, companyID, adminID int64) (*Admin, error)

	// Local passwords of employees managed locally (detached from Entra),
	// kept apart from the Employee record. SetEmployeePassword stores an
	// encoded hash (never a password); an empty hash removes it. ErrNotFound
	// when the company has no such employee. GetEmployeePassword returns
	// the hash, or ErrNotFound when none is set.
	SetEmployeePassword(ctx context.Context, companyID int64, employeeID, hash string) error
	GetEmployeePassword(ctx context.Context, companyID int64, employeeID string) (string, error)
	UpdateAdminPassword(ctx context.Context, companyID, adminID int64, hash string) error

	// OAuth clients.
	AddOAuthClient(ctx context.Context, c *OAuthClient) error // ErrConflict on (company, client id)
	GetOAuthClient(ctx context.Context, companyID int64, clientID string) (*OAuthClient, error)
	ListOAuthClients(ctx context.Context, companyID int64) ([]OAuthClient, error)
	RemoveOAuthClient(ctx context.Context, companyID int64, clientID string) error

	// Department approvers added by hand; they survive sync.
	AddDepartmentApprover(ctx context.Context, companyID int64, department, employeeID string) error
	RemoveDepartmentApprover(ctx context.Context, companyID int64, department, employeeID string) error
	// ListDepartmentApprovers matches department case-insensitively.
	ListDepartmentApprovers(ctx context.Context, companyID int64, department string) ([]string, error)
	// ListApproverDepartments returns the departments (as first added) the
	// employee approves for, in the order they were added.
	ListApproverDepartments(ctx context.Context, companyID int64, employeeID string) ([]string, error)

	// Assertion signing keys. AddSigningKey stores k as given (times
	// truncated to microseconds) and returns a ConflictError on "seq" or
	// "kid" when either is taken. ListSigningKeys returns every key, by Seq
	// ascending. DeleteSigningKey removes the key with that Seq; removing
	// one that is gone is not an error.
	AddSigningKey(ctx context.Context, k *SigningKey) error
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	DeleteSigningKey(ctx context.Context, seq int64) error

	// Ping checks the database is reachable; Close releases it.
	Ping(ctx context.Context) error
	Close() error
}
