package web

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/session"
)

// RunBackground does the periodic work of one instance until ctx ends,
// every hour: certificate expiry gauges, a warning log line once a day for
// every trusted certificate within 60 days of expiry, and the automatic
// retirement of certificates Entra no longer signs with (companies that
// switched it on), so it happens even when no admin opens the console;
// and the sign-in log's retention (PruneSignInLog).
// The federation metadata refresh runs beside it on its own schedule.
func (s *Server) RunBackground(ctx context.Context) {
	go s.runMetadata(ctx)
	lastLog := map[string]time.Time{}
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		s.checkCertExpiry(ctx, lastLog)
		if err := s.console.AutoRetireCertificates(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("automatic certificate retirement", "err", err)
		}
		if _, err := s.PruneSignInLog(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sign-in log retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Server) checkCertExpiry(ctx context.Context, lastLog map[string]time.Time) {
	companies, err := s.dir.ListCompanies(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("certificate expiry check: list companies", "err", err)
		}
		return
	}
	now := s.now()
	s.metrics.certExpiry.Reset()
	for _, c := range companies {
		list, err := s.dir.ListCertificates(ctx, c.ID, false)
		if err != nil {
			s.log.Warn("certificate expiry check", "company", c.Slug, "err", err)
			continue
		}
		for _, ct := range list {
			s.metrics.certExpiry.WithLabelValues(c.Slug, ct.SHA1).Set(ct.NotAfter.Sub(now).Seconds())
			days, level := certs.ExpiryWarning(ct.NotAfter, now)
			if level == "" || now.Sub(lastLog[ct.SHA256]) < 24*time.Hour {
				continue
			}
			lastLog[ct.SHA256] = now
			s.log.Warn("SAML certificate nears expiry: paste the renewed Certificate (Base64) before it expires",
				"company", c.Slug, "sha1", ct.SHA1, "expires", ct.NotAfter.UTC().Format(time.RFC3339), "days_left", days, "level", level)
		}
	}
}

// PruneSignInLog deletes the sign-in records older than
// SSOGATE_SIGNIN_LOG_RETENTION, at most once an hour across every
// instance: the first instance to claim the hour in the session store does
// it (a claim that cannot be made is retried next hour). It returns how
// many records it deleted.
func (s *Server) PruneSignInLog(ctx context.Context) (int64, error) {
	if s.cfg.SigninLogRetention <= 0 {
		return 0, nil
	}
	now := s.now()
	hour := now.UTC().Truncate(time.Hour)
	if err := s.sessions.Consume(ctx, "prune:signins:"+hour.Format("2006010215"), hour.Add(time.Hour)); err != nil {
		if errors.Is(err, session.ErrReplayed) {
			return 0, nil // another instance has this hour
		}
		return 0, fmt.Errorf("claim the sign-in log pruning: %w", err)
	}
	n, err := s.dir.PruneSignIns(ctx, now.Add(-s.cfg.SigninLogRetention))
	if err != nil {
		return n, err
	}
	if n > 0 {
		s.log.Info("sign-in records past their retention deleted", "deleted", n, "retention", s.cfg.SigninLogRetention.String())
	}
	return n, nil
}
