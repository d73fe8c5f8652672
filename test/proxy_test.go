package test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
)

// product is the upstream of the proxy tests: it records what it receives
// and answers with it.
type product struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []seenRequest
	// gate and gotFirst make the streaming checks: the product sends the
	// rest of /drip only after the client has read its first line, and
	// says when /trickle has received the upload's first bytes.
	gate, gotFirst chan struct{}
}

type seenRequest struct {
	Method, Path, RawPath, Query, Host string
	Header                             http.Header
	BodySHA256                         string
	BodyLen                            int64
}

const bigDownload = 20 << 20

// bigByte is the content of the 20 MB download: position-dependent, so a
// reordered or truncated copy does not hash the same.
func bigByte(i int) byte { return byte(i*7 + i>>13) }

func newProduct(t *testing.T) *product {
	t.Helper()
	p := &product{gate: make(chan struct{}), gotFirst: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/c/{co}/drip", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		select {
		case <-p.gate:
			_, _ = io.WriteString(w, "rest\n")
		case <-time.After(5 * time.Second):
			_, _ = io.WriteString(w, "buffered\n")
		}
	})
	mux.HandleFunc("/c/{co}/trickle", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, buf); err != nil || string(buf) != "first" {
			http.Error(w, "no first part", http.StatusBadRequest)
			return
		}
		close(p.gotFirst)
		rest, _ := io.ReadAll(r.Body)
		_, _ = w.Write(rest)
	})
	record := func(r *http.Request) seenRequest {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		sr := seenRequest{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, Query: r.URL.RawQuery, Host: r.Host,
			Header: r.Header.Clone(), BodySHA256: hex.EncodeToString(h.Sum(nil)), BodyLen: n}
		p.mu.Lock()
		p.seen = append(p.seen, sr)
		p.mu.Unlock()
		return sr
	}
	mux.HandleFunc("/c/{co}/big", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "application/octet-stream")
		buf := make([]byte, 64<<10)
		for off := 0; off < bigDownload; off += len(buf) {
			for i := range buf {
				buf[i] = bigByte(off + i)
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/c/{co}/slow", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.Handle("/c/{co}/ws", websocket.Handler(func(ws *websocket.Conn) {
		record(ws.Request())
		_, _ = io.Copy(ws, ws)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sr := record(r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Security-Policy", "default-src 'self' 'unsafe-inline'")
		if r.URL.Query().Has("plant") { // try to set ssogate's cookies
			w.Header().Add("Set-Cookie", "ssogate_session=planted; Path=/")
			w.Header().Add("Set-Cookie", "__Host-ssogate_admin=planted; Path=/; Secure")
		}
		w.Header().Add("Set-Cookie", "product_pref=dark; Path=/")
		w.WriteHeader(http.StatusTeapot)
		_ = json.NewEncoder(w).Encode(sr)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *product) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

func (p *product) last(t *testing.T) seenRequest {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.seen) == 0 {
		t.Fatal("the product received nothing")
	}
	return p.seen[len(p.seen)-1]
}

func withUpstream(u string) gwOpt { return func(c *configT) { c.Upstream = u } }

// newProxyGW is a gateway in front of a fresh product.
func newProxyGW(t *testing.T, b backend, opts ...gwOpt) (*gw, *product) {
	p := newProduct(t)
	return newGW(t, b, append([]gwOpt{withUpstream(p.srv.URL)}, opts...)...), p
}

// send makes one request with a browser's cookies and extra headers
// (name, value pairs; "Accept" defaults to a browser navigation's).
func send(t *testing.T, br *browser, method, u string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	testenv.Must(t, err, "request")
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Accept" {
			req.Header.Set(hdr[i], hdr[i+1])
		} else {
			req.Header.Add(hdr[i], hdr[i+1])
		}
	}
	resp, err := br.Do(req)
	testenv.Must(t, err, "%s %s", method, u)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func seenOf(t *testing.T, resp *http.Response) seenRequest {
	t.Helper()
	var sr seenRequest
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("not the product's answer: %d %s", resp.StatusCode, body(t, resp))
	}
	testenv.Must(t, json.NewDecoder(resp.Body).Decode(&sr), "product answer")
	return sr
}

