package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/fedmeta"
	"github.com/ssogate/ssogate/sso/fedsync"
)

// The App Federation Metadata Url from the command line: `sso configure
// --metadata-url` and `sso refresh`.

func (e *env) syncer(st directory.Store) *fedsync.Syncer {
	return &fedsync.Syncer{Dir: st, Fetcher: &fedmeta.Fetcher{ExtraHosts: e.cfg.MetadataHosts},
		Grace: e.cfg.MetadataGrace, Log: e.log.With("component", "metadata")}
}

// setMetadataURL stores (or with "" removes) the URL and, when set, fetches
// it at once.
func (e *env) setMetadataURL(ctx context.Context, st directory.Store, c *directory.Company, raw string) error {
	sy := e.syncer(st)
	svc := &admin.Service{Dir: st, CheckMetadataURL: sy.Fetcher.CheckURL}
	if _, err := svc.SetMetadataURL(ctx, cliActor, c.ID, raw); err != nil {
		if ue, ok := usererr.As(err); ok {
			return fmt.Errorf("--metadata-url %q: %s", strings.TrimSpace(raw), ue.Message())
		}
		return err
	}
	c, err := st.GetCompanyByID(ctx, c.ID)
	if err != nil {
		return err
	}
	if c.MetadataURL == "" {
		fmt.Fprintf(e.stdout, "removed the metadata URL of %s; the certificates it brought stay trusted until retired\n", c.Slug)
		return nil
	}
	fmt.Fprintf(e.stdout, "metadata URL of %s set; fetched every %s\n", c.Slug, e.cfg.MetadataInterval)
	return e.refreshNow(ctx, sy, c, "the metadata URL is saved, but the first fetch failed")
}

// refreshNow fetches the company's metadata and prints what changed.
func (e *env) refreshNow(ctx context.Context, sy *fedsync.Syncer, c *directory.Company, failPrefix string) error {
	ch, err := sy.Refresh(ctx, c)
	if err != nil {
		if errors.Is(err, fedsync.ErrNoURL) {
			return fmt.Errorf("%s has no metadata URL: set it with ssogate sso configure %s --metadata-url URL (Entra: Single sign-on → SAML Certificates → App Federation Metadata Url)", c.Slug, c.Slug)
		}
		return fmt.Errorf("%s (%s): %s; the certificates trusted before are kept", failPrefix, ch.Outcome, ch.Message)
	}
	printChange(e.stdout, ch)
	return nil
}

func printChange(w io.Writer, ch *fedsync.Change) {
	lines := ch.Describe()
	switch {
	case ch.NotModified:
		fmt.Fprintln(w, "metadata not modified since the last fetch")
	case ch.EntityID != "":
		fmt.Fprintf(w, "read the metadata of %s\n", ch.EntityID)
	}
	if len(lines) == 0 {
		fmt.Fprintln(w, "nothing changed")
	}
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
}

// showMetadata is the metadata part of `sso show`.
func showMetadata(w io.Writer, c *directory.Company) {
	if c.MetadataURL == "" {
		fmt.Fprintf(w, "Metadata URL\t(not set: certificates are pasted by hand; set Entra's App Federation Metadata Url with sso configure --metadata-url)\n")
		return
	}
	fmt.Fprintf(w, "Metadata URL\t%s\n", c.MetadataURL)
	m := c.Metadata
	when := func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format(time.RFC3339)
	}
	state := m.Outcome
	if m.Message != "" {
		state += ": " + m.Message
	}
	if state == "" {
		state = "not fetched yet"
	}
	fmt.Fprintf(w, "Metadata\tlast checked %s, last read %s, %s\n", when(m.CheckedAt), when(m.OKAt), state)
}
