package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// The product behind the gateway (SSOGATE_UPSTREAM): every request under
// /c/{company}/ that is not one of ssogate's own routes is proxied there,
// with the same method, path and query, for a signed-in employee of that
// company only, carrying the identity headers of identityHeaders and
// nothing of ssogate's own credentials.

// upstream is the configured product and the reverse proxy in front of it.
type upstream struct {
	target *url.URL
	aud    string // aud of the assertion
	rp     *httputil.ReverseProxy
}

// proxyCall is what the proxy handler hands the ReverseProxy callbacks of
// one request.
type proxyCall struct {
	c        echo.Context
	identity http.Header // the identity headers to send
	dropAuth bool        // the Authorization header was our bearer token
	ours     http.Header // our security headers, put back on an error page
}

type proxyCallKey struct{}

// ctxWantsJSON overrides wantsJSON for one request (bool).
const ctxWantsJSON = "ssogate.wantsJSON"

func (s *Server) newUpstream() (*upstream, error) {
	target, err := url.Parse(s.cfg.Upstream)
	if err != nil {
		return nil, err
	}
	target.Path, target.RawPath = "", ""
	up := &upstream{target: target, aud: s.cfg.UpstreamAudience}
	if up.aud == "" {
		up.aud = target.Scheme + "://" + target.Host
	}
	tr := &http.Transport{
		Proxy:                 nil, // never an HTTP(S)_PROXY from the environment
		DialContext:           (&net.Dialer{Timeout: s.cfg.UpstreamDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: s.cfg.UpstreamTimeout,
		TLSHandshakeTimeout:   s.cfg.UpstreamDialTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	up.rp = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { s.rewrite(up, pr) },
		Transport:      tr,
		BufferPool:     proxyBuffers{},
		ModifyResponse: s.filterResponse,
		ErrorHandler:   s.proxyError,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return up, nil
}

// proxy serves a product path: authenticate, then hand the request to the
// upstream. A refused request reaches the upstream in no form.
func (s *Server) proxy(c echo.Context) error {
	req := c.Request()
	t, err := s.tenantOf(c)
	if err != nil {
		return err
	}
	nav := isNavigation(req)
	c.Set(ctxWantsJSON, !nav)
	slug, reserved, err := productPath(req.URL)
	if err != nil || slug != t.Company.Slug {
		return refuse(http.StatusBadRequest, "bad_path", "Bad address",
			"This address is not allowed.", "Check the link you followed.", err)
	}
	if reserved { // one of ssogate's own routes, with a method or sub-path it does not serve
		return echo.NewHTTPError(http.StatusNotFound).SetInternal(errors.New("reserved path not proxied"))
	}
	p, err := s.authenticateRequest(req, t, true)
	if errors.Is(err, errNoPrincipal) {
		if nav {
			return c.Redirect(http.StatusFound, signInURL("", slug, req.URL.RequestURI()))
		}
		c.Response().Header().Set("WWW-Authenticate", wwwAuthenticate(req))
		return unauthorized(err)
	}
	if err != nil {
		return err
	}
	idh, err := s.identityHeaders(req.Context(), t, p, s.upstream.aud)
	if err != nil {
		return identityUnavailable(err)
	}
	// The product's answer carries the product's own security headers, not
	// ours (a second CSP would intersect with its own); HSTS is host-wide and
	// stays. An error page of ours gets them back.
	h := c.Response().Header()
	ours := http.Header{}
	for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
		"Cross-Origin-Opener-Policy", "Cache-Control"} {
		if v, ok := h[k]; ok {
			ours[k] = v
			delete(h, k)
		}
	}
	// Downloads, uploads and WebSockets of a signed-in employee are not cut
	// by the server's read/write timeouts (they protect the unauthenticated
	// paths); the upstream timeouts apply.
	rc := http.NewResponseController(c.Response())
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	pc := &proxyCall{c: c, identity: idh, dropAuth: p.Session.Kind == session.KindBearer, ours: ours}
	s.upstream.rp.ServeHTTP(c.Response(), req.WithContext(context.WithValue(req.Context(), proxyCallKey{}, pc)))
	return nil
}

// rewrite builds the request the upstream gets: its URL, the
// X-Forwarded-* headers, the identity headers, and nothing of ssogate's
// credentials or of a client's X-Ssogate-* headers. ReverseProxy has
// already removed hop-by-hop headers (including any named in Connection)
// and the client's Forwarded and X-Forwarded-* headers.
func (s *Server) rewrite(up *upstream, pr *httputil.ProxyRequest) {
	pc, _ := pr.In.Context().Value(proxyCallKey{}).(*proxyCall)
	pr.SetURL(up.target)
	out := pr.Out.Header
	scrubHeaders(out)
	stripOurCookies(out)
	if pc == nil || pc.dropAuth {
		out.Del("Authorization")
	}
	ip, _, err := net.SplitHostPort(pr.In.RemoteAddr)
	if err != nil {
		ip = pr.In.RemoteAddr
	}
	if prior := pr.In.Header.Values("X-Forwarded-For"); s.cfg.TrustProxyHeaders && len(prior) > 0 {
		ip = strings.Join(prior, ", ") + ", " + ip
	}
	out.Set("X-Forwarded-For", ip)
	out.Set("X-Forwarded-Host", pr.In.Host)
	out.Set("X-Forwarded-Proto", s.public.Scheme)
	if pc != nil {
		for k, v := range pc.identity {
			out[k] = v
		}
	}
}

// spoofable are request headers some frameworks take as the client's
// address or the request's real path; the client never sets them for the
// product.
var spoofable = []string{"X-Real-Ip", "True-Client-Ip", "X-Client-Ip", "X-Original-Url", "X-Original-Uri", "X-Rewrite-Url",
	"X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Uri", "X-Forwarded-Method"}

// scrubHeaders removes every header whose name is ours (X-Ssogate-*,
// compared case-insensitively and with "_" taken as "-", since CGI-style
// frameworks map both to HTTP_X_SSOGATE_…) and the spoofable ones.
func scrubHeaders(h http.Header) {
	for k := range h {
		if isOurHeader(k) {
			delete(h, k)
		}
	}
	for _, k := range spoofable {
		h.Del(k)
	}
}

func isOurHeader(name string) bool {
	const p = "x-ssogate-"
	if len(name) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == '_' {
			c = '-'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// isOurCookie reports whether a cookie name is ssogate's: every cookie of
// ours has "ssogate_" in its name (session, bind, admin, CSRF, with or
// without __Host-), and SSOGATE_COOKIE_NAME must contain "ssogate_session".
func isOurCookie(name string) bool {
	return strings.Contains(strings.ToLower(strings.TrimSpace(name)), "ssogate_")
}

// stripOurCookies removes ssogate's cookies from the Cookie header(s); the
// product's own cookies pass byte for byte.
func stripOurCookies(h http.Header) {
	vals := h.Values("Cookie")
	if len(vals) == 0 {
		return
	}
	var keep []string
	for _, v := range vals {
		for part := range strings.SplitSeq(v, ";") {
			name, _, _ := strings.Cut(part, "=")
			if strings.TrimSpace(part) == "" || isOurCookie(name) {
				continue
			}
			keep = append(keep, strings.TrimSpace(part))
		}
	}
	h.Del("Cookie")
	if len(keep) > 0 {
		h.Set("Cookie", strings.Join(keep, "; "))
	}
}

// filterResponse keeps the product from setting or clearing ssogate's
// cookies.
func (s *Server) filterResponse(res *http.Response) error {
	sc := res.Header.Values("Set-Cookie")
	if len(sc) == 0 {
		return nil
	}
	var keep []string
	for _, v := range sc {
		name, _, _ := strings.Cut(v, "=")
		if isOurCookie(name) {
			s.log.Warn("proxy: dropped a Set-Cookie for one of ssogate's cookies from the upstream", "cookie", strings.TrimSpace(name),
				"path", res.Request.URL.Path)
			continue
		}
		keep = append(keep, v)
	}
	res.Header["Set-Cookie"] = keep
	if len(keep) == 0 {
		res.Header.Del("Set-Cookie")
	}
	return nil
}

// proxyError answers when the upstream could not be reached or did not
// answer in time: 502 or 504, a page or JSON like every other refusal,
// never a 500.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	pc, _ := r.Context().Value(proxyCallKey{}).(*proxyCall)
	if r.Context().Err() != nil { // the client went away
		s.log.Debug("proxy: client gone", "path", r.URL.Path, "err", err)
		return
	}
	status, code, title, msg := http.StatusBadGateway, "upstream_unavailable", "Service unavailable",
		"The application behind the sign-in could not be reached."
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		status, code, title, msg = http.StatusGatewayTimeout, "upstream_timeout", "Service did not answer",
			"The application behind the sign-in did not answer in time."
	}
	// The cause is logged but not wrapped: the product's timeout is not an
	// outage of our stores (errorHandler would answer that with its 503).
	ue := refuse(status, code, title, msg, "Try again in a moment. If it keeps happening, contact your IT department.",
		fmt.Errorf("upstream %s: %v", s.upstream.target.Host, err))
	if pc == nil {
		w.WriteHeader(status)
		return
	}
	for k, v := range pc.ours {
		w.Header()[k] = v
	}
	s.errorHandler(ue, pc.c)
}

// isNavigation reports whether a request is a browser navigation (GET or
// HEAD that accepts HTML and carries no Authorization): refusals redirect
// it to the login; everything else gets 401 JSON.
func isNavigation(r *http.Request) bool {
	return navigation(r.Method, r.Header)
}

func navigation(method string, h http.Header) bool {
	return (method == http.MethodGet || method == http.MethodHead) && h.Get("Authorization") == "" &&
		strings.Contains(strings.ToLower(strings.Join(h.Values("Accept"), ",")), "text/html")
}

// signInURL is the company's login with a return path; base "" = relative.
func signInURL(base, slug, returnTo string) string {
	return base + "/c/" + slug + "/login?return_to=" + url.QueryEscape(returnTo)
}

func wwwAuthenticate(r *http.Request) string {
	if isBearer(r.Header.Get("Authorization")) {
		return `Bearer realm="ssogate", error="invalid_token"`
	}
	return `Bearer realm="ssogate"`
}

func identityUnavailable(err error) *errorPage {
	return refuse(http.StatusServiceUnavailable, "identity_unavailable", "Sign-in service unavailable",
		"The gateway cannot vouch for your identity right now.", "Try again in a moment. If it keeps happening, contact your IT department.", err)
}

// errUnsafePath: a product path an upstream could resolve to another place
// than the one authorized.
var errUnsafePath = errors.New("path has dot or empty segments, an encoded slash or backslash, or control characters")

// ownRoutes are the first segments under /c/{company}/ that are
// ssogate's own (contract.md); "api" only with "me" or "employees".
var ownRoutes = map[string]bool{"login": true, "logout": true, "signed-out": true, "saml": true, "oauth": true,
	"scim": true, "admin": true, "auth": true, "static": true}

// productPath returns the company slug of a path /c/{slug}/… and whether
// the rest is one of ssogate's own routes (compared case-insensitively, so
// a case-insensitive upstream cannot be reached there either). It refuses
// paths that an upstream might normalise into another company's or into
// ours: dot segments, empty segments, encoded "/" or "\", backslashes and
// control characters.
func productPath(u *url.URL) (slug string, reserved bool, err error) {
	p := u.Path
	if strings.ContainsAny(p, "\\") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", false, errUnsafePath
	}
	if raw := strings.ToLower(u.EscapedPath()); strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return "", false, errUnsafePath
	}
	rest, ok := strings.CutPrefix(p, "/c/")
	if !ok {
		return "", false, errUnsafePath
	}
	segs := strings.Split(rest, "/")
	if len(segs) < 2 || !directory.ValidSlug(segs[0]) {
		return "", false, errUnsafePath
	}
	for i, sg := range segs {
		if sg == "." || sg == ".." || sg == "" && i != len(segs)-1 {
			return "", false, errUnsafePath
		}
	}
	first := strings.ToLower(segs[1])
	reserved = ownRoutes[first] ||
		first == "api" && len(segs) > 2 && (strings.EqualFold(segs[2], "me") || strings.EqualFold(segs[2], "employees"))
	return segs[0], reserved, nil
}

// proxyBuffers shares 32 KiB copy buffers between proxied requests.
type proxyBuffers struct{}

var proxyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (proxyBuffers) Get() []byte  { return *(proxyBufPool.Get().(*[]byte)) }
func (proxyBuffers) Put(b []byte) { proxyBufPool.Put(&b) }