func TestProxyHandsTheProductTheSignedInEmployee(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g, p := newProxyGW(t, b)
		maja := g.employee(t, "maja.holm@acme.example")
		maja.IsAdmin = true
		testenv.Must(t, g.dir.UpdateEmployee(context.Background(), maja), "roles")
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		gwURL, _ := url.Parse(g.URL)
		br.jar.SetCookies(gwURL, []*http.Cookie{{Name: "product_session", Value: "p1"}, {Name: "theme", Value: "a=b"}})

		// Same method, path and query; spoofed identity headers dropped,
		// also under another case, with "_" for "-", and named in Connection.
		resp := send(t, br, http.MethodGet, g.URL+"/c/acme/reports/2026?q=a%20b&x=%2F", nil,
			"X-Ssogate-User", "ceo@acme.example", "x-ssogate-employee-id", "1", "X-SSOGATE-ASSERTION", "forged",
			"X_Ssogate_Company", "globex", "X-Ssogate-Roles", "admin", "Connection", "X-Ssogate-Assertion, X-Ssogate-Email",
			"X-Forwarded-For", "6.6.6.6", "X-Forwarded-Host", "evil.example", "X-Real-IP", "6.6.6.6",
			"X-Original-URL", "/c/globex/", "Forwarded", "for=6.6.6.6")
		sr := seenOf(t, resp)
		if sr.Method != "GET" || sr.Path != "/c/acme/reports/2026" || sr.Query != "q=a%20b&x=%2F" {
			t.Fatalf("upstream saw %s %s ? %s", sr.Method, sr.Path, sr.Query)
		}
		for k, v := range sr.Header {
			if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(k, "_", "-")), "x-ssogate-") && len(v) != 1 {
				t.Errorf("%s reached the product %d times: %q", k, len(v), v)
			}
		}
		want := map[string]string{"X-Ssogate-Employee-Id": maja.ID, "X-Ssogate-Company": "acme",
			"X-Ssogate-User": "maja.holm@acme.example", "X-Ssogate-Email": "maja.holm@acme.example",
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": gwURL.Host,
			"Cookie": "product_session=p1; theme=a=b", "X-Real-Ip": "", "X-Original-Url": "", "Forwarded": "",
			"Authorization": "", "X-Ssogate-Roles": "", "X_ssogate_company": ""}
		for k, v := range want {
			if got := strings.Join(sr.Header.Values(k), "|"); got != v {
				t.Errorf("upstream header %s = %q, want %q", k, got, v)
			}
		}
		for k := range sr.Header {
			if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "X-Ssogate-Company") && k != "X-Ssogate-Company" {
				t.Errorf("spoofed %s reached the product", k)
			}
		}
		ck := g.sessionCookie(br)
		if strings.Contains(strings.Join(sr.Header.Values("Cookie"), ";"), "ssogate") || strings.Contains(flat(sr.Header), ck.Value) {
			t.Fatal("the session cookie reached the product")
		}
		aud := p.srv.URL
		claims := g.verifyAssertion(t, sr.Header.Get("X-Ssogate-Assertion"), aud)
		if claims["sub"] != maja.ID || claims["company"] != "acme" || claims["userName"] != "maja.holm@acme.example" ||
			claims["email"] != "maja.holm@acme.example" || claims["name"] != "Maja Holm" {
			t.Fatalf("claims %v", claims)
		}
		if roles, _ := claims["roles"].([]any); len(roles) != 1 || roles[0] != "admin" {
			t.Fatalf("roles %v", claims["roles"])
		}
		sid, _ := claims["sid"].(string)
		if len(sid) < 16 || strings.Contains(sid, ck.Value) || sid == session.Key(ck.Value) || strings.Contains(session.Key(ck.Value), sid) {
			t.Fatalf("sid %q is not an opaque handle", sid)
		}
		// The same session keeps its sid; another session of Maja has another.
		sr2 := seenOf(t, send(t, br, http.MethodGet, g.URL+"/c/acme/", nil))
		if sr2.Path != "/c/acme/" || g.verifyAssertion(t, sr2.Header.Get("X-Ssogate-Assertion"), aud)["sid"] != sid {
			t.Fatalf("start page: %s, sid changed", sr2.Path)
		}
		other := g.signedInBrowser(t, "maja.holm@acme.example")
		if g.verifyAssertion(t, seenOf(t, send(t, other, http.MethodGet, g.URL+"/c/acme/x", nil)).Header.Get("X-Ssogate-Assertion"), aud)["sid"] == sid {
			t.Fatal("two sessions share a sid")
		}

		// The answer is the product's: its status, its CSP alone, its own
		// cookies, never one of ssogate's.
		if csp := resp.Header.Values("Content-Security-Policy"); len(csp) != 1 || !strings.Contains(csp[0], "unsafe-inline") {
			t.Fatalf("CSP on the product's answer: %q", csp)
		}
		resp = send(t, br, http.MethodGet, g.URL+"/c/acme/x?plant=1", nil)
		var names []string
		for _, c := range resp.Cookies() {
			names = append(names, c.Name)
		}
		if strings.Join(names, ",") != "product_pref" {
			t.Fatalf("cookies the product set through the proxy: %v", names)
		}
		if c := g.sessionCookie(br); c == nil || c.Value != ck.Value {
			t.Fatal("the product replaced the session cookie")
		}

		// Other methods, and the product's own API paths, pass too; the
		// product's own Basic auth passes untouched.
		sr = seenOf(t, send(t, br, http.MethodDelete, g.URL+"/c/acme/api/leave/7", nil, "Accept", "application/json",
			"Authorization", "Basic dTpw"))
		if sr.Method != "DELETE" || sr.Path != "/c/acme/api/leave/7" || sr.Header.Get("Authorization") != "Basic dTpw" {
			t.Fatalf("DELETE: %+v", sr)
		}
		// ssogate's own routes stay ssogate's.
		n := p.count()
		if code, me := g.me(br, "acme"); code != http.StatusOK || me["id"] != maja.ID {
			t.Fatalf("/api/me: %d %v", code, me)
		}
		for _, path := range []string{"/c/acme/admin/nothing-here", "/c/acme/saml/other", "/c/acme/Login", "/c/acme/api/me/x",
			"/c/acme/scim/v3", "/c/acme/static/x.css", "/c/acme/auth/verify", "/c/acme/oauth/x"} {
			want := http.StatusNotFound
			if strings.HasPrefix(path, "/c/acme/admin/") {
				want = http.StatusSeeOther // the console's own sign-in
			}
			if r := send(t, br, http.MethodGet, g.URL+path, nil); r.StatusCode != want {
				t.Errorf("%s: %d, want %d from ssogate", path, r.StatusCode, want)
			}
		}
		// Paths an upstream might resolve elsewhere are refused.
		for _, path := range []string{"/c/acme/%2e%2e/globex/x", "/c/acme/a/../../globex/", "/c/acme/a%2Fb", "/c/acme/a%5Cb",
			"/c/acme//admin/", "/c/acme/./x"} {
			r := rawRequest(t, g, "GET "+path+" HTTP/1.1\r\nCookie: "+ck.Name+"="+ck.Value+"\r\n")
			if !strings.HasPrefix(r, "HTTP/1.1 400") && !strings.HasPrefix(r, "HTTP/1.1 404") {
				t.Errorf("%s: %.40q", path, r)
			}
		}
		if p.count() != n {
			t.Fatalf("the product received %d requests for ssogate's routes or unsafe paths", p.count()-n)
		}
	})
}

