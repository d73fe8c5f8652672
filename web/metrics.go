package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	logins      *prometheus.CounterVec
	acsDuration *prometheus.HistogramVec
	certExpiry  *prometheus.GaugeVec
	scim        *prometheus.CounterVec
	oauthTokens *prometheus.CounterVec
	// rateLimited counts sign-in requests refused by the per-client
	// limit; failuresFolded refused sign-ins not stored again (an
	// identical one was stored within the minute).
	rateLimited    prometheus.Counter
	failuresFolded prometheus.Counter

	unavailable *prometheus.CounterVec
	logouts     *prometheus.CounterVec
	metadata    *prometheus.CounterVec
	// passwordChecks counts argon2id computations by outcome (match,
	// mismatch, error, hashed) and the calls refused as busy.
	passwordChecks *prometheus.CounterVec
	handler        http.Handler
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssogate_logins_total", Help: "SAML sign-ins by outcome (success, refused) and reason.",
		}, []string{"outcome", "reason"}),
		acsDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ssogate_acs_duration_seconds", Help: "Time to answer an ACS POST, by outcome.",
			Buckets: []float64{.0005, .001, .002, .004, .008, .016, .032, .064, .128, .256, .512, 1},
		}, []string{"outcome"}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ssogate_certificate_expiry_seconds", Help: "Seconds until each trusted IdP certificate expires.",
		}, []string{"company", "sha1"}),
	}
	m.scim = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_scim_requests_total", Help: "SCIM requests from Entra's provisioning, by method and HTTP status.",
	}, []string{"method", "status"})
	m.oauthTokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_oauth_token_requests_total", Help: "Mobile token endpoint answers, by outcome (issued, or the RFC 6749 error code).",
	}, []string{"outcome"})
	m.unavailable = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_unavailable_total", Help: "Requests answered 503 because a store gave no answer, by store (sessions, database, deadline) and route family (acs, api, scim, oauth, forward, admin, page).",
	}, []string{"store", "route"})
	m.rateLimited = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ssogate_signin_rate_limited_total", Help: "Sign-in requests (login, ACS, authorize) refused with 429 by the per-client limit.",
	})
	m.failuresFolded = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ssogate_signin_failures_folded_total", Help: "Refused sign-ins not stored because an identical one was stored within the minute.",
	})
	reg.MustRegister(m.rateLimited, m.failuresFolded)
	reg.MustRegister(m.logins, m.acsDuration, m.certExpiry, m.scim, m.oauthTokens, m.unavailable)
	m.logouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_logouts_total", Help: "SAML Single Logout messages, by direction (idp: Entra's LogoutRequest; sp: our sign-out and Entra's answer) and outcome.",
	}, []string{"direction", "outcome"})
	reg.MustRegister(m.logouts)
	m.metadata = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_metadata_refresh_total", Help: "Federation metadata refreshes by company and outcome (ok, not_modified, or why it failed).",
	}, []string{"company", "outcome"})
	reg.MustRegister(m.metadata)
	m.passwordChecks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssogate_password_checks_total", Help: "Local password hashes computed, by outcome (match, mismatch, error, hashed), and attempts refused because SSOGATE_PASSWORD_CONCURRENCY checks were running (busy).",
	}, []string{"outcome"})
	reg.MustRegister(m.passwordChecks)
	// The Go and process collectors may already be registered by the caller.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}
