package web

import (
	"context"
	"errors"
	"time"

	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/fedmeta"
	"github.com/ssogate/ssogate/sso/fedsync"
)

// Federation metadata: the App Federation Metadata URL per company and the
// scheduled refresh (one instance per interval, through a lock in the
// shared session store). The console's SSO page section and banner are
// web/console's; it refreshes through consoleMetadata and sets the URL
// through admin.Service.SetMetadataURL, which checks it with the fetcher.

func (s *Server) newSyncer(d Deps) *fedsync.Syncer {
	return &fedsync.Syncer{
		Dir:     d.Dir,
		Fetcher: &fedmeta.Fetcher{ExtraHosts: d.Config.MetadataHosts, RootCAs: d.MetadataRootCAs, Timeout: d.MetadataTimeout},
		Grace:   d.Config.MetadataGrace,
		Now:     d.Now,
		Log:     d.Logger.With("component", "metadata"),
	}
}

// metadataLock is fedsync's lock: Consume in the shared session store is
// SET NX with an expiry, so of all instances exactly one takes a key until
// it expires.
func (s *Server) metadataLock(ctx context.Context, key string, until time.Time) (bool, error) {
	err := s.sessions.Consume(ctx, key, until)
	if errors.Is(err, session.ErrReplayed) {
		return false, nil
	}
	return err == nil, err
}

func (s *Server) observeMetadata(ch *fedsync.Change) {
	s.metrics.metadata.WithLabelValues(ch.Company, ch.Outcome).Inc()
	s.companies.Invalidate(ch.Company)
}

// RefreshMetadata is one scheduled pass: every company with a metadata URL
// is fetched by whichever instance takes its lock for the current
// SSOGATE_METADATA_INTERVAL slot; the others skip it.
func (s *Server) RefreshMetadata(ctx context.Context) error {
	return s.syncer.RefreshDue(ctx, s.cfg.MetadataInterval, s.metadataLock, s.observeMetadata)
}

// runMetadata calls RefreshMetadata every minute (or every interval when
// shorter) until ctx ends; the locks make that one fetch per company and
// interval across all instances.
func (s *Server) runMetadata(ctx context.Context) {
	every := min(time.Minute, s.cfg.MetadataInterval)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := s.RefreshMetadata(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("federation metadata refresh", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// consoleMetadata is the console's view of the metadata follower: a
// refresh it asks for is counted and reaches the settings cache like a
// scheduled one.
type consoleMetadata struct{ s *Server }

func (m consoleMetadata) Refresh(ctx context.Context, co *directory.Company) (*fedsync.Change, error) {
	ch, err := m.s.syncer.Refresh(ctx, co)
	m.s.observeMetadata(ch)
	return ch, err
}
