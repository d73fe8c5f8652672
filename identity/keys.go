package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ssogate/ssogate/internal/keyseal"
	"github.com/ssogate/ssogate/sso/directory"
)

// Key lifecycle, all times from the key rows every instance reads:
//
//   - The first key signs at once. Each later key is added Lead before it
//     signs (when the signing key has signed for Rotation - Lead), so every
//     verifier that caches the JWKS for at most MaxAge has seen it first.
//   - The signing key at time t is the newest with SignsFrom <= t.
//   - A key whose successor signs from T leaves the JWKS (and the database)
//     at T + TTL + retireGrace, when every assertion it signed has expired.
//   - An instance that cannot re-read the keys keeps its last set for at
//     most Lead/2: a key added after that read signs Lead after it was
//     added at the earliest, so the set still names the right signing key.
//     Beyond that it mints nothing (ErrUnavailable).

// keySet is one read of the keys.
type keySet struct {
	loaded time.Time
	keys   []*key // by Seq
	jwks   []byte
}

// signing returns the key that signs at now, or nil.
func (ks *keySet) signing(now time.Time) *key {
	for i := len(ks.keys) - 1; i >= 0; i-- {
		if !ks.keys[i].row.SignsFrom.After(now) {
			return ks.keys[i]
		}
	}
	return nil
}

// stale is how long a key set may be used without a successful re-read.
func (s *Signer) stale() time.Duration { return s.o.Lead / 2 }

// keys returns a key set fresh enough for now: the cached one while it is
// younger than Refresh; past that, the cached one while a re-read runs in
// the background, up to stale(); past that, a re-read first.
func (s *Signer) keys(ctx context.Context, now time.Time) (*keySet, error) {
	if ks := s.set.Load(); ks != nil {
		age := now.Sub(ks.loaded)
		if age >= 0 && age < s.o.Refresh {
			return ks, nil
		}
		if age >= 0 && age < s.stale() && !s.syncReload {
			s.reloadAsync()
			return ks, nil
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ks := s.set.Load(); ks != nil {
		if age := now.Sub(ks.loaded); age >= 0 && age < s.o.Refresh {
			return ks, nil
		}
	}
	ks, err := s.reload(ctx, now)
	if err != nil {
		s.log.Error("identity: signing keys could not be read", "err", err)
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return ks, nil
}

func (s *Signer) reloadAsync() {
	if !s.bg.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.bg.Store(false)
		if !s.mu.TryLock() {
			return
		}
		defer s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.reload(ctx, s.o.Now()); err != nil {
			s.log.Warn("identity: signing keys could not be re-read; the last read is used for now", "err", err)
		}
	}()
}

// reload reads the keys, adds or retires keys as the schedule says, and
// publishes the new set. The caller holds mu.
func (s *Signer) reload(ctx context.Context, now time.Time) (*keySet, error) {
	rows, err := s.o.Store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	changed, err := s.maintain(ctx, rows, now)
	if err != nil {
		return nil, err
	}
	if changed {
		if rows, err = s.o.Store.ListSigningKeys(ctx); err != nil {
			return nil, err
		}
	}
	ks, err := s.build(rows, now)
	if err != nil {
		return nil, err
	}
	s.set.Store(ks)
	return ks, nil
}

// maintain adds the first or the next key when due and deletes keys whose
// assertions have all expired. It reports whether the rows changed.
func (s *Signer) maintain(ctx context.Context, rows []directory.SigningKey, now time.Time) (bool, error) {
	if len(rows) == 0 {
		// The first key signs at once; backdated by the grace so that an
		// instance whose clock runs a little behind can sign too.
		return true, s.add(ctx, 1, now, now.Add(-retireGrace))
	}
	active := -1
	for i := range rows {
		if !rows[i].SignsFrom.After(now) {
			active = i
		}
	}
	changed := false
	if active == len(rows)-1 && !now.Before(rows[active].SignsFrom.Add(s.o.Rotation-s.o.Lead)) {
		from := rows[active].SignsFrom.Add(s.o.Rotation)
		if earliest := now.Add(s.o.Lead); from.Before(earliest) {
			from = earliest
		}
		if err := s.add(ctx, rows[active].Seq+1, now, from); err != nil {
			return false, err
		}
		changed = true
	}
	for i := 0; i < active; i++ {
		if !now.Before(s.retireAt(rows[i+1])) {
			if err := s.o.Store.DeleteSigningKey(ctx, rows[i].Seq); err != nil {
				return false, err
			}
			s.log.Info("identity: signing key retired", "kid", rows[i].KID, "seq", rows[i].Seq)
			changed = true
		}
	}
	return changed, nil
}

// retireAt is when the key before succ leaves the JWKS.
func (s *Signer) retireAt(succ directory.SigningKey) time.Time {
	return succ.SignsFrom.Add(s.o.TTL + retireGrace)
}

// add generates and stores key seq. Another instance having added it first
// (a conflict on seq) is success: the caller re-reads.
func (s *Signer) add(ctx context.Context, seq int64, now, from time.Time) error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	tp, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return err
	}
	k := &directory.SigningKey{Seq: seq, KID: base64.RawURLEncoding.EncodeToString(tp), Algorithm: Algorithm,
		PublicKey: pub, PrivateKey: der, CreatedAt: now, SignsFrom: from}
	if s.aead != nil {
		k.PrivateKey, k.Sealing = s.aead.seal(k.KID, pub, der), sealingName
	}
	err = s.o.Store.AddSigningKey(ctx, k)
	var ce *directory.ConflictError
	if errors.As(err, &ce) && ce.Field == "seq" {
		return nil
	}
	if err != nil {
		return err
	}
	s.log.Info("identity: signing key added", "kid", k.KID, "seq", seq, "signs_from", from.UTC().Format(time.RFC3339))
	return nil
}

