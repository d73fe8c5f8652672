// Package config owns the gateway's settings: their names (all under the
// SSOGATE_ prefix), their defaults, and their validation. Loading is three
// steps: Defaults, then the environment (FromEnv), then Validate, which
// reports every problem at once, each naming its key.
//
// It imports no other package of the project.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of one gateway process.
type Config struct {
	Addr        string // SSOGATE_ADDR
	MetricsAddr string // SSOGATE_METRICS_ADDR: /metrics listener; "off" = none
	PublicURL   string // SSOGATE_PUBLIC_URL, without trailing slash
	DatabaseURL string // SSOGATE_DATABASE_URL
	RedisURL    string // SSOGATE_REDIS_URL; empty = in-process store

	SessionIdle     time.Duration // SSOGATE_SESSION_IDLE
	SessionAbsolute time.Duration // SSOGATE_SESSION_ABSOLUTE
	AdminIdle       time.Duration // SSOGATE_ADMIN_IDLE
	CookieName      string        // SSOGATE_COOKIE_NAME (base name; "__Host-" is prepended on https)

	SAMLMaxIssueDelay time.Duration // SSOGATE_SAML_MAX_ISSUE_DELAY
	SAMLClockSkew     time.Duration // SSOGATE_SAML_CLOCK_SKEW
	SAMLAllowSHA1     bool          // SSOGATE_SAML_ALLOW_SHA1
	SAMLRequestTTL    time.Duration // SSOGATE_SAML_REQUEST_TTL
	ACSMaxBody        int64         // SSOGATE_ACS_MAX_BODY (bytes)
	SCIMMaxBody       int64         // SSOGATE_SCIM_MAX_BODY (bytes)

	SettingsTTL time.Duration // SSOGATE_SETTINGS_TTL: how long a company's settings are cached

	OAuthCodeTTL    time.Duration // SSOGATE_OAUTH_CODE_TTL
	OAuthAccessTTL  time.Duration // SSOGATE_OAUTH_ACCESS_TTL
	OAuthRefreshTTL time.Duration // SSOGATE_OAUTH_REFRESH_TTL

	// The identity assertion (X-Ssogate-Assertion) and its signing keys.
	AssertionTTL       time.Duration // SSOGATE_ASSERTION_TTL: exp - iat
	SigningKeyRotation time.Duration // SSOGATE_SIGNING_KEY_ROTATION: how long a key signs
	SigningKeyLead     time.Duration // SSOGATE_SIGNING_KEY_LEAD: published this long before it signs
	JWKSMaxAge         time.Duration // SSOGATE_JWKS_MAX_AGE: Cache-Control of /.well-known/jwks.json
	SigningKeySecret   string        // SSOGATE_SIGNING_KEY_SECRET: seals private keys at rest (optional)
	// Operating under failure: store deadlines, readiness and drain.
	RedisTimeout        time.Duration // SSOGATE_REDIS_TIMEOUT: deadline of each Redis call, retries included
	DBTimeout           time.Duration // SSOGATE_DB_TIMEOUT: deadline of each database statement
	ReadyTimeout        time.Duration // SSOGATE_READY_TIMEOUT: /readyz answers within this
	DrainDelay          time.Duration // SSOGATE_DRAIN_DELAY: /readyz answers 503 this long after SIGTERM before the listener closes
	ShutdownTimeout     time.Duration // SSOGATE_SHUTDOWN_TIMEOUT: how long in-flight requests may take to finish after that
	Upstream            string        // SSOGATE_UPSTREAM: the product behind the gateway; empty = no proxy
	UpstreamAudience    string        // SSOGATE_UPSTREAM_AUDIENCE: aud of X-Ssogate-Assertion (default: the upstream's origin)
	UpstreamDialTimeout time.Duration // SSOGATE_UPSTREAM_DIAL_TIMEOUT
	UpstreamTimeout     time.Duration // SSOGATE_UPSTREAM_TIMEOUT: until the product's response headers

	// IDPLoginHosts are hosts ("host" or "host:port") an admin may set as
	// the IdP Login URL beside Microsoft's sign-in hosts.
	IDPLoginHosts []string // SSOGATE_IDP_LOGIN_HOSTS (comma-separated)

	// Bounds on what unauthenticated clients can make the gateway write.
	SigninRate         int64         // SSOGATE_SIGNIN_RATE: sign-in requests per second per client; 0 = no limit
	SigninBurst        int64         // SSOGATE_SIGNIN_BURST
	SigninLogRetention time.Duration // SSOGATE_SIGNIN_LOG_RETENTION: 0 = keep forever

	MetadataInterval time.Duration // SSOGATE_METADATA_INTERVAL: schedule of federation metadata fetches
	MetadataHosts    []string      // SSOGATE_METADATA_HOSTS: extra hosts metadata may be fetched from
	MetadataGrace    time.Duration // SSOGATE_METADATA_GRACE: how long a certificate that left the metadata stays trusted

	TrustProxyHeaders bool // SSOGATE_TRUST_PROXY_HEADERS: take the client IP from X-Forwarded-For
	// PasswordConcurrency bounds the password hashes (argon2id, 32 MiB
	// each) running at once; 0 = one per core (GOMAXPROCS).
	PasswordConcurrency int64  // SSOGATE_PASSWORD_CONCURRENCY
	LogFormat           string // SSOGATE_LOG_FORMAT: text | json
	LogLevel            string // SSOGATE_LOG_LEVEL: debug | info | warn | error
}

