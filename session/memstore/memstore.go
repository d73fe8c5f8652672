// Package memstore is the in-process session.Store: the embedded default
// for a single instance. Everything lives in maps under one mutex, so Take,
// Consume and Count are atomic. There is no background goroutine: expired
// records are dropped when they are read, and a sweep runs on writes once
// enough writes have happened since the last one, so memory stays bounded by
// the live records plus a fraction of recent writes.
//
// Nothing is shared between processes: a second instance has its own
// sessions and its own replay cache. Use redisstore for more than one.
//
// This package imports only session; never sso, web or the directory.
package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ssogate/ssogate/session"
)

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("memstore: closed")

// Options configure a Store.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

type empKey struct {
	company  int64
	employee string
}

type value struct {
	data []byte
	exp  time.Time
}

type counter struct {
	n   int64
	exp time.Time
}

// Store is an in-process session.Store.
type Store struct {
	now func() time.Time

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session.Session
	byEmp    map[empKey]map[string]struct{}
	byFam    map[string]map[string]struct{}
	values   map[string]value
	used     map[string]time.Time
	counters map[string]counter
	writes   int // since the last sweep
}

var _ session.Store = (*Store)(nil)

// New returns an empty Store.
func New(opt Options) *Store {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	return &Store{
		now:      now,
		sessions: map[string]*session.Session{},
		byEmp:    map[empKey]map[string]struct{}{},
		byFam:    map[string]map[string]struct{}{},
		values:   map[string]value{},
		used:     map[string]time.Time{},
		counters: map[string]counter{},
	}
}

// sweepMin is the least number of writes between two sweeps; beyond it a
// sweep waits for as many writes as a quarter of the records, so its cost
// stays a small constant per write.
const sweepMin = 1024

func (s *Store) size() int {
	return len(s.sessions) + len(s.values) + len(s.used) + len(s.counters)
}

// wrote counts a write and sweeps when due. Caller holds mu.
func (s *Store) wrote(now time.Time) {
	s.writes++
	if s.writes < max(sweepMin, s.size()/4) {
		return
	}
	s.writes = 0
	s.sweep(now)
}

// sweep drops every expired record. Caller holds mu.
func (s *Store) sweep(now time.Time) {
	for id, sess := range s.sessions {
		if !sess.Live(now) {
			s.remove(id)
		}
	}
	for k, v := range s.values {
		if !now.Before(v.exp) {
			delete(s.values, k)
		}
	}
	for k, until := range s.used {
		if !now.Before(until) {
			delete(s.used, k)
		}
	}
	for k, c := range s.counters {
		if !now.Before(c.exp) {
			delete(s.counters, k)
		}
	}
}

func (s *Store) lock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// remove deletes a session and its index entries. Caller holds mu.
func (s *Store) remove(id string) *session.Session {
	sess, ok := s.sessions[id]
	if !ok {
		return nil
	}
	delete(s.sessions, id)
	if sess.EmployeeID != "" {
		k := empKey{sess.CompanyID, sess.EmployeeID}
		if set := s.byEmp[k]; set != nil {
			delete(set, id)
			if len(set) == 0 {
				delete(s.byEmp, k)
			}
		}
	}
	if sess.Family != "" {
		if set := s.byFam[sess.Family]; set != nil {
			delete(set, id)
			if len(set) == 0 {
				delete(s.byFam, sess.Family)
			}
		}
	}
	return sess
}

// live returns the stored session if it is live, dropping it otherwise.
// Caller holds mu.
func (s *Store) live(id string, now time.Time) *session.Session {
	sess, ok := s.sessions[id]
	if !ok {
		return nil
	}
	if !sess.Live(now) {
		s.remove(id)
		return nil
	}
	return sess
}

func addTo[K comparable](m map[K]map[string]struct{}, k K, id string) {
	set := m[k]
	if set == nil {
		set = map[string]struct{}{}
		m[k] = set
	}
	set[id] = struct{}{}
}

