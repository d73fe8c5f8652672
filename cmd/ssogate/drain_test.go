package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/directory/sqlstore"
	"github.com/ssogate/ssogate/sso/ssotest"
)

// TestServeDrainsOnSignal: when serve's context ends (SIGTERM), /readyz
// turns 503 while the listener still accepts; then the listener closes, a
// request that was in flight completes, its sign-in record is stored, and
// run returns nil (exit 0).
func TestServeDrainsOnSignal(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	dbURL := "sqlite:" + filepath.Join(dir, "gw.db")
	env := map[string]string{
		"SSOGATE_ADDR": addr, "SSOGATE_DATABASE_URL": dbURL, "SSOGATE_LOG_LEVEL": "warn",
		"SSOGATE_DRAIN_DELAY": "600ms", "SSOGATE_SHUTDOWN_TIMEOUT": "10s",
	}
	idp, err := ssotest.New("https://sts.windows.net/" + ssotest.NewTenantID() + "/")
	if err != nil {
		t.Fatal(err)
	}
	mustCLI(t, env, "", "company", "create", "acme", "--name", "Acme")
	mustCLI(t, env, idp.CertificateBase64(), "sso", "set-cert", "acme", "--file", "-")
	mustCLI(t, env, "", "sso", "configure", "acme", "--enabled", "true", "--entra-identifier", idp.Issuer)
	csv := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(csv, []byte("userName,email,givenName,familyName\nmaja@acme.example,maja@acme.example,Maja,Holm\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, env, "", "employees", "import", "acme", "--file", csv)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuf
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &out)
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	readyz := func() (int, error) {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if code, err := readyz(); err == nil && code == http.StatusOK {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("serve did not become ready:\n%s", out.String())
		}
	}

	// A sign-in in flight: headers and half the body sent before the signal.
	saml, err := idp.ResponseBase64(ssotest.Assertion{ACSURL: base + "/c/acme/saml/acs", Audience: base + "/c/acme/saml/metadata",
		NameID: "maja@acme.example", Email: "maja@acme.example", GivenName: "Maja", FamilyName: "Holm"})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"SAMLResponse": {saml}}.Encode()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(form) / 2
	_, err = io.WriteString(conn, "POST /c/acme/saml/acs HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: "+strconv.Itoa(len(form))+"\r\n\r\n"+form[:half])
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the server has read the headers: the request is active

	cancel() // SIGTERM
	signalled := time.Now()
	sawDraining := false
	for time.Since(signalled) < 5*time.Second {
		code, err := readyz()
		if err != nil {
			break // the listener closed
		}
		if code == http.StatusServiceUnavailable {
			sawDraining = true
		} else if sawDraining {
			t.Fatalf("/readyz went back to %d while draining", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	closedAfter := time.Since(signalled)
	if !sawDraining {
		t.Fatalf("/readyz never answered 503 before the listener closed (closed after %s)", closedAfter)
	}
	if closedAfter < 500*time.Millisecond {
		t.Fatalf("the listener closed %s after the signal, before the drain delay (600ms)", closedAfter)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("new connections are still accepted after the drain delay")
	}
	select {
	case err := <-done:
		t.Fatalf("run returned (%v) with a request in flight", err)
	default:
	}

	// The request in flight completes.
	if _, err := io.WriteString(conn, form[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Set-Cookie"), "ssogate_session") {
		t.Fatalf("in-flight sign-in: %d %v\n%s", resp.StatusCode, resp.Header, out.String())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after the drain: %v\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after the drain")
	}

	st, err := sqlstore.Open(context.Background(), dbURL, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	co, err := st.GetCompany(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	list, err := st.ListSignIns(context.Background(), co.ID, false, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !list[0].Success || list[0].NameID != "maja@acme.example" {
		t.Fatalf("sign-in records after the drain: %+v", list)
	}
}
