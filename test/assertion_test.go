package test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssogate/ssogate/identity"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/web"
)

// gwIdentity is the gateway's signer with a switch that makes minting fail
// (a key store outage), for the tests of what is then forwarded: nothing.
// Otherwise it is the signer web.New would make.
type gwIdentity struct {
	inner web.Identity
	fail  atomic.Bool
}

func (i *gwIdentity) Mint(ctx context.Context, aud string, c identity.Claims) (string, error) {
	if i.fail.Load() {
		return "", identity.ErrUnavailable
	}
	return i.inner.Mint(ctx, aud, c)
}

func (i *gwIdentity) JWKS(ctx context.Context) ([]byte, error) { return i.inner.JWKS(ctx) }

func (i *gwIdentity) MaxAge() time.Duration { return i.inner.MaxAge() }

// jwk is one key of a JWKS document (EC P-256 or OKP Ed25519).
type jwk struct {
	Kty, Crv, Kid, Alg, X, Y string
}

// verifyAssertion checks an X-Ssogate-Assertion as the README tells a
// product to: signature by a key of the gateway's JWKS chosen by kid, alg
// ES256 or EdDSA only, iss, aud, exp (required, at most 5 min after iat).
// It returns the claims.
func (g *gw) verifyAssertion(t *testing.T, raw, aud string) jwt.MapClaims {
	t.Helper()
	resp, err := http.Get(g.URL + "/.well-known/jwks.json")
	testenv.Must(t, err, "GET JWKS")
	doc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	testenv.Must(t, err, "read JWKS")
	var set struct{ Keys []jwk }
	testenv.Must(t, json.Unmarshal(doc, &set), "JWKS JSON")
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		for _, k := range set.Keys {
			if k.Kid != kid || kid == "" {
				continue
			}
			x, _ := base64.RawURLEncoding.DecodeString(k.X)
			switch {
			case k.Kty == "EC" && k.Crv == "P-256":
				y, _ := base64.RawURLEncoding.DecodeString(k.Y)
				return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			case k.Kty == "OKP" && k.Crv == "Ed25519":
				return ed25519.PublicKey(x), nil
			}
		}
		return nil, errors.New("no key for kid " + kid)
	}, jwt.WithValidMethods([]string{"ES256", "EdDSA"}), jwt.WithIssuer(g.cfg.PublicURL), jwt.WithAudience(aud),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		t.Fatalf("assertion does not verify: %v", err)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if iat == nil || exp.Sub(iat.Time) > 5*time.Minute || exp.Sub(iat.Time) <= 0 {
		t.Fatalf("assertion lifetime iat %v exp %v", iat, exp)
	}
	return claims
}
