package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/fedmeta"
)

// Federation metadata on the SSO settings page: the App Federation
// Metadata Url (set, removed, fetched now through Options.Metadata) and the
// banner every page shows while it cannot be used.

// metadataView is the metadata section of the SSO page.
type metadataView struct {
	URL         string
	Outcome     string
	Message     string
	Checked, OK string
	Interval    string
	Lines       []string // what the refresh just done changed
	Hosts       string
}

func (s *Console) metadataViewOf(co *directory.Company) *metadataView {
	return &metadataView{URL: co.MetadataURL, Outcome: co.Metadata.Outcome, Message: co.Metadata.Message,
		Checked: fmtTimePtr(co.Metadata.CheckedAt), OK: fmtTimePtr(co.Metadata.OKAt), Interval: s.metadataInterval.String(),
		Hosts: strings.Join(fedmeta.MicrosoftHosts, ", ")}
}

// metadataWarning is the console banner while the company's metadata
// cannot be used ("" when all is well).
func metadataWarning(co *directory.Company) string {
	m := co.Metadata
	if co.MetadataURL == "" || m.Outcome == "" || m.Outcome == fedmeta.OutcomeOK || m.Outcome == fedmeta.OutcomeNotModified {
		return ""
	}
	last := "it has never been read successfully"
	if m.OKAt != nil {
		last = "it was last read successfully " + fmtTime(*m.OKAt)
	}
	return fmt.Sprintf("The App Federation Metadata Url could not be used (%s): %s. The certificates trusted before are kept; %s.", m.Outcome, m.Message, last)
}

// adminMetadataSave: POST /admin/sso/metadata — set (and fetch at once) or
// remove the App Federation Metadata Url.
func (s *Console) adminMetadataSave(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	raw := strings.TrimSpace(c.FormValue("metadata_url"))
	page := func(status int, v *metadataView, msg string) error {
		sv := s.ssoViewOf(ac.t)
		sv.Metadata = v
		return s.adminPage(c, status, "admin_sso.html", "SSO settings", "sso", sv, msg)
	}
	changed, err := s.admin.SetMetadataURL(ctx, ac.who(), ac.t.Company.ID, raw)
	if err != nil {
		if ue, ok := usererr.As(err); ok {
			v := s.metadataViewOf(ac.t.Company)
			v.URL = raw
			return page(http.StatusUnprocessableEntity, v, ue.Message())
		}
		return fmt.Errorf("save metadata URL: %w", err)
	}
	s.caches.ForgetCompany(ac.t.Company.Slug)
	if raw == "" {
		if !changed {
			return done(c, ac.base()+"/sso", "sso")
		}
		return done(c, ac.base()+"/sso", "metadata-off")
	}
	return s.adminMetadataRefresh(c)
}

// adminMetadataRefresh: POST /admin/sso/metadata/refresh — fetch now and
// show what changed.
func (s *Console) adminMetadataRefresh(c echo.Context) error {
	ac := adminOf(c)
	ctx := c.Request().Context()
	co, err := s.dir.GetCompanyByID(ctx, ac.t.Company.ID)
	if err != nil {
		return fmt.Errorf("load company: %w", err)
	}
	if co.MetadataURL == "" {
		return done(c, ac.base()+"/sso", "sso")
	}
	ch, rerr := s.metadata.Refresh(ctx, co)
	t, err := s.tenant(c)
	if err != nil {
		return err
	}
	ac.t = t
	v := s.metadataViewOf(t.Company)
	v.Lines = ch.Describe()
	sv := s.ssoViewOf(t)
	sv.Metadata = v
	msg, status := "", http.StatusOK
	if rerr != nil {
		msg, status = "The metadata could not be used: "+ch.Message+". The certificates trusted before are kept.", http.StatusOK
	} else if len(v.Lines) == 0 {
		v.Lines = []string{"Read the metadata: nothing changed."}
	}
	return s.adminPage(c, status, "admin_sso.html", "SSO settings", "sso", sv, msg)
}
