// Command baseline is the yardstick ssogate's login throughput is measured
// against, in the same run on the same machine: two plain crewjam/saml
// service providers that trust the same fake Entra certificate as the
// gateway under test.
//
//	/samlsp/saml/acs  crewjam's samlsp middleware, its default ACS and its
//	                  default session (an RS256 JWT cookie), AllowIDPInitiated
//	/raw/saml/acs     a bare handler: ParseForm + ServiceProvider.ParseResponse
//	                  (AllowIDPInitiated), 200 with the NameID; no session
//
// Entity IDs are the ACS URLs with /acs replaced by /metadata. It listens
// on loopback only.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/ssogate/ssogate/sso/ssotest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address (loopback only)")
	certFile := fs.String("cert", "", "the fake Entra's certificate (PEM), e.g. load keygen's DIR/idp-cert.pem")
	issuer := fs.String("issuer", "", "the fake Entra's Identifier (DIR/issuer.txt)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s: the baseline listens on loopback only", *addr)
	}
	if *certFile == "" || *issuer == "" {
		return errors.New("-cert and -issuer are required")
	}
	raw, err := os.ReadFile(*certFile)
	if err != nil {
		return err
	}
	blk, _ := pem.Decode(raw)
	if blk == nil {
		return fmt.Errorf("%s: no PEM certificate", *certFile)
	}
	if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
		return err
	}
	idp := &saml.EntityDescriptor{
		EntityID: strings.TrimSpace(*issuer),
		IDPSSODescriptors: []saml.IDPSSODescriptor{{
			SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
				ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
				KeyDescriptors: []saml.KeyDescriptor{{Use: "signing", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
					X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(blk.Bytes)}}}}}},
			}},
			SingleSignOnServices: []saml.Endpoint{{Binding: saml.HTTPRedirectBinding, Location: "https://login.microsoftonline.com/bench/saml2"}},
		}},
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	root := "http://" + ln.Addr().String()

	// samlsp needs an SP key: it signs its session JWTs (and would sign
	// requests). A throwaway RSA-2048 key, as a real deployment would have.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	spCert, err := ssotest.SelfSigned(key, "baseline SP", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	u, _ := url.Parse(root + "/samlsp/")
	mw, err := samlsp.New(samlsp.Options{EntityID: root + "/samlsp/saml/metadata", URL: *u, Key: key, Certificate: spCert,
		IDPMetadata: idp, AllowIDPInitiated: true})
	if err != nil {
		return err
	}

	acs, _ := url.Parse(root + "/raw/saml/acs")
	md, _ := url.Parse(root + "/raw/saml/metadata")
	rawSP := &saml.ServiceProvider{EntityID: md.String(), AcsURL: *acs, MetadataURL: *md, IDPMetadata: idp,
		AllowIDPInitiated: true}

	mux := http.NewServeMux()
	mux.Handle("/samlsp/", mw)
	mux.HandleFunc("POST /raw/saml/acs", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		a, err := rawSP.ParseResponse(r, []string{""})
		if err != nil {
			http.Error(w, "Authentication failed", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(a.Subject.NameID.Value))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		_ = srv.Close()
	}()
	log.Printf("baseline listening on %s (samlsp ACS %s/samlsp/saml/acs, raw ACS %s/raw/saml/acs)", root, root, root)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
