package admin

// The credentials a company hands out: SCIM Secret Tokens and SCIM OAuth
// clients for Entra's provisioning service, and the OAuth clients of the
// mobile app. Each operation checks its input, writes and audits in one
// transaction, and returns a new secret once; only its hash is stored
// (internal/scimcred). The caller forgets what its own instance cached
// (a revoked token stops at once there, elsewhere within
// SSOGATE_SETTINGS_TTL).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/ssogate/ssogate/internal/oauthsyntax"
	"github.com/ssogate/ssogate/internal/scimcred"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
)

// Limits of what an admin types.
const (
	maxLabel        = 100 // a token's or client's label, an app's name
	maxClientID     = 128 // an OAuth client id
	maxRedirectURIs = 20  // per OAuth client
)

// label checks a label or name: at most maxLabel bytes, no control
// characters (it is printed in tab-separated CLI lists and audit details).
func label(what, s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxLabel {
		return "", usererr.Errorf(usererr.Invalid, "label_too_long", "The %s is too long (%d characters at most).", what, maxLabel)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", usererr.Errorf(usererr.Invalid, "bad_label", "The %s must be one line of text.", what)
	}
	return s, nil
}

func secretYears(years int) error {
	if years < scimcred.MinSecretYears || years > scimcred.MaxSecretYears {
		return usererr.New(usererr.Invalid, "bad_secret_lifetime", "Choose a secret lifetime of 1, 2 or 3 years.")
	}
	return nil
}

// MintSCIMToken makes a Secret Token for Entra's provisioning and returns
// it once with its record. Audit: scim.token.mint ("id=N label=…").
func (s *Service) MintSCIMToken(ctx context.Context, a Actor, companyID int64, lbl string) (string, *directory.SCIMToken, error) {
	lbl, err := label("label", lbl)
	if err != nil {
		return "", nil, err
	}
	var tok string
	var rec *directory.SCIMToken
	err = s.Dir.InTx(ctx, func(tx directory.Store) error {
		var err error
		if tok, rec, err = s.mintSCIMToken(ctx, tx, companyID, lbl); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "scim.token.mint", fmt.Sprintf("id=%d label=%q", rec.ID, lbl))
	})
	if err != nil {
		return "", nil, err
	}
	return tok, rec, nil
}

func (s *Service) mintSCIMToken(ctx context.Context, tx directory.Store, companyID int64, lbl string) (string, *directory.SCIMToken, error) {
	tok, hash, err := scimcred.New(scimcred.TokenPrefix)
	if err != nil {
		return "", nil, err
	}
	rec := &directory.SCIMToken{CompanyID: companyID, Hash: hash, Label: lbl, CreatedAt: s.now().UTC()}
	if err := tx.AddSCIMToken(ctx, rec); err != nil {
		return "", nil, fmt.Errorf("admin: store SCIM token: %w", err)
	}
	return tok, rec, nil
}

// activeSCIMToken returns the company's unrevoked token id.
func activeSCIMToken(ctx context.Context, st directory.Store, companyID, id int64) (*directory.SCIMToken, error) {
	toks, err := st.ListSCIMTokens(ctx, companyID)
	if err != nil {
		return nil, err
	}
	for i := range toks {
		if toks[i].ID == id && toks[i].RevokedAt == nil {
			return &toks[i], nil
		}
	}
	return nil, usererr.Errorf(usererr.NotFound, "no_such_token", "This company has no active SCIM token %d.", id)
}

// RotateSCIMToken replaces the active token id: a new one with its label,
// and the old one revoked, in one step (Entra's Secret Token must be
// replaced at once). Audit: scim.token.rotate ("id=N replaces id=M
// (revoked)").
func (s *Service) RotateSCIMToken(ctx context.Context, a Actor, companyID, id int64) (string, *directory.SCIMToken, error) {
	var tok string
	var rec *directory.SCIMToken
	err := s.Dir.InTx(ctx, func(tx directory.Store) error {
		old, err := activeSCIMToken(ctx, tx, companyID, id)
		if err != nil {
			return err
		}
		if tok, rec, err = s.mintSCIMToken(ctx, tx, companyID, old.Label); err != nil {
			return err
		}
		if err := tx.RevokeSCIMToken(ctx, companyID, old.ID, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "scim.token.rotate", fmt.Sprintf("id=%d replaces id=%d (revoked)", rec.ID, old.ID))
	})
	if err != nil {
		return "", nil, err
	}
	return tok, rec, nil
}