func flat(h http.Header) string {
	var b strings.Builder
	for k, v := range h {
		b.WriteString(k + ": " + strings.Join(v, ",") + "\n")
	}
	return b.String()
}

// rawRequest sends a request line and headers exactly as given (Go's
// client would clean the path) and returns the whole answer.
func rawRequest(t *testing.T, g *gw, head string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	testenv.Must(t, err, "dial")
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(conn, head+"Host: "+strings.TrimPrefix(g.URL, "http://")+"\r\nAccept: text/html\r\nConnection: close\r\n\r\n")
	testenv.Must(t, err, "write")
	b, _ := io.ReadAll(conn)
	return string(b)
}

func TestProxyStreamsBothWaysAndUpgradesWebSockets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g, p := newProxyGW(t, b)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		// 20 MB down, intact.
		resp := send(t, br, http.MethodGet, g.URL+"/c/acme/big", nil)
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		testenv.Must(t, err, "download")
		want := sha256.New()
		buf := make([]byte, bigDownload)
		for i := range buf {
			buf[i] = bigByte(i)
		}
		want.Write(buf)
		if resp.StatusCode != 200 || n != bigDownload || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
			t.Fatalf("download: %d, %d bytes, hash match %v", resp.StatusCode, n, bytes.Equal(h.Sum(nil), want.Sum(nil)))
		}
		// 5 MB up, streamed (no Content-Length: chunked), intact.
		up := make([]byte, 5<<20)
		for i := range up {
			up[i] = byte(i*31 + i>>11)
		}
		sum := sha256.Sum256(up)
		pr, pw := io.Pipe()
		go func() {
			for off := 0; off < len(up); off += 1 << 16 {
				if _, err := pw.Write(up[off : off+1<<16]); err != nil {
					return
				}
			}
			pw.Close()
		}()
		sr := seenOf(t, send(t, br, http.MethodPost, g.URL+"/c/acme/upload", pr, "Content-Type", "application/octet-stream"))
		if sr.Method != "POST" || sr.BodyLen != int64(len(up)) || sr.BodySHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("upload: %s %d bytes %s", sr.Method, sr.BodyLen, sr.BodySHA256)
		}
		// Streamed, not buffered: the first line of an answer reaches the
		// client before the product writes the rest, and the first part of
		// an upload reaches the product before the client sends the rest.
		resp = send(t, br, http.MethodGet, g.URL+"/c/acme/drip", nil)
		rd := bufio.NewReader(resp.Body)
		if line, err := rd.ReadString('\n'); err != nil || line != "first\n" {
			t.Fatalf("first line: %q %v", line, err)
		}
		close(p.gate)
		if line, _ := rd.ReadString('\n'); line != "rest\n" {
			t.Fatalf("the proxy held the answer back: %q", line)
		}
		upR, upW := io.Pipe()
		go func() {
			_, _ = io.WriteString(upW, "first")
			select {
			case <-p.gotFirst:
				_, _ = io.WriteString(upW, "rest")
			case <-time.After(5 * time.Second):
				_, _ = io.WriteString(upW, "buffered")
			}
			upW.Close()
		}()
		if r := send(t, br, http.MethodPost, g.URL+"/c/acme/trickle", upR); r.StatusCode != 200 || body(t, r) != "rest" {
			t.Fatalf("the proxy held the upload back: %d", r.StatusCode)
		}
		// A WebSocket: the upgrade reaches the product with the identity,
		// and frames flow both ways.
		ck := g.sessionCookie(br)
		cfg, err := websocket.NewConfig(strings.Replace(g.URL, "http", "ws", 1)+"/c/acme/ws", g.URL)
		testenv.Must(t, err, "ws config")
		cfg.Header.Set("Cookie", ck.Name+"="+ck.Value)
		cfg.Header.Set("X-Ssogate-User", "forged")
		ws, err := websocket.DialConfig(cfg)
		testenv.Must(t, err, "ws dial through the proxy")
		defer ws.Close()
		for _, msg := range [][]byte{[]byte("hello"), up[:70000]} {
			_, err := ws.Write(msg)
			testenv.Must(t, err, "ws send")
			got := make([]byte, len(msg))
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.ReadFull(ws, got)
			testenv.Must(t, err, "ws receive")
			if !bytes.Equal(got, msg) {
				t.Fatalf("ws echo of %d bytes differs", len(msg))
			}
		}
		last := p.last(t)
		if last.Path != "/c/acme/ws" || last.Header.Get("X-Ssogate-User") != "maja.holm@acme.example" ||
			strings.Contains(last.Header.Get("Cookie"), "ssogate") {
			t.Fatalf("ws upgrade as the product saw it: %s %v", last.Path, last.Header)
		}
		g.verifyAssertion(t, last.Header.Get("X-Ssogate-Assertion"), p.srv.URL)
		// Without a session the upgrade is refused before the product.
		n0 := p.count()
		cfg.Header.Del("Cookie")
		if _, err := websocket.DialConfig(cfg); err == nil {
			t.Fatal("a WebSocket upgrade without a session was proxied")
		}
		if p.count() != n0 {
			t.Fatal("the product saw the refused upgrade")
		}
	})
}

