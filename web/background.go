package web

import (
	"context"
	"time"

	"github.com/ssogate/ssogate/certs"
)

// RunBackground does the periodic work of one instance until ctx ends,
// every hour: certificate expiry gauges, a warning log line once a day for
// every trusted certificate within 60 days of expiry, and the automatic
// retirement of certificates Entra no longer signs with (companies that
// switched it on), so it happens even when no admin opens the console.
// The federation metadata refresh runs beside it on its own schedule.
func (s *Server) RunBackground(ctx context.Context) {
	go s.runMetadata(ctx)
	lastLog := map[string]time.Time{}
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		s.checkCertExpiry(ctx, lastLog)
		if err := s.AutoRetireCertificates(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("automatic certificate retirement", "err", err)
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