// RevokeSCIMToken revokes the active token id. Audit: scim.token.revoke
// ("id=N").
func (s *Service) RevokeSCIMToken(ctx context.Context, a Actor, companyID, id int64) error {
	return s.Dir.InTx(ctx, func(tx directory.Store) error {
		if _, err := activeSCIMToken(ctx, tx, companyID, id); err != nil {
			return err
		}
		if err := tx.RevokeSCIMToken(ctx, companyID, id, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "scim.token.revoke", fmt.Sprintf("id=%d", id))
	})
}

// newSCIMSecret makes a client secret valid for years from now.
func (s *Service) newSCIMSecret(companyID int64, years int) (string, directory.SCIMClientSecret, error) {
	secret, hash, err := scimcred.New(scimcred.ClientSecretPrefix)
	if err != nil {
		return "", directory.SCIMClientSecret{}, err
	}
	return secret, directory.SCIMClientSecret{CompanyID: companyID, Hash: hash, ExpiresAt: s.now().AddDate(years, 0, 0).UTC()}, nil
}

// AddSCIMClient creates an OAuth client for Entra's provisioning (client
// credentials grant) with one secret valid for years (1–3) and returns the
// client and the secret, once. Audit: scim.client.add ("client_id=…
// label=… expires=YYYY-MM-DD").
func (s *Service) AddSCIMClient(ctx context.Context, a Actor, companyID int64, lbl string, years int) (*directory.SCIMClient, string, error) {
	lbl, err := label("label", lbl)
	if err != nil {
		return nil, "", err
	}
	if err := secretYears(years); err != nil {
		return nil, "", err
	}
	id, err := scimcred.NewClientID()
	if err != nil {
		return nil, "", err
	}
	secret, sec, err := s.newSCIMSecret(companyID, years)
	if err != nil {
		return nil, "", err
	}
	cl := &directory.SCIMClient{CompanyID: companyID, ClientID: id, Label: lbl, Secrets: []directory.SCIMClientSecret{sec}}
	err = s.Dir.InTx(ctx, func(tx directory.Store) error {
		if err := tx.AddSCIMClient(ctx, cl); err != nil {
			return fmt.Errorf("admin: store SCIM client: %w", err)
		}
		return s.audit(ctx, tx, companyID, a.Name, "scim.client.add",
			fmt.Sprintf("client_id=%s label=%q expires=%s", cl.ClientID, lbl, sec.ExpiresAt.Format("2006-01-02")))
	})
	if err != nil {
		return nil, "", err
	}
	return cl, secret, nil
}

// scimClient loads the company's client clientID.
func scimClient(ctx context.Context, st directory.Store, companyID int64, clientID string) (*directory.SCIMClient, error) {
	cl, err := st.GetSCIMClient(ctx, companyID, clientID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, usererr.Wrap(err, usererr.NotFound, "no_such_client", fmt.Sprintf("This company has no SCIM client %q.", clientID))
	}
	return cl, err
}

// AddSCIMClientSecret adds a secret valid for years (1–3) to the client
// and returns it, once (rotation: the client's other secrets stay valid
// until removed or expired). Audit: scim.client.secret.add ("client_id=…
// secret=N expires=YYYY-MM-DD").
func (s *Service) AddSCIMClientSecret(ctx context.Context, a Actor, companyID int64, clientID string, years int) (*directory.SCIMClientSecret, string, error) {
	if err := secretYears(years); err != nil {
		return nil, "", err
	}
	secret, sec, err := s.newSCIMSecret(companyID, years)
	if err != nil {
		return nil, "", err
	}
	err = s.Dir.InTx(ctx, func(tx directory.Store) error {
		cl, err := scimClient(ctx, tx, companyID, clientID)
		if err != nil {
			return err
		}
		sec.Client = cl.ID
		if err := tx.AddSCIMClientSecret(ctx, &sec); err != nil {
			return fmt.Errorf("admin: store SCIM client secret: %w", err)
		}
		return s.audit(ctx, tx, companyID, a.Name, "scim.client.secret.add",
			fmt.Sprintf("client_id=%s secret=%d expires=%s", cl.ClientID, sec.ID, sec.ExpiresAt.Format("2006-01-02")))
	})
	if err != nil {
		return nil, "", err
	}
	return &sec, secret, nil
}