func TestProxyRefusesWhoMayNotPass(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g, p := newMobileGWProxy(t, b)
		anon := newBrowser()
		// A browser navigation goes to the login, with the way back.
		r := send(t, anon, http.MethodGet, g.URL+"/c/acme/reports/2026?q=a%20b&y=1", nil)
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/c/acme/login?return_to="+url.QueryEscape("/c/acme/reports/2026?q=a%20b&y=1") {
			t.Fatalf("navigation without session: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		r = send(t, anon, http.MethodHead, g.URL+"/c/acme/", nil)
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/c/acme/login?return_to=%2Fc%2Facme%2F" {
			t.Fatalf("HEAD start page without session: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		// The login takes that way back: after Entra, the browser lands on the product page.
		lr := send(t, anon, http.MethodGet, g.URL+r.Header.Get("Location"), nil)
		if lr.StatusCode != http.StatusFound || !strings.Contains(lr.Header.Get("Location"), "/fake-entra/saml2") {
			t.Fatalf("login: %d %q", lr.StatusCode, lr.Header.Get("Location"))
		}
		// Everything else gets 401 JSON with WWW-Authenticate.
		for _, tc := range []struct{ method, accept, auth, wantWWW string }{
			{"GET", "application/json", "", `Bearer realm="ssogate"`},
			{"GET", "*/*", "", `Bearer realm="ssogate"`},
			{"POST", "text/html", "", `Bearer realm="ssogate"`},
			{"GET", "text/html", "Bearer " + session.NewSecret(), `Bearer realm="ssogate", error="invalid_token"`},
			{"PUT", "application/json", "Bearer ", `Bearer realm="ssogate", error="invalid_token"`},
		} {
			r := send(t, anon, tc.method, g.URL+"/c/acme/api/leave", strings.NewReader("{}"), "Accept", tc.accept, "Authorization", tc.auth)
			var e map[string]string
			_ = json.NewDecoder(r.Body).Decode(&e)
			if r.StatusCode != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != tc.wantWWW || e["error"] != "unauthorized" ||
				!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%+v: %d %q %v", tc, r.StatusCode, r.Header.Get("WWW-Authenticate"), e)
			}
		}
		// An admin console session is not an employee session.
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		if r := send(t, a.browser, http.MethodGet, g.URL+"/c/acme/x", nil); r.StatusCode != http.StatusFound {
			t.Fatalf("admin session at the product: %d", r.StatusCode)
		}
		// Company A's session and token never pass under /c/B/.
		g.createCompany("globex", "Globex", g.idp)
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		if r := send(t, br, http.MethodGet, g.URL+"/c/globex/x", nil); r.StatusCode != http.StatusFound ||
			!strings.HasPrefix(r.Header.Get("Location"), "/c/globex/login?") {
			t.Fatalf("acme's session at globex: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		pk := newPKCE()
		access, _ := g.wantTokens(t, g.redeem(t, "acme", g.codeFor(t, br, "acme", pk), pk))
		if r := send(t, newBrowser(), http.MethodGet, g.URL+"/c/globex/x", nil, "Authorization", "Bearer "+access); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("acme's token at globex: %d", r.StatusCode)
		}
		if r := send(t, newBrowser(), http.MethodGet, g.URL+"/c/nosuch/x", nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown company: %d", r.StatusCode)
		}
		if p.count() != 0 {
			t.Fatalf("the product received %d refused requests", p.count())
		}
		// The mobile token passes at its own company, and is not forwarded.
		sr := seenOf(t, send(t, newBrowser(), http.MethodGet, g.URL+"/c/acme/api/leave", nil, "Accept", "application/json",
			"Authorization", "Bearer "+access))
		if sr.Header.Get("Authorization") != "" || strings.Contains(flat(sr.Header), access) ||
			sr.Header.Get("X-Ssogate-User") != "maja.holm@acme.example" {
			t.Fatalf("bearer request as the product saw it: %v", sr.Header)
		}
		// No signing key: 503, and nothing reaches the product.
		n := p.count()
		g.ident.fail.Store(true)
		r = send(t, br, http.MethodGet, g.URL+"/c/acme/x", nil)
		if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body(t, r), "cannot vouch for your identity") {
			t.Fatalf("mint failing: %d", r.StatusCode)
		}
		r = send(t, br, http.MethodPost, g.URL+"/c/acme/api/x", strings.NewReader("{}"), "Accept", "application/json")
		if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body(t, r), `"error":"identity_unavailable"`) {
			t.Fatalf("mint failing, API: %d", r.StatusCode)
		}
		g.ident.fail.Store(false)
		if p.count() != n {
			t.Fatal("the product received a request without an assertion")
		}
	})
}