// Create implements session.Store.
func (s *Store) Create(_ context.Context, sess *session.Session) error {
	if sess == nil || sess.ID == "" {
		return fmt.Errorf("%w: session without an id", session.ErrInvalid)
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	now := s.now()
	if !sess.Live(now) {
		return fmt.Errorf("%w: session is already expired", session.ErrInvalid)
	}
	if s.live(sess.ID, now) != nil {
		return session.ErrExists
	}
	c := *sess
	s.sessions[c.ID] = &c
	if c.EmployeeID != "" {
		addTo(s.byEmp, empKey{c.CompanyID, c.EmployeeID}, c.ID)
	}
	if c.Family != "" {
		addTo(s.byFam, c.Family, c.ID)
	}
	s.wrote(now)
	return nil
}

// Get implements session.Store.
func (s *Store) Get(_ context.Context, id string) (*session.Session, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	sess := s.live(id, s.now())
	if sess == nil {
		return nil, session.ErrNotFound
	}
	c := *sess
	return &c, nil
}

// Touch implements session.Store.
func (s *Store) Touch(_ context.Context, id string, at time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	sess := s.live(id, s.now())
	if sess == nil {
		return session.ErrNotFound
	}
	if at.After(sess.LastSeen) {
		sess.LastSeen = at // Expiry() caps the result at ExpiresAt
	}
	return nil
}

// Delete implements session.Store.
func (s *Store) Delete(_ context.Context, id string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.remove(id)
	return nil
}

func (s *Store) members(set map[string]struct{}, now time.Time) []session.Session {
	var out []session.Session
	for id := range set {
		if sess := s.live(id, now); sess != nil {
			out = append(out, *sess)
		}
	}
	slices.SortFunc(out, func(a, b session.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// ListEmployee implements session.Store.
func (s *Store) ListEmployee(_ context.Context, companyID int64, employeeID string) ([]session.Session, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if employeeID == "" {
		return nil, nil
	}
	return s.members(s.byEmp[empKey{companyID, employeeID}], s.now()), nil
}

// revoke removes every id of a set, counting the live ones. Caller holds mu.
func (s *Store) revoke(set map[string]struct{}, now time.Time) int {
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	n := 0
	for _, id := range ids {
		if sess := s.remove(id); sess != nil && sess.Live(now) {
			n++
		}
	}
	return n
}

// RevokeEmployee implements session.Store.
func (s *Store) RevokeEmployee(_ context.Context, companyID int64, employeeID string) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	if employeeID == "" {
		return 0, nil
	}
	return s.revoke(s.byEmp[empKey{companyID, employeeID}], s.now()), nil
}

// RevokeFamily implements session.Store.
func (s *Store) RevokeFamily(_ context.Context, family string) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	if family == "" {
		return 0, nil
	}
	return s.revoke(s.byFam[family], s.now()), nil
}

// Put implements session.Store.
func (s *Store) Put(_ context.Context, key string, data []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: ttl %s is not positive", session.ErrInvalid, ttl)
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	now := s.now()
	s.values[key] = value{data: append([]byte{}, data...), exp: now.Add(ttl)}
	s.wrote(now)
	return nil
}

// Take implements session.Store.
func (s *Store) Take(_ context.Context, key string) ([]byte, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	v, ok := s.values[key]
	if !ok {
		return nil, session.ErrNotFound
	}
	delete(s.values, key)
	if !s.now().Before(v.exp) {
		return nil, session.ErrNotFound
	}
	return v.data, nil
}

// Consume implements session.Store.
func (s *Store) Consume(_ context.Context, key string, until time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	now := s.now()
	if !until.After(now) {
		return fmt.Errorf("%w: replay record ends in the past (%s)", session.ErrInvalid, until.Format(time.RFC3339))
	}
	if prev, ok := s.used[key]; ok && now.Before(prev) {
		return session.ErrReplayed
	}
	s.used[key] = until
	s.wrote(now)
	return nil
}

// Count implements session.Store.
func (s *Store) Count(_ context.Context, key string, delta int64, window time.Duration) (int64, time.Duration, error) {
	if window <= 0 {
		return 0, 0, fmt.Errorf("%w: window %s is not positive", session.ErrInvalid, window)
	}
	if err := s.lock(); err != nil {
		return 0, 0, err
	}
	defer s.mu.Unlock()
	now := s.now()
	c, ok := s.counters[key]
	if !ok || !now.Before(c.exp) {
		if delta == 0 {
			return 0, 0, nil
		}
		c = counter{exp: now.Add(window)}
	}
	if delta == 0 {
		return c.n, c.exp.Sub(now), nil
	}
	c.n += delta
	s.counters[key] = c
	s.wrote(now)
	return c.n, c.exp.Sub(now), nil
}

// Ping implements session.Store.
func (s *Store) Ping(context.Context) error {
	if err := s.lock(); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// Close drops everything; later calls return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.sessions, s.byEmp, s.byFam = nil, nil, nil
	s.values, s.used, s.counters = nil, nil, nil
	return nil
}
