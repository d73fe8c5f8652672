package test

import (
	"context"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/sso/directory"
)

// The SCIM credentials these tests use are issued as the CLI and the
// console issue them: by admin.Service, on the given clock.

func mintSCIMToken(ctx context.Context, st directory.Store, companyID int64, label string) (string, int64, error) {
	tok, rec, err := (&admin.Service{Dir: st}).MintSCIMToken(ctx, admin.Actor{Name: "test"}, companyID, label)
	if err != nil {
		return "", 0, err
	}
	return tok, rec.ID, nil
}

func createSCIMClient(ctx context.Context, st directory.Store, companyID int64, label string, years int, now time.Time) (*directory.SCIMClient, string, error) {
	svc := &admin.Service{Dir: st, Now: func() time.Time { return now }}
	return svc.AddSCIMClient(ctx, admin.Actor{Name: "test"}, companyID, label, years)
}

func addSCIMClientSecret(ctx context.Context, st directory.Store, companyID int64, clientID string, years int, now time.Time) (*directory.SCIMClientSecret, string, error) {
	svc := &admin.Service{Dir: st, Now: func() time.Time { return now }}
	return svc.AddSCIMClientSecret(ctx, admin.Actor{Name: "test"}, companyID, clientID, years)
}