// Defaults returns the configuration with every default filled in.
func Defaults() Config {
	return Config{
		Addr:                "127.0.0.1:8080",
		MetricsAddr:         "127.0.0.1:9464",
		SigninRate:          10,
		SigninBurst:         50,
		SigninLogRetention:  90 * 24 * time.Hour,
		DatabaseURL:         "sqlite:./ssogate.db",
		SessionIdle:         2 * time.Hour,
		SessionAbsolute:     12 * time.Hour,
		AdminIdle:           15 * time.Minute,
		CookieName:          "ssogate_session",
		SAMLMaxIssueDelay:   5 * time.Minute,
		SAMLClockSkew:       3 * time.Minute,
		SAMLRequestTTL:      10 * time.Minute,
		ACSMaxBody:          1 << 20,
		SCIMMaxBody:         1 << 20,
		SettingsTTL:         2 * time.Second,
		OAuthCodeTTL:        60 * time.Second,
		OAuthAccessTTL:      time.Hour,
		OAuthRefreshTTL:     30 * 24 * time.Hour,
		AssertionTTL:        2 * time.Minute,
		SigningKeyRotation:  7 * 24 * time.Hour,
		SigningKeyLead:      2 * time.Hour,
		JWKSMaxAge:          10 * time.Minute,
		RedisTimeout:        500 * time.Millisecond,
		DBTimeout:           2 * time.Second,
		ReadyTimeout:        time.Second,
		DrainDelay:          5 * time.Second,
		ShutdownTimeout:     15 * time.Second,
		MetadataInterval:    time.Hour,
		MetadataGrace:       24 * time.Hour,
		LogFormat:           "text",
		LogLevel:            "info",
		UpstreamDialTimeout: 5 * time.Second,
		UpstreamTimeout:     60 * time.Second,
	}
}

// Key documents one setting for the README and `ssogate config`.
type Key struct {
	Name, Default, Meaning string
}

