package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("defaults must validate: %v", err)
	}
	if c.PublicURL != "http://127.0.0.1:8080" || c.DatabaseURL != "sqlite:./ssogate.db" || c.RedisURL != "" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if sq, mem := c.Embedded(); !sq || !mem {
		t.Fatal("defaults must be the embedded stores")
	}
	if c.Secure() {
		t.Fatal("http public URL is not secure")
	}
}

func TestLoadOverrides(t *testing.T) {
	c, err := Load(env(map[string]string{
		"SSOGATE_PUBLIC_URL":   "https://sso.example.com/",
		"SSOGATE_SESSION_IDLE": "30m",
		"SSOGATE_REDIS_URL":    "redis://127.0.0.1:6379/0",
		"SSOGATE_DATABASE_URL": "postgres://u:secret@db/x",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://sso.example.com" || !c.Secure() || c.SessionIdle != 30*time.Minute {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

func TestValidateReportsEveryProblemNamingItsKey(t *testing.T) {
	_, err := Load(env(map[string]string{
		"SSOGATE_PUBLIC_URL":       "ftp://x/path",
		"SSOGATE_DATABASE_URL":     "mysql://root:hunter2@db/x",
		"SSOGATE_SAML_CLOCK_SKEW":  "1h",
		"SSOGATE_OAUTH_CODE_TTL":   "5m",
		"SSOGATE_COOKIE_NAME":      "sid",
		"SSOGATE_LOG_FORMAT":       "xml",
		"SSOGATE_SESSION_IDLE":     "24h",
		"SSOGATE_SESSION_ABSOLUTE": "1h",
	}))
	if err == nil {
		t.Fatal("expected errors")
	}
	msg := err.Error()
	for _, key := range []string{"SSOGATE_PUBLIC_URL", "SSOGATE_DATABASE_URL", "SSOGATE_SAML_CLOCK_SKEW",
		"SSOGATE_OAUTH_CODE_TTL", "SSOGATE_COOKIE_NAME", "SSOGATE_LOG_FORMAT", "SSOGATE_SESSION_IDLE"} {
		if !strings.Contains(msg, key) {
			t.Errorf("error does not name %s:\n%s", key, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Error("a password reached the error message")
	}
}

func TestParseErrorsAreCollected(t *testing.T) {
	_, err := Load(env(map[string]string{"SSOGATE_SESSION_IDLE": "soon", "SSOGATE_ACS_MAX_BODY": "big", "SSOGATE_SAML_ALLOW_SHA1": "maybe"}))
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, key := range []string{"SSOGATE_SESSION_IDLE", "SSOGATE_ACS_MAX_BODY", "SSOGATE_SAML_ALLOW_SHA1"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("missing %s in %v", key, err)
		}
	}
}

func TestKeysCoverEveryEnvVariable(t *testing.T) {
	seen := map[string]bool{}
	var c Config
	_ = c.FromEnv(func(k string) string { seen[k] = true; return "" })
	for _, k := range Keys() {
		if !seen[k.Name] && k.Name != "SSOGATE_PUBLIC_URL" {
			t.Errorf("Keys lists %s, which FromEnv never reads", k.Name)
		}
		delete(seen, k.Name)
	}
	for k := range seen {
		t.Errorf("FromEnv reads %s, which Keys does not document", k)
	}
}

func TestLoadReportsParseAndValidationProblemsTogether(t *testing.T) {
	env := Environ{"SSOGATE_SESSION_IDLE=forever", "SSOGATE_ADDR=nope", "SSOGATE_TRUST_PROXY_HEADERS=maybe"}
	_, err := Load(env.Getenv)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"SSOGATE_SESSION_IDLE", "SSOGATE_ADDR", "SSOGATE_TRUST_PROXY_HEADERS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the report misses %s:\n%v", want, err)
		}
	}
}

func TestCheckNames(t *testing.T) {
	err := CheckNames(Environ{"SSOGATE_ADDR=127.0.0.1:1", "SSOGATE_SESION_IDLE=1h", "SSOGATE_PUBLIC_URL=x", "SSOGATE_TEST_REDIS_URL=r",
		"PATH=/bin", "SSOGATE_ENTIRELY_DIFFERENT=1", "SSOGATE_SESION_IDLE=2h"})
	if err == nil {
		t.Fatal("unknown names passed")
	}
	msg := err.Error()
	if !strings.Contains(msg, "SSOGATE_SESION_IDLE: not a setting; did you mean SSOGATE_SESSION_IDLE?") ||
		!strings.Contains(msg, "SSOGATE_ENTIRELY_DIFFERENT: not a setting (ssogate config lists them)") ||
		strings.Count(msg, "SSOGATE_SESION_IDLE") != 1 || strings.Contains(msg, "SSOGATE_TEST_") || strings.Contains(msg, "SSOGATE_ADDR") {
		t.Fatalf("report:\n%s", msg)
	}
	var known Environ
	for _, k := range Keys() {
		known = append(known, k.Name+"=x")
	}
	if err := CheckNames(known); err != nil {
		t.Fatalf("a documented setting was refused: %v", err)
	}
	if got := (Environ{"A=1", "B=x=y", "A=2"}); got.Getenv("A") != "2" || got.Getenv("B") != "x=y" || got.Getenv("C") != "" {
		t.Fatalf("Getenv: %q %q %q", got.Getenv("A"), got.Getenv("B"), got.Getenv("C"))
	}
}

// A public URL spelled in capitals is the same URL: it must switch cookie
// security on like its lower-case form (it once passed validation and left
// cookies without Secure).
func TestPublicURLCaseIsNormalised(t *testing.T) {
	for _, v := range []string{"HTTPS://SSO.Example.COM/", "Https://sso.example.com", "https://SSO.EXAMPLE.COM//"} {
		c, err := Load(env(map[string]string{"SSOGATE_PUBLIC_URL": v}))
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if c.PublicURL != "https://sso.example.com" || !c.Secure() {
			t.Errorf("%q → %q secure=%v, want https://sso.example.com secure", v, c.PublicURL, c.Secure())
		}
	}
	// A Config built without Load (tests, embedding) is judged alike.
	if !(Config{PublicURL: "HTTPS://sso.example.com"}).Secure() {
		t.Error("Secure() must compare the scheme without regard to case")
	}
	if (Config{PublicURL: "http://sso.example.com"}).Secure() || (Config{PublicURL: "https"}).Secure() {
		t.Error("http is not secure")
	}
}

func TestAssertionSettings(t *testing.T) {
	for name, tc := range map[string]struct {
		env map[string]string
		bad []string
	}{
		"ttl too long":           {map[string]string{"SSOGATE_ASSERTION_TTL": "6m"}, []string{"SSOGATE_ASSERTION_TTL"}},
		"lead below max-age":     {map[string]string{"SSOGATE_SIGNING_KEY_LEAD": "10m", "SSOGATE_JWKS_MAX_AGE": "10m"}, []string{"SSOGATE_SIGNING_KEY_LEAD"}},
		"rotation below 2×lead":  {map[string]string{"SSOGATE_SIGNING_KEY_ROTATION": "90m"}, []string{"SSOGATE_SIGNING_KEY_ROTATION"}},
		"short secret":           {map[string]string{"SSOGATE_SIGNING_KEY_SECRET": "hunter2"}, []string{"SSOGATE_SIGNING_KEY_SECRET"}},
		"max-age zero":           {map[string]string{"SSOGATE_JWKS_MAX_AGE": "0s"}, []string{"SSOGATE_JWKS_MAX_AGE"}},
		"all good, secret as is": {map[string]string{"SSOGATE_ASSERTION_TTL": "5m", "SSOGATE_SIGNING_KEY_SECRET": " 0123456789abcdef0123456789abcdef "}, nil},
	} {
		c, err := Load(env(tc.env))
		if len(tc.bad) == 0 {
			if err != nil || c.AssertionTTL != 5*time.Minute || c.SigningKeySecret != " 0123456789abcdef0123456789abcdef " {
				t.Errorf("%s: %v %+v", name, err, c)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, k := range tc.bad {
			if !strings.Contains(err.Error(), k) {
				t.Errorf("%s: error does not name %s: %v", name, k, err)
			}
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the secret reached the error", name)
		}
	}
}

func TestFailureSettings(t *testing.T) {
	c, err := Load(env(map[string]string{"SSOGATE_REDIS_TIMEOUT": "250ms", "SSOGATE_DB_TIMEOUT": "1s",
		"SSOGATE_READY_TIMEOUT": "800ms", "SSOGATE_DRAIN_DELAY": "0", "SSOGATE_SHUTDOWN_TIMEOUT": "30s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RedisTimeout != 250*time.Millisecond || c.DBTimeout != time.Second || c.ReadyTimeout != 800*time.Millisecond ||
		c.DrainDelay != 0 || c.ShutdownTimeout != 30*time.Second {
		t.Fatalf("failure settings not applied: %+v", c)
	}
	d := Defaults()
	if d.RedisTimeout >= time.Second || d.DBTimeout > 2*time.Second || d.ReadyTimeout > 2*time.Second {
		t.Fatalf("store deadlines must default well under the ~1-2 s a stalled store may cost a request: %+v", d)
	}
	_, err = Load(env(map[string]string{"SSOGATE_REDIS_TIMEOUT": "0s", "SSOGATE_DB_TIMEOUT": "2h",
		"SSOGATE_READY_TIMEOUT": "-1s", "SSOGATE_DRAIN_DELAY": "-5s", "SSOGATE_SHUTDOWN_TIMEOUT": "0s"}))
	for _, key := range []string{"SSOGATE_REDIS_TIMEOUT", "SSOGATE_DB_TIMEOUT", "SSOGATE_READY_TIMEOUT", "SSOGATE_DRAIN_DELAY", "SSOGATE_SHUTDOWN_TIMEOUT"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("a bad %s is not reported: %v", key, err)
		}
	}
}

func TestUpstreamSettings(t *testing.T) {
	c, err := Load(env(map[string]string{"SSOGATE_UPSTREAM": "http://127.0.0.1:3000", "SSOGATE_UPSTREAM_TIMEOUT": "2m",
		"SSOGATE_UPSTREAM_AUDIENCE": "https://hr.example.com"}))
	if err != nil || c.Upstream != "http://127.0.0.1:3000" || c.UpstreamTimeout != 2*time.Minute ||
		c.UpstreamDialTimeout != 5*time.Second || c.UpstreamAudience != "https://hr.example.com" {
		t.Fatalf("upstream settings: %v %+v", err, c)
	}
	for _, tc := range []struct{ key, val string }{
		{"SSOGATE_UPSTREAM", "127.0.0.1:3000"},
		{"SSOGATE_UPSTREAM", "http://127.0.0.1:3000/app"},
		{"SSOGATE_UPSTREAM", "http://u:hunter2@127.0.0.1:3000"},
		{"SSOGATE_UPSTREAM", "http://127.0.0.1:3000/?x=1"},
		{"SSOGATE_UPSTREAM", "ftp://files"},
		{"SSOGATE_UPSTREAM_AUDIENCE", "two words"},
		{"SSOGATE_UPSTREAM_TIMEOUT", "0s"},
		{"SSOGATE_UPSTREAM_DIAL_TIMEOUT", "2h"},
	} {
		_, err := Load(env(map[string]string{tc.key: tc.val}))
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s=%q: want an error naming the key, got %v", tc.key, tc.val, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("a password reached the error message: %v", err)
		}
	}
}

func TestIDPLoginHosts(t *testing.T) {
	c, err := Load(env(map[string]string{"SSOGATE_IDP_LOGIN_HOSTS": " IdP.Example.net , 127.0.0.1:8080,,"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.IDPLoginHosts) != 2 || c.IDPLoginHosts[0] != "idp.example.net" || c.IDPLoginHosts[1] != "127.0.0.1:8080" {
		t.Fatalf("hosts: %q", c.IDPLoginHosts)
	}
	for _, v := range []string{"https://idp.example.net", "idp.example.net/saml2", "user@idp.example.net", ":8080"} {
		if _, err := Load(env(map[string]string{"SSOGATE_IDP_LOGIN_HOSTS": v})); err == nil || !strings.Contains(err.Error(), "SSOGATE_IDP_LOGIN_HOSTS") {
			t.Errorf("%q: %v", v, err)
		}
	}
}

func TestMetadataSettings(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetadataInterval != time.Hour || c.MetadataGrace != 24*time.Hour || c.MetadataHosts != nil {
		t.Fatalf("metadata defaults: %s %s %v", c.MetadataInterval, c.MetadataGrace, c.MetadataHosts)
	}
	c, err = Load(env(map[string]string{"SSOGATE_METADATA_INTERVAL": "15m", "SSOGATE_METADATA_GRACE": "72h",
		"SSOGATE_METADATA_HOSTS": " idp.example.net , 10.0.0.5:8443,[::1]:9443,"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetadataInterval != 15*time.Minute || c.MetadataGrace != 72*time.Hour ||
		strings.Join(c.MetadataHosts, "|") != "idp.example.net|10.0.0.5:8443|[::1]:9443" {
		t.Fatalf("metadata overrides: %s %s %q", c.MetadataInterval, c.MetadataGrace, c.MetadataHosts)
	}
	for _, bad := range []map[string]string{
		{"SSOGATE_METADATA_INTERVAL": "10s"},
		{"SSOGATE_METADATA_INTERVAL": "48h"},
		{"SSOGATE_METADATA_GRACE": "-1h"},
		{"SSOGATE_METADATA_HOSTS": "https://idp.example.net"},
		{"SSOGATE_METADATA_HOSTS": "idp.example.net/metadata"},
		{"SSOGATE_METADATA_HOSTS": "idp.example.net:0"},
		{"SSOGATE_METADATA_HOSTS": "user@idp.example.net"},
		{"SSOGATE_METADATA_HOSTS": "::1"},
	} {
		_, err := Load(env(bad))
		for key := range bad {
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("%v: error %v does not name %s", bad, err, key)
			}
		}
	}
}

func TestRedactedHidesEverySecret(t *testing.T) {
	cases := []struct{ in, want string }{
		{"redis://u:secret@h:6379/0", "redis://u:xxxxx@h:6379/0"},
		{"redis://h:6379/0", "redis://h:6379/0"},
		{"redis://:secret@h/0", "redis://:xxxxx@h/0"},
		{"postgres://app:secret@db/app?sslmode=require", "postgres://app:xxxxx@db/app?sslmode=require"},
		// Not URLs to net/url: a host without its port in a Sentinel
		// list, a raw "/" or "?" in the password.
		{"redis+sentinel://u:secret@s1:26379,s2/m", "redis+sentinel://u:xxxxx@s1:26379,s2/m"},
		{"redis://u:se/cr?et@h/0", "redis://u:xxxxx@h/0"},
		// Secrets in the query.
		{"redis+sentinel://s1/m?sentinel_password=secret&db=2", "redis+sentinel://s1/m?sentinel_password=xxxxx&db=2"},
		{"redis+sentinel://u:secret@s1/m?sentinel_username=su&sentinel_password=secret2",
			"redis+sentinel://u:xxxxx@s1/m?sentinel_username=su&sentinel_password=xxxxx"},
		// A libpq key=value DSN.
		{"host=db user=app password=secret dbname=x", "host=db user=app password=xxxxx dbname=x"},
		{"sqlite:/var/lib/ssogate/db", "sqlite:/var/lib/ssogate/db"},
	}
	for _, c := range cases {
		got := Redacted(c.in)
		if got != c.want {
			t.Errorf("Redacted(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, "se/cr") {
			t.Errorf("Redacted(%q) = %q still shows a secret", c.in, got)
		}
	}
}

func TestValidationMessageHidesTheRedisPassword(t *testing.T) {
	c, err := Load(Environ{"SSOGATE_REDIS_URL=redis+sentinl://u:secret@s1:26379,s2/m"}.Getenv)
	if err == nil {
		err = c.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "SSOGATE_REDIS_URL") {
		t.Fatalf("want a SSOGATE_REDIS_URL error, got %v", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
}