// RemoveSCIMClientSecret removes one secret of the client and the access
// tokens issued with it. Audit: scim.client.secret.remove ("client_id=…
// secret=N").
func (s *Service) RemoveSCIMClientSecret(ctx context.Context, a Actor, companyID int64, clientID string, secretID int64) error {
	return s.Dir.InTx(ctx, func(tx directory.Store) error {
		cl, err := scimClient(ctx, tx, companyID, clientID)
		if err != nil {
			return err
		}
		found := false
		for _, sec := range cl.Secrets {
			found = found || sec.ID == secretID
		}
		if !found {
			return usererr.Errorf(usererr.NotFound, "no_such_secret", "SCIM client %s has no secret %d.", cl.ClientID, secretID)
		}
		if err := tx.RemoveSCIMClientSecret(ctx, companyID, secretID); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "scim.client.secret.remove", fmt.Sprintf("client_id=%s secret=%d", cl.ClientID, secretID))
	})
}

// RemoveSCIMClient removes the client with its secrets and access tokens.
// Audit: scim.client.remove ("client_id=…").
func (s *Service) RemoveSCIMClient(ctx context.Context, a Actor, companyID int64, clientID string) error {
	return s.Dir.InTx(ctx, func(tx directory.Store) error {
		cl, err := scimClient(ctx, tx, companyID, clientID)
		if err != nil {
			return err
		}
		if err := tx.RemoveSCIMClient(ctx, companyID, cl.ClientID); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "scim.client.remove", "client_id="+cl.ClientID)
	})
}

// AddOAuthClient registers an OAuth client of the mobile app: the
// client_id it sends (RFC 6749 VSCHAR, at most 128), a display name and
// 1–20 exact redirect URIs (oauthsyntax.CheckRedirectURI). Audit:
// oauth.client.add ("client_id=… redirect_uris=…").
func (s *Service) AddOAuthClient(ctx context.Context, a Actor, companyID int64, clientID, name string, uris []string) (*directory.OAuthClient, error) {
	clientID = strings.TrimSpace(clientID)
	if clientID == "" || !oauthsyntax.VSChar(clientID, maxClientID) || strings.Contains(clientID, " ") {
		return nil, usererr.Errorf(usererr.Invalid, "bad_client_id",
			"The client id is required: the value the app sends as client_id (printable ASCII, no spaces, at most %d characters).", maxClientID)
	}
	name, err := label("name", name)
	if err != nil {
		return nil, err
	}
	switch {
	case len(uris) == 0:
		return nil, usererr.New(usererr.Invalid, "no_redirect_uri", "Give at least one redirect URI.")
	case len(uris) > maxRedirectURIs:
		return nil, usererr.Errorf(usererr.Invalid, "too_many_redirect_uris", "At most %d redirect URIs per app.", maxRedirectURIs)
	}
	for _, u := range uris {
		if err := oauthsyntax.CheckRedirectURI(u); err != nil {
			return nil, usererr.Wrap(err, usererr.Invalid, "bad_redirect_uri", err.Error())
		}
	}
	cl := &directory.OAuthClient{CompanyID: companyID, ClientID: clientID, Name: name, RedirectURIs: uris, CreatedAt: s.now()}
	err = s.Dir.InTx(ctx, func(tx directory.Store) error {
		if err := tx.AddOAuthClient(ctx, cl); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "oauth.client.add", "client_id="+clientID+" redirect_uris="+strings.Join(uris, " "))
	})
	switch {
	case errors.Is(err, directory.ErrConflict):
		return nil, usererr.Wrap(err, usererr.Conflict, "client_exists", "An app with this client id is already registered.")
	case errors.Is(err, directory.ErrInvalid):
		return nil, usererr.Wrap(err, usererr.Invalid, "too_long", "One of the values is too long.")
	case err != nil:
		return nil, err
	}
	return cl, nil
}

// RemoveOAuthClient removes an OAuth client of the mobile app; its tokens
// stop (the session check refuses tokens of a client that is gone). Audit:
// oauth.client.remove ("client_id=…").
func (s *Service) RemoveOAuthClient(ctx context.Context, a Actor, companyID int64, clientID string) error {
	err := s.Dir.InTx(ctx, func(tx directory.Store) error {
		if err := tx.RemoveOAuthClient(ctx, companyID, clientID); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "oauth.client.remove", "client_id="+clientID)
	})
	if errors.Is(err, directory.ErrNotFound) {
		return usererr.Wrap(err, usererr.NotFound, "no_such_client", fmt.Sprintf("This company has no app with client id %q.", clientID))
	}
	return err
}