// Keys lists every setting in the order the README shows them.
func Keys() []Key {
	d := Defaults()
	return []Key{
		{"SSOGATE_ADDR", d.Addr, "listen address"},
		{"SSOGATE_METRICS_ADDR", d.MetricsAddr, "listen address of /metrics (Prometheus); on SSOGATE_ADDR it answers only a loopback peer with no forwarding header; off = no metrics listener"},
		{"SSOGATE_PUBLIC_URL", "http:// + SSOGATE_ADDR", "external base URL used in SAML metadata, redirects and cookie security (https ⇒ Secure, __Host- cookies); scheme and host are lower-cased"},
		{"SSOGATE_DATABASE_URL", d.DatabaseURL, "directory database: sqlite:PATH or postgres://…"},
		{"SSOGATE_REDIS_URL", "(empty)", "session store: redis://, rediss://, redis+sentinel://h1:26379,h2:26379/MASTER, redis+cluster://h1:6379,h2:6379 (rediss+… over TLS; sentinel_username/sentinel_password options for the sentinels' own login); empty = in-process store (one instance only)"},
		{"SSOGATE_SESSION_IDLE", d.SessionIdle.String(), "browser session idle lifetime"},
		{"SSOGATE_SESSION_ABSOLUTE", d.SessionAbsolute.String(), "browser session absolute lifetime"},
		{"SSOGATE_ADMIN_IDLE", d.AdminIdle.String(), "admin console session idle lifetime"},
		{"SSOGATE_COOKIE_NAME", d.CookieName, "browser session cookie base name (must contain ssogate_session)"},
		{"SSOGATE_SAML_MAX_ISSUE_DELAY", d.SAMLMaxIssueDelay.String(), "how old a SAML response's IssueInstant may be"},
		{"SSOGATE_SAML_CLOCK_SKEW", d.SAMLClockSkew.String(), "allowed clock difference with Entra"},
		{"SSOGATE_SAML_ALLOW_SHA1", "false", "accept SHA-1 signatures (only if a tenant really switched Entra to SHA-1)"},
		{"SSOGATE_SAML_REQUEST_TTL", d.SAMLRequestTTL.String(), "how long an SP-initiated login may take"},
		{"SSOGATE_ACS_MAX_BODY", strconv.FormatInt(d.ACSMaxBody, 10), "largest ACS POST body, bytes"},
		{"SSOGATE_SCIM_MAX_BODY", strconv.FormatInt(d.SCIMMaxBody, 10), "largest SCIM request body, bytes"},
		{"SSOGATE_SETTINGS_TTL", d.SettingsTTL.String(), "how long a company's settings, the employee behind a live session, and a valid SCIM token are cached per instance (admin changes reach every instance within this; 0 = no cache)"},
		{"SSOGATE_OAUTH_CODE_TTL", d.OAuthCodeTTL.String(), "mobile authorization code lifetime (at most 60s)"},
		{"SSOGATE_OAUTH_ACCESS_TTL", d.OAuthAccessTTL.String(), "mobile access token lifetime"},
		{"SSOGATE_OAUTH_REFRESH_TTL", d.OAuthRefreshTTL.String(), "mobile refresh token lifetime"},
		{"SSOGATE_ASSERTION_TTL", d.AssertionTTL.String(), "lifetime of the X-Ssogate-Assertion JWT (exp - iat; 10s to 5m); one is reused for the same session and claims for up to half of it"},
		{"SSOGATE_SIGNING_KEY_ROTATION", d.SigningKeyRotation.String(), "how long one assertion signing key signs before the next takes over (at least 2× SSOGATE_SIGNING_KEY_LEAD)"},
		{"SSOGATE_SIGNING_KEY_LEAD", d.SigningKeyLead.String(), "how long a new signing key is published in the JWKS before it signs: at least as long as any verifier caches the JWKS (and ≥ SSOGATE_JWKS_MAX_AGE + 1m)"},
		{"SSOGATE_JWKS_MAX_AGE", d.JWKSMaxAge.String(), "Cache-Control max-age of /.well-known/jwks.json"},
		{"SSOGATE_SIGNING_KEY_SECRET", "(empty)", "optional secret (at least 32 characters) that seals the signing keys' private halves in the database (AES-256-GCM); keys sealed with it need it to sign"},
		{"SSOGATE_REDIS_TIMEOUT", d.RedisTimeout.String(), "deadline of each Redis call (connection wait, dial, retries included); past it the request answers 503"},
		{"SSOGATE_DB_TIMEOUT", d.DBTimeout.String(), "deadline of each database statement (and of a transaction's BEGIN and COMMIT); past it the request answers 503"},
		{"SSOGATE_READY_TIMEOUT", d.ReadyTimeout.String(), "/readyz answers within this, 503 if a store did not answer in time"},
		{"SSOGATE_DRAIN_DELAY", d.DrainDelay.String(), "after SIGTERM, /readyz answers 503 for this long while requests are still served (give the load balancer's probe time to notice; 0 = none)"},
		{"SSOGATE_SHUTDOWN_TIMEOUT", d.ShutdownTimeout.String(), "after the drain delay, how long in-flight requests may take to finish before the process exits"},
		{"SSOGATE_UPSTREAM", "(empty)", "URL of the product (http://host:port): requests under /c/{company}/ that are not ssogate's own routes are proxied there for a signed-in employee of that company; empty = no proxy"},
		{"SSOGATE_UPSTREAM_AUDIENCE", "(the upstream's origin)", "aud claim of X-Ssogate-Assertion (set it for forward-auth without SSOGATE_UPSTREAM)"},
		{"SSOGATE_UPSTREAM_DIAL_TIMEOUT", d.UpstreamDialTimeout.String(), "how long connecting to the upstream may take (then 502 or 504)"},
		{"SSOGATE_UPSTREAM_TIMEOUT", d.UpstreamTimeout.String(), "how long the upstream may take to start its answer (then 504); bodies and WebSockets stream without a limit"},
		{"SSOGATE_IDP_LOGIN_HOSTS", "(empty)", "hosts (host or host:port, comma-separated) a company's IdP Login URL may point at besides Microsoft's sign-in hosts (login.microsoftonline.com, .us, login.partner.microsoftonline.cn, login.chinacloudapi.cn); https only, plain http only for a loopback host"},
		{"SSOGATE_METADATA_INTERVAL", d.MetadataInterval.String(), "how often each company's App Federation Metadata Url is fetched (one instance fetches; conditional requests), between 1m and 24h"},
		{"SSOGATE_METADATA_HOSTS", "(empty)", "comma-separated host or host:port entries metadata may also be fetched from (https only), beside Microsoft's login hosts"},
		{"SSOGATE_METADATA_GRACE", d.MetadataGrace.String(), "how long a certificate that left the federation metadata stays trusted before it is retired"},
		{"SSOGATE_SIGNIN_RATE", strconv.FormatInt(d.SigninRate, 10), "sign-in requests (GET /login, ACS POST, OAuth authorize) per second per client address, sustained; 0 = no limit"},
		{"SSOGATE_SIGNIN_BURST", strconv.FormatInt(d.SigninBurst, 10), "sign-in requests a client address may make at once above SSOGATE_SIGNIN_RATE"},
		{"SSOGATE_SIGNIN_LOG_RETENTION", d.SigninLogRetention.String(), "sign-in records (diagnostics) older than this are deleted, hourly, by one instance; 0 = keep forever"},
		{"SSOGATE_TRUST_PROXY_HEADERS", "false", "take the client IP from X-Forwarded-For (only behind a proxy you run)"},
		{"SSOGATE_PASSWORD_CONCURRENCY", "0", "password checks (argon2id, 32 MiB each) running at once; beyond it a sign-in is answered 503 at once; 0 = one per core"},
		{"SSOGATE_LOG_FORMAT", d.LogFormat, "text or json"},
		{"SSOGATE_LOG_LEVEL", d.LogLevel, "debug, info, warn or error"},
	}
}