// build parses the rows (reusing keys parsed by the last read) and renders
// the JWKS document.
func (s *Signer) build(rows []directory.SigningKey, now time.Time) (*keySet, error) {
	prev := map[string]*key{}
	if old := s.set.Load(); old != nil {
		for _, k := range old.keys {
			prev[k.row.KID] = k
		}
	}
	ks := &keySet{loaded: now}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for i, row := range rows {
		k := prev[row.KID]
		if k == nil || k.row.Seq != row.Seq || string(k.row.PrivateKey) != string(row.PrivateKey) || string(k.row.PublicKey) != string(row.PublicKey) {
			k = s.parse(row)
		}
		// Every key takes its place in the schedule, usable or not: a key
		// that cannot sign must not hand its turn to an older one.
		ks.keys = append(ks.keys, k)
		if k.priv == nil && (i == len(rows)-1 || rows[i+1].SignsFrom.After(now)) {
			s.log.Error("identity: signing key unusable", "kid", row.KID, "seq", row.Seq, "err", k.err)
		}
		if k.pub == nil {
			continue
		}
		if i+1 < len(rows) && !now.Before(s.retireAt(rows[i+1])) {
			continue // retired: every assertion it signed has expired
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: row.KID, Algorithm: row.Algorithm, Use: "sig"})
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	ks.jwks = doc
	return ks, nil
}

// parse decodes one row; priv stays nil (with err) when the private key
// cannot be had.
func (s *Signer) parse(row directory.SigningKey) *key {
	k := &key{row: row}
	if row.Algorithm != Algorithm {
		k.err = fmt.Errorf("algorithm %q is not %s", row.Algorithm, Algorithm)
		return k
	}
	p, err := x509.ParsePKIXPublicKey(row.PublicKey)
	pub, ok := p.(*ecdsa.PublicKey)
	if err != nil || !ok || pub.Curve != elliptic.P256() {
		k.err = fmt.Errorf("public key is not a P-256 key (%v)", err)
		return k
	}
	k.pub = pub
	der := row.PrivateKey
	switch {
	case row.Sealing == "":
	case row.Sealing != sealingName:
		k.err = fmt.Errorf("unknown sealing %q", row.Sealing)
		return k
	case s.aead == nil:
		k.err = errors.New("the private key is sealed and SSOGATE_SIGNING_KEY_SECRET is not set")
		return k
	default:
		if der, err = s.aead.open(row.KID, row.PublicKey, der); err != nil {
			k.err = errors.New("the private key does not unseal with SSOGATE_SIGNING_KEY_SECRET (was it changed?)")
			return k
		}
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	priv, ok := pk.(*ecdsa.PrivateKey)
	if err != nil || !ok || !priv.PublicKey.Equal(pub) {
		k.err = fmt.Errorf("private key does not match its public key (%v)", err)
		return k
	}
	k.priv = priv
	return k
}

// Sealing of private keys at rest.

const sealingName = "A256GCM-HKDF-SHA256"

// sealer seals signing keys; the key id and the public key are the
// additional data, so a row whose private key was swapped for another
// row's does not unseal.
type sealer struct{ ks *keyseal.Sealer }

func newSealer(secret []byte) (*sealer, error) {
	ks, err := keyseal.New(secret, "ssogate signing key sealing v1")
	if err != nil {
		return nil, err
	}
	return &sealer{ks: ks}, nil
}

func aad(kid string, pub []byte) []byte {
	return append(append([]byte(kid), 0), pub...)
}

func (s *sealer) seal(kid string, pub, plain []byte) []byte { return s.ks.Seal(plain, aad(kid, pub)) }

func (s *sealer) open(kid string, pub, sealed []byte) ([]byte, error) {
	return s.ks.Open(sealed, aad(kid, pub))
}