func newMobileGWProxy(t *testing.T, b backend) (*gw, *product) {
	g, p := newProxyGW(t, b)
	g.addClient(g.company, appClientID, appRedirect, appLink)
	return g, p
}

func TestProxyStopsAtOnceWhenAccessEnds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g, p := newProxyGW(t, b)
		tok := mintToken(t, g)
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		a := g.adminLogin(t, "acme", adminEmail, adminPassword)
		maja := g.employee(t, "maja.holm@acme.example")
		passes := func(br *browser) bool {
			t.Helper()
			n := p.count()
			r := send(t, br, http.MethodGet, g.URL+"/c/acme/x", nil)
			if (r.StatusCode == http.StatusTeapot) != (p.count() == n+1) {
				t.Fatalf("status %d but the product saw %d requests", r.StatusCode, p.count()-n)
			}
			return r.StatusCode == http.StatusTeapot
		}
		// Logout.
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		stolen := *g.sessionCookie(br)
		if !passes(br) {
			t.Fatal("signed in, refused")
		}
		if r := send(t, br, http.MethodPost, g.URL+"/c/acme/logout", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.StatusCode)
		}
		replay := newBrowser()
		u, _ := url.Parse(g.URL)
		replay.jar.SetCookies(u, []*http.Cookie{&stolen})
		if passes(br) || passes(replay) {
			t.Fatal("passed after logout")
		}
		// Admin revocation.
		br = g.signedInBrowser(t, "maja.holm@acme.example")
		if !passes(br) {
			t.Fatal("signed in again, refused")
		}
		expectDone(t, a.post(t, "/employees/"+maja.ID+"/sessions/revoke", nil), "sessions-revoked")
		if passes(br) {
			t.Fatal("passed after the admin revoked the sessions")
		}
		// Suspension by Entra, then deletion.
		br = g.signedInBrowser(t, "maja.holm@acme.example")
		if !passes(br) {
			t.Fatal("signed in a third time, refused")
		}
		if code, _ := g.scimCall(t, tok, "PATCH", "/Users/"+maja.ID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"Replace","path":"active","value":"False"}]}`); code != http.StatusOK && code != http.StatusNoContent {
			t.Fatalf("suspend: %d", code)
		}
		if passes(br) {
			t.Fatal("passed after suspension")
		}
		g.scimCall(t, tok, "PATCH", "/Users/"+maja.ID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`)
		br = g.signedInBrowser(t, "maja.holm@acme.example")
		if !passes(br) {
			t.Fatal("reactivated, refused")
		}
		if code, _ := g.scimCall(t, tok, "DELETE", "/Users/"+maja.ID, ""); code != http.StatusNoContent {
			t.Fatalf("delete: %d", code)
		}
		if passes(br) {
			t.Fatal("passed after deletion")
		}
	})
}

func TestProxySlidesTheIdleTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g, p := newProxyGW(t, b, func(c *configT) { c.SessionIdle = 2 * time.Second })
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		start := time.Now()
		// Proxied requests every 1.2 s keep the session past its 2 s idle
		// lifetime; then 2.5 s of silence end it.
		for i := 1; i <= 3; i++ {
			time.Sleep(time.Until(start.Add(time.Duration(i) * 1200 * time.Millisecond)))
			if r := send(t, br, http.MethodGet, g.URL+"/c/acme/x", nil); r.StatusCode != http.StatusTeapot {
				t.Fatalf("request %d at %s: %d", i, time.Since(start), r.StatusCode)
			}
		}
		time.Sleep(2500 * time.Millisecond)
		n := p.count()
		if r := send(t, br, http.MethodGet, g.URL+"/c/acme/x", nil); r.StatusCode != http.StatusFound || p.count() != n {
			t.Fatalf("after the idle lifetime: %d", r.StatusCode)
		}
	})
}

func TestProxyUpstreamDownOrSlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		// Down: nothing listens at the upstream's address.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		testenv.Must(t, err, "listen")
		dead := "http://" + ln.Addr().String()
		ln.Close()
		g := newGW(t, b, withUpstream(dead))
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		r := send(t, br, http.MethodGet, g.URL+"/c/acme/x", nil)
		page := body(t, r)
		if r.StatusCode != http.StatusBadGateway || !strings.Contains(page, "could not be reached") ||
			r.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("upstream down, page: %d\n%s", r.StatusCode, page)
		}
		r = send(t, br, http.MethodPost, g.URL+"/c/acme/api/x", strings.NewReader("{}"), "Accept", "*/*")
		if r.StatusCode != http.StatusBadGateway || !strings.Contains(body(t, r), `"error":"upstream_unavailable"`) {
			t.Fatalf("upstream down, API: %d", r.StatusCode)
		}
		// A product path that looks like one of ssogate's protocols still
		// gets the product's kind of answer.
		r = send(t, br, http.MethodGet, g.URL+"/c/acme/reports/scim/v2/Users", nil)
		if page := body(t, r); r.StatusCode != http.StatusBadGateway || !strings.Contains(page, "could not be reached") || strings.Contains(page, "urn:ietf:params:scim") {
			t.Fatalf("upstream down, SCIM-looking product path: %d\n%s", r.StatusCode, page)
		}
		// Slow: no answer within SSOGATE_UPSTREAM_TIMEOUT.
		p := newProduct(t)
		g2 := newGWOn(t, g.dir, g.sess, g, withUpstream(p.srv.URL), func(c *configT) { c.UpstreamTimeout = 300 * time.Millisecond })
		br2 := g2.signedInBrowser(t, "maja.holm@acme.example")
		t0 := time.Now()
		r = send(t, br2, http.MethodGet, g2.URL+"/c/acme/slow", nil, "Accept", "application/json")
		if r.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body(t, r), `"error":"upstream_timeout"`) || time.Since(t0) > 3*time.Second {
			t.Fatalf("slow upstream: %d after %s", r.StatusCode, time.Since(t0))
		}
		r = send(t, br2, http.MethodGet, g2.URL+"/c/acme/slow", nil)
		if r.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body(t, r), "did not answer in time") {
			t.Fatalf("slow upstream, page: %d", r.StatusCode)
		}
		if strings.Contains(g.logText()+g2.logText(), "status=500") {
			t.Fatal("a 500 was logged")
		}
	})
}

func TestProxyForwardedForBehindATrustedProxy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g, _ := newProxyGW(t, b, func(c *configT) { c.TrustProxyHeaders = true })
		br := g.signedInBrowser(t, "maja.holm@acme.example")
		sr := seenOf(t, send(t, br, http.MethodGet, g.URL+"/c/acme/x", nil, "X-Forwarded-For", "203.0.113.7"))
		if got := sr.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "203.0.113.7, 127.0.0.1" {
			t.Fatalf("X-Forwarded-For behind a trusted proxy: %q", got)
		}
	})
}