// FromEnv overlays the environment on c. Parse errors are collected and
// returned together; c keeps its value for a key that failed.
func (c *Config) FromEnv(getenv func(string) string) error {
	var errs []error
	str := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = strings.TrimSpace(v)
		}
	}
	dur := func(key string, dst *time.Duration) {
		v := getenv(key)
		if v == "" {
			return
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 90s, 15m, 2h)", key, v))
			return
		}
		*dst = d
	}
	num := func(key string, dst *int64) {
		v := getenv(key)
		if v == "" {
			return
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a whole number", key, v))
			return
		}
		*dst = n
	}
	boolean := func(key string, dst *bool) {
		v := getenv(key)
		if v == "" {
			return
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", key, v))
			return
		}
		*dst = b
	}
	str("SSOGATE_ADDR", &c.Addr)
	str("SSOGATE_METRICS_ADDR", &c.MetricsAddr)
	str("SSOGATE_PUBLIC_URL", &c.PublicURL)
	str("SSOGATE_DATABASE_URL", &c.DatabaseURL)
	str("SSOGATE_REDIS_URL", &c.RedisURL)
	dur("SSOGATE_SESSION_IDLE", &c.SessionIdle)
	dur("SSOGATE_SESSION_ABSOLUTE", &c.SessionAbsolute)
	dur("SSOGATE_ADMIN_IDLE", &c.AdminIdle)
	str("SSOGATE_COOKIE_NAME", &c.CookieName)
	dur("SSOGATE_SAML_MAX_ISSUE_DELAY", &c.SAMLMaxIssueDelay)
	dur("SSOGATE_SAML_CLOCK_SKEW", &c.SAMLClockSkew)
	boolean("SSOGATE_SAML_ALLOW_SHA1", &c.SAMLAllowSHA1)
	dur("SSOGATE_SAML_REQUEST_TTL", &c.SAMLRequestTTL)
	num("SSOGATE_ACS_MAX_BODY", &c.ACSMaxBody)
	num("SSOGATE_SCIM_MAX_BODY", &c.SCIMMaxBody)
	dur("SSOGATE_SETTINGS_TTL", &c.SettingsTTL)
	dur("SSOGATE_OAUTH_CODE_TTL", &c.OAuthCodeTTL)
	dur("SSOGATE_OAUTH_ACCESS_TTL", &c.OAuthAccessTTL)
	dur("SSOGATE_OAUTH_REFRESH_TTL", &c.OAuthRefreshTTL)
	dur("SSOGATE_ASSERTION_TTL", &c.AssertionTTL)
	dur("SSOGATE_SIGNING_KEY_ROTATION", &c.SigningKeyRotation)
	dur("SSOGATE_SIGNING_KEY_LEAD", &c.SigningKeyLead)
	dur("SSOGATE_JWKS_MAX_AGE", &c.JWKSMaxAge)
	if v := getenv("SSOGATE_SIGNING_KEY_SECRET"); v != "" {
		c.SigningKeySecret = v // as given: spaces are part of a secret
	}
	dur("SSOGATE_REDIS_TIMEOUT", &c.RedisTimeout)
	dur("SSOGATE_DB_TIMEOUT", &c.DBTimeout)
	dur("SSOGATE_READY_TIMEOUT", &c.ReadyTimeout)
	dur("SSOGATE_DRAIN_DELAY", &c.DrainDelay)
	dur("SSOGATE_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	str("SSOGATE_UPSTREAM", &c.Upstream)
	str("SSOGATE_UPSTREAM_AUDIENCE", &c.UpstreamAudience)
	dur("SSOGATE_UPSTREAM_DIAL_TIMEOUT", &c.UpstreamDialTimeout)
	dur("SSOGATE_UPSTREAM_TIMEOUT", &c.UpstreamTimeout)
	if v := getenv("SSOGATE_IDP_LOGIN_HOSTS"); v != "" {
		c.IDPLoginHosts = nil
		for _, h := range strings.Split(v, ",") {
			if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
				c.IDPLoginHosts = append(c.IDPLoginHosts, h)
			}
		}
	}
	dur("SSOGATE_METADATA_INTERVAL", &c.MetadataInterval)
	if v := getenv("SSOGATE_METADATA_HOSTS"); strings.TrimSpace(v) != "" {
		c.MetadataHosts = nil
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				c.MetadataHosts = append(c.MetadataHosts, h)
			}
		}
	}
	dur("SSOGATE_METADATA_GRACE", &c.MetadataGrace)
	num("SSOGATE_SIGNIN_RATE", &c.SigninRate)
	num("SSOGATE_SIGNIN_BURST", &c.SigninBurst)
	dur("SSOGATE_SIGNIN_LOG_RETENTION", &c.SigninLogRetention)
	boolean("SSOGATE_TRUST_PROXY_HEADERS", &c.TrustProxyHeaders)
	num("SSOGATE_PASSWORD_CONCURRENCY", &c.PasswordConcurrency)
	str("SSOGATE_LOG_FORMAT", &c.LogFormat)
	str("SSOGATE_LOG_LEVEL", &c.LogLevel)
	return errors.Join(errs...)
}

