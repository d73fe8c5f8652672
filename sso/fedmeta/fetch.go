package fedmeta

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ssogate/ssogate/internal/usererr"
)

// MicrosoftHosts are the Entra login hosts an App Federation Metadata URL
// may name (https, port 443): the global service, Azure Government, and
// Azure operated by 21Vianet (current and legacy host). Azure Germany
// (login.microsoftonline.de) closed in 2021 and is not listed.
var MicrosoftHosts = []string{
	"login.microsoftonline.com",
	"login.microsoftonline.us",
	"login.partner.microsoftonline.cn",
	"login.chinacloudapi.cn",
}

// Defaults of Fetcher.
const (
	DefaultMaxBytes = 1 << 20 // Entra's documents are a few KB
	DefaultTimeout  = 20 * time.Second
	maxRedirects    = 3
)

// Fetcher fetches federation metadata. The zero value is usable and fetches
// from MicrosoftHosts only.
type Fetcher struct {
	// ExtraHosts are the operator's allow-list (SSOGATE_METADATA_HOSTS):
	// "host" (port 443) or "host:port" entries. An IP literal is allowed
	// only when listed itself, and only these hosts may resolve to
	// loopback, private or link-local addresses.
	ExtraHosts []string
	MaxBytes   int64         // 0 = DefaultMaxBytes
	Timeout    time.Duration // the whole fetch; 0 = DefaultTimeout
	// RootCAs verifies the server's certificate; nil = the system trust
	// store (which honours SSL_CERT_FILE and SSL_CERT_DIR). Tests set it;
	// production leaves it nil.
	RootCAs *x509.CertPool
	// UserAgent is sent with every request ("" = "ssogate").
	UserAgent string

	once   sync.Once
	client *http.Client
}

// Result is one fetch.
type Result struct {
	// NotModified: the server answered 304 to the validators sent; Body
	// and Metadata are empty.
	NotModified bool
	Body        []byte
	Metadata    *Metadata
	// ETag and LastModified are the validators to send next time.
	ETag, LastModified string
}

// normHost lower-cases a host and drops one trailing dot.
func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// allowed reports whether host:port (port "" = 443) may be fetched, and
// whether it is one of the operator's own entries.
func (f *Fetcher) allowed(host, port string) (ok, operator bool) {
	host = normHost(host)
	if port == "" {
		port = "443"
	}
	for _, e := range f.ExtraHosts {
		eh, ep := e, "443"
		if h, p, err := net.SplitHostPort(e); err == nil {
			eh, ep = h, p
		}
		if normHost(eh) == host && ep == port {
			return true, true
		}
	}
	if port != "443" {
		return false, false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return false, false
	}
	for _, m := range MicrosoftHosts {
		if host == m {
			return true, false
		}
	}
	return false, false
}

// CheckURL tells whether raw may ever be fetched: https, no user info, and
// a host on the allow-list. The message says what to paste instead.
func (f *Fetcher) CheckURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || !u.IsAbs() {
		return fail(OutcomeRefusedURL, "this is not an absolute URL; paste the App Federation Metadata Url that Entra shows under Single sign-on → SAML Certificates", err)
	}
	if u.Scheme != "https" {
		return fail(OutcomeRefusedURL, "the metadata URL must use https", nil)
	}
	if u.User != nil {
		return fail(OutcomeRefusedURL, "the metadata URL must not carry a user name or password", nil)
	}
	if ok, _ := f.allowed(u.Hostname(), u.Port()); !ok {
		return fail(OutcomeRefusedURL, fmt.Sprintf("host %q is not a Microsoft Entra login host (%s) nor in SSOGATE_METADATA_HOSTS",
			u.Host, strings.Join(MicrosoftHosts, ", ")), nil)
	}
	return nil
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultMaxBytes
}

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return DefaultTimeout
}

// httpClient builds (once) the client: TLS 1.2+, verification against
// RootCAs or the system store, every redirect checked against the
// allow-list, and a dialer that refuses non-public addresses for the
// Microsoft hosts (no DNS answer can point a fetch into the private
// network). HTTPS_PROXY is honoured.
func (f *Fetcher) httpClient() *http.Client {
	f.once.Do(f.build)
	return f.client
}

func (f *Fetcher) build() {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ok, operator := f.allowed(host, port)
			if !ok || operator {
				// An operator's host, or the proxy.
				return d.DialContext(ctx, network, addr)
			}
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			var last error = fmt.Errorf("%s resolves to no public address", host)
			for _, ip := range ips {
				if !Public(ip) {
					last = fmt.Errorf("%s resolves to the non-public address %s", host, ip)
					continue
				}
				c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
				if err == nil {
					return c, nil
				}
				last = err
			}
			return nil, last
		},
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: f.RootCAs},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	f.client = &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fail(OutcomeRedirect, fmt.Sprintf("more than %d redirects", maxRedirects), nil)
			}
			if err := f.CheckURL(req.URL.String()); err != nil {
				return fail(OutcomeRedirect, fmt.Sprintf("the server redirected to %s://%s, which is not an allowed metadata host", req.URL.Scheme, req.URL.Host), err)
			}
			return nil
		},
	}
}

// Public reports whether ip is a global unicast address outside the private,
// loopback, link-local, CGNAT and unique-local ranges.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return false
	}
	cgnat := netip.MustParsePrefix("100.64.0.0/10")
	return !cgnat.Contains(ip)
}

// Fetch gets the document at rawURL, sending etag and lastModified (when
// not empty) as validators, and parses it. Every failure is a usererr.Error
// (see fail).
func (f *Fetcher) Fetch(ctx context.Context, rawURL, etag, lastModified string) (*Result, error) {
	if err := f.CheckURL(rawURL); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSpace(rawURL), nil)
	if err != nil {
		return nil, fail(OutcomeRefusedURL, "the metadata URL cannot be requested", err)
	}
	ua := f.UserAgent
	if ua == "" {
		ua = "ssogate"
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		req.Header.Set("If-Modified-Since", lastModified)
	}
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && (etag != "" || lastModified != ""):
		return &Result{NotModified: true, ETag: etag, LastModified: lastModified}, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fail(OutcomeHTTPStatus, fmt.Sprintf("the metadata server answered HTTP %d", resp.StatusCode), nil)
	}
	max := f.maxBytes()
	if resp.ContentLength > max {
		return nil, fail(OutcomeTooLarge, fmt.Sprintf("the document is %d bytes, more than the %d allowed", resp.ContentLength, max), nil)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if int64(len(body)) > max {
		return nil, fail(OutcomeTooLarge, fmt.Sprintf("the document is larger than the %d bytes allowed", max), nil)
	}
	md, err := Parse(body)
	if err != nil {
		return nil, err
	}
	return &Result{Body: body, Metadata: md, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}, nil
}

// transportError classifies a failed request or body read.
func transportError(ctx context.Context, err error) error {
	if e, ok := usererr.As(err); ok {
		return e
	}
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fail(OutcomeTimeout, "the metadata server did not answer in time", err)
	}
	return fail(OutcomeUnreachable, "the metadata server could not be reached (DNS, connection or TLS certificate)", err)
}
