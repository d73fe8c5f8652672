package test

import (
	"bytes"
	"compress/flate"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/sso/ssotest"
)

type configT = config.Config

var idAttrRE = regexp.MustCompile(`\sID="([^"]+)"`)

// requestIDOf decodes an HTTP-Redirect SAMLRequest and returns its ID.
func requestIDOf(t *testing.T, samlRequest string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(samlRequest)
	if err != nil {
		t.Fatalf("SAMLRequest not base64: %v", err)
	}
	x, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), 1<<20))
	if err != nil {
		t.Fatalf("SAMLRequest not deflated: %v", err)
	}
	m := idAttrRE.FindSubmatch(x)
	if m == nil {
		t.Fatalf("no ID in %s", x)
	}
	return string(m[1])
}

func certsOf(g *gw, idp *ssotest.IdP) (string, error) {
	sum := sha256.Sum256(idp.Cert.Raw)
	return hex.EncodeToString(sum[:]), nil
}

func certSHA1(idp *ssotest.IdP) string {
	sum := sha1.Sum(idp.Cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