// Load is Defaults, FromEnv, the derived PublicURL, then Validate. Every
// problem is reported at once: values that do not parse (which keep their
// defaults) and values that parse but are not allowed.
func Load(getenv func(string) string) (Config, error) {
	c := Defaults()
	perr := c.FromEnv(getenv)
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = NormalizePublicURL(c.PublicURL)
	return c, errors.Join(perr, c.Validate())
}

// Validate reports every problem at once; each names its key and value.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("SSOGATE_ADDR", "%q is not host:port", c.Addr)
	}
	if c.SigninRate < 0 || c.SigninRate > 100000 {
		bad("SSOGATE_SIGNIN_RATE", "%d must be between 0 (no limit) and 100000", c.SigninRate)
	}
	if c.SigninRate > 0 && (c.SigninBurst < 1 || c.SigninBurst > 1000000) {
		bad("SSOGATE_SIGNIN_BURST", "%d must be between 1 and 1000000", c.SigninBurst)
	}
	if c.SigninLogRetention < 0 || (c.SigninLogRetention > 0 && c.SigninLogRetention < time.Hour) {
		bad("SSOGATE_SIGNIN_LOG_RETENTION", "%s must be 0 (keep forever) or at least 1h", c.SigninLogRetention)
	}
	for _, h := range c.IDPLoginHosts {
		host := h
		if hh, _, err := net.SplitHostPort(h); err == nil {
			host = hh
		}
		if host == "" || strings.ContainsAny(h, "/?#@\\ ") || strings.Contains(h, "://") {
			bad("SSOGATE_IDP_LOGIN_HOSTS", "%q must be a host or host:port (no scheme or path)", h)
		}
	}
	if c.MetricsOn() {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("SSOGATE_METRICS_ADDR", "%q is not host:port or off", c.MetricsAddr)
		} else if c.MetricsAddr == c.Addr {
			bad("SSOGATE_METRICS_ADDR", "%q is SSOGATE_ADDR: metrics need a listener of their own (or off)", c.MetricsAddr)
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("SSOGATE_PUBLIC_URL", "%q must be an absolute http(s) URL with no path, query or fragment (e.g. https://sso.example.com)", c.PublicURL)
	}
	switch {
	case strings.HasPrefix(c.DatabaseURL, "sqlite:") && len(c.DatabaseURL) > len("sqlite:"):
	case strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
	default:
		bad("SSOGATE_DATABASE_URL", "%q must be sqlite:PATH or postgres://…", redactURL(c.DatabaseURL))
	}
	if c.RedisURL != "" {
		ok := false
		for _, p := range []string{"redis://", "rediss://", "redis+sentinel://", "redis+cluster://", "rediss+sentinel://", "rediss+cluster://"} {
			ok = ok || strings.HasPrefix(c.RedisURL, p)
		}
		if !ok {
			bad("SSOGATE_REDIS_URL", "%q must start with redis://, rediss://, redis+sentinel://, redis+cluster:// (or their rediss+ forms)", redactURL(c.RedisURL))
		}
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "%s must be positive", d)
		}
	}
	positive("SSOGATE_SESSION_IDLE", c.SessionIdle)
	positive("SSOGATE_SESSION_ABSOLUTE", c.SessionAbsolute)
	positive("SSOGATE_ADMIN_IDLE", c.AdminIdle)
	positive("SSOGATE_SAML_REQUEST_TTL", c.SAMLRequestTTL)
	positive("SSOGATE_OAUTH_ACCESS_TTL", c.OAuthAccessTTL)
	positive("SSOGATE_OAUTH_REFRESH_TTL", c.OAuthRefreshTTL)
	if c.SessionIdle > c.SessionAbsolute {
		bad("SSOGATE_SESSION_IDLE", "%s is longer than SSOGATE_SESSION_ABSOLUTE (%s)", c.SessionIdle, c.SessionAbsolute)
	}
	if c.SAMLMaxIssueDelay < 30*time.Second || c.SAMLMaxIssueDelay > time.Hour {
		bad("SSOGATE_SAML_MAX_ISSUE_DELAY", "%s must be between 30s and 1h", c.SAMLMaxIssueDelay)
	}
	if c.SAMLClockSkew < 0 || c.SAMLClockSkew > 15*time.Minute {
		bad("SSOGATE_SAML_CLOCK_SKEW", "%s must be between 0 and 15m", c.SAMLClockSkew)
	}
	if c.OAuthCodeTTL <= 0 || c.OAuthCodeTTL > time.Minute {
		bad("SSOGATE_OAUTH_CODE_TTL", "%s must be between 1s and 60s", c.OAuthCodeTTL)
	}
	if c.ACSMaxBody < 16<<10 || c.ACSMaxBody > 16<<20 {
		bad("SSOGATE_ACS_MAX_BODY", "%d must be between 16384 and 16777216", c.ACSMaxBody)
	}
	if c.SCIMMaxBody < 16<<10 || c.SCIMMaxBody > 16<<20 {
		bad("SSOGATE_SCIM_MAX_BODY", "%d must be between 16384 and 16777216", c.SCIMMaxBody)
	}
	if c.PasswordConcurrency < 0 || c.PasswordConcurrency > 256 {
		bad("SSOGATE_PASSWORD_CONCURRENCY", "%d must be between 0 (one per core) and 256", c.PasswordConcurrency)
	}
	if c.SettingsTTL < 0 || c.SettingsTTL > time.Minute {
		bad("SSOGATE_SETTINGS_TTL", "%s must be between 0 and 1m", c.SettingsTTL)
	}
	if c.AssertionTTL < 10*time.Second || c.AssertionTTL > 5*time.Minute {
		bad("SSOGATE_ASSERTION_TTL", "%s must be between 10s and 5m", c.AssertionTTL)
	}
	if c.JWKSMaxAge < time.Minute || c.JWKSMaxAge > 24*time.Hour {
		bad("SSOGATE_JWKS_MAX_AGE", "%s must be between 1m and 24h", c.JWKSMaxAge)
	}
	if c.SigningKeyLead < c.JWKSMaxAge+time.Minute {
		bad("SSOGATE_SIGNING_KEY_LEAD", "%s must be at least SSOGATE_JWKS_MAX_AGE (%s) + 1m", c.SigningKeyLead, c.JWKSMaxAge)
	}
	if c.SigningKeyRotation < 2*c.SigningKeyLead {
		bad("SSOGATE_SIGNING_KEY_ROTATION", "%s must be at least twice SSOGATE_SIGNING_KEY_LEAD (%s)", c.SigningKeyRotation, c.SigningKeyLead)
	}
	if c.SigningKeySecret != "" && len(c.SigningKeySecret) < 32 {
		bad("SSOGATE_SIGNING_KEY_SECRET", "is %d characters; use at least 32 (e.g. openssl rand -base64 32)", len(c.SigningKeySecret))
	}
	between := func(key string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			bad(key, "%s must be between %s and %s", d, lo, hi)
		}
	}
	between("SSOGATE_REDIS_TIMEOUT", c.RedisTimeout, 10*time.Millisecond, 10*time.Second)
	between("SSOGATE_DB_TIMEOUT", c.DBTimeout, 10*time.Millisecond, time.Minute)
	between("SSOGATE_READY_TIMEOUT", c.ReadyTimeout, 10*time.Millisecond, 30*time.Second)
	between("SSOGATE_DRAIN_DELAY", c.DrainDelay, 0, 5*time.Minute)
	between("SSOGATE_SHUTDOWN_TIMEOUT", c.ShutdownTimeout, time.Second, 10*time.Minute)
	if c.MetadataInterval < time.Minute || c.MetadataInterval > 24*time.Hour {
		bad("SSOGATE_METADATA_INTERVAL", "%s must be between 1m and 24h", c.MetadataInterval)
	}
	if c.MetadataGrace < time.Minute || c.MetadataGrace > 90*24*time.Hour {
		bad("SSOGATE_METADATA_GRACE", "%s must be between 1m and 2160h (90 days)", c.MetadataGrace)
	}
	for _, h := range c.MetadataHosts {
		if !validHostEntry(h) {
			bad("SSOGATE_METADATA_HOSTS", "%q is not host or host:port (no scheme, path or user; an IPv6 address needs [brackets] and a port)", h)
		}
	}
	if !strings.Contains(c.CookieName, "ssogate_session") || strings.ContainsAny(c.CookieName, " ;,=\t\r\n\"") {
		bad("SSOGATE_COOKIE_NAME", "%q must contain ssogate_session and no separators", c.CookieName)
	}
	if c.Upstream != "" {
		if u, err := url.Parse(c.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
			bad("SSOGATE_UPSTREAM", "%q must be an http(s) URL with no path, query, fragment or user (e.g. http://127.0.0.1:3000)", redactURL(c.Upstream))
		}
	}
	if a := c.UpstreamAudience; a != "" && (len(a) > 512 || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f })) {
		bad("SSOGATE_UPSTREAM_AUDIENCE", "%q must be at most 512 characters without spaces or control characters", a)
	}
	if c.UpstreamDialTimeout <= 0 || c.UpstreamDialTimeout > time.Minute {
		bad("SSOGATE_UPSTREAM_DIAL_TIMEOUT", "%s must be between 1ms and 1m", c.UpstreamDialTimeout)
	}
	if c.UpstreamTimeout <= 0 || c.UpstreamTimeout > time.Hour {
		bad("SSOGATE_UPSTREAM_TIMEOUT", "%s must be between 1ms and 1h", c.UpstreamTimeout)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("SSOGATE_LOG_FORMAT", "%q must be text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("SSOGATE_LOG_LEVEL", "%q must be debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// validHostEntry accepts "host" or "host:port" (port 1-65535); an IPv6
// literal only as "[addr]:port".
func validHostEntry(e string) bool {
	h, p, err := net.SplitHostPort(e)
	if err != nil {
		if strings.Contains(e, ":") {
			return false
		}
		h, p = e, ""
	}
	if h == "" || strings.ContainsAny(h, "/@?#%[] \t") {
		return false
	}
	if strings.Contains(h, ":") && net.ParseIP(h) == nil {
		return false
	}
	if p != "" {
		n, err := strconv.Atoi(p)
		return err == nil && n >= 1 && n <= 65535
	}
	return true
}

// Secure reports whether the public URL is https (cookies get Secure and
// the __Host- prefix, HSTS is sent). The scheme is compared without regard
// to case, as URL schemes are (RFC 3986 §3.1).
func (c Config) Secure() bool {
	return len(c.PublicURL) >= len("https://") && strings.EqualFold(c.PublicURL[:len("https://")], "https://")
}

// NormalizePublicURL returns u without trailing slashes and with its scheme
// and host in lower case (both are case-insensitive), so that every
// comparison with it (cookie security, same-origin checks, the SAML
// Destination) sees one spelling. A value that does not parse is returned
// trimmed, for Validate to report.
func NormalizePublicURL(u string) string {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return u
	}
	p.Scheme, p.Host = strings.ToLower(p.Scheme), strings.ToLower(p.Host)
	return p.String()
}

// MetricsOn reports whether /metrics has a listener.
func (c Config) MetricsOn() bool { return c.MetricsAddr != "off" && c.MetricsAddr != "" }

// Embedded reports which stores run in-process, for the start-up log.
func (c Config) Embedded() (sqlite, memSessions bool) {
	return strings.HasPrefix(c.DatabaseURL, "sqlite:"), c.RedisURL == ""
}

// redactURL hides the secrets of a connection string for messages and
// logs: the password of the userinfo, and query or key=value parameters
// whose name says they hold a secret (sentinel_password, password=…). It
// works on the text, not on a parsed URL, because the strings it must
// cover are not all URLs to net/url (a Sentinel host list with a host
// lacking its port, a password with a raw "/" or "?", a libpq key=value
// DSN); where the text is ambiguous it hides too much, never too little.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return redactPairs(s, " ")
	}
	// The userinfo ends at the last "@": a password may hold any other
	// character, raw. An "@" in the query makes this hide more than the
	// password, which is the safe side.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if name, _, hasPassword := strings.Cut(rest[:at], ":"); hasPassword {
			rest = name + ":xxxxx" + rest[at:]
		}
	}
	if path, query, ok := strings.Cut(rest, "?"); ok {
		rest = path + "?" + redactPairs(query, "&")
	}
	return scheme + "://" + rest
}

// redactPairs masks the value of every key=value field (split by sep)
// whose key names a secret.
func redactPairs(s, sep string) string {
	fields := strings.Split(s, sep)
	for i, f := range fields {
		k, _, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		if lk := strings.ToLower(k); strings.Contains(lk, "password") || strings.Contains(lk, "secret") ||
			strings.Contains(lk, "token") || lk == "pass" || lk == "pwd" {
			fields[i] = k + "=xxxxx"
		}
	}
	return strings.Join(fields, sep)
}

// Redacted returns the URL with any password masked, for logs.
func Redacted(s string) string { return redactURL(s) }

// Environ is a process environment: "KEY=value" entries, as os.Environ
// returns them.
type Environ []string

// Getenv returns the value of key, or "" (the last entry wins, as in a
// shell).
func (env Environ) Getenv(key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// CheckNames refuses every SSOGATE_* variable of env that is not a setting
// (a misspelt name would otherwise be ignored in silence), naming the
// nearest setting when one is close. SSOGATE_TEST_* variables belong to the
// test suite and pass.
func CheckNames(env Environ) error {
	var known []string
	for _, k := range Keys() {
		known = append(known, k.Name)
	}
	var errs []error
	seen := map[string]bool{}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SSOGATE_") || strings.HasPrefix(name, "SSOGATE_TEST_") || seen[name] {
			continue
		}
		seen[name] = true
		if slices.Contains(known, name) {
			continue
		}
		if near := nearest(name, known); near != "" {
			errs = append(errs, fmt.Errorf("%s: not a setting; did you mean %s?", name, near))
		} else {
			errs = append(errs, fmt.Errorf("%s: not a setting (ssogate config lists them)", name))
		}
	}
	return errors.Join(errs...)
}

// nearest returns the name in known closest to name by edit distance, when
// that distance is small for the name's length; "" otherwise.
func nearest(name string, known []string) string {
	best, bestD := "", len(name)/3+1
	for _, k := range known {
		if d := editDistance(strings.TrimPrefix(name, "SSOGATE_"), strings.TrimPrefix(k, "SSOGATE_")); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (bytes; the names are
// ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
