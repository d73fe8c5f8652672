// Package redisstore is the production session.Store: every instance of
// the gateway shares it through Redis (a single server, Sentinel or
// Cluster, through redis.UniversalClient). Redis 7.0 or newer is required
// (GETDEL, SET ... PXAT/GET, PEXPIRE NX/GT).
//
// Keys, under Options.Prefix (default "ssogate:"):
//
//	s:{id}                     a session as JSON; Redis expires it at Expiry()
//	e:{companyID}:{employeeID} SET of session ids of one employee
//	f:{family}                 SET of session ids of one token family
//	v:{key}                    a one-shot value (Put/Take)
//	u:{key}                    a replay record (Consume)
//	n:{key}                    a counter (Count)
//
// Every command touches one key, or is a pipeline of single-key commands,
// so the same code runs on Redis Cluster. Liveness is also checked against
// Options.Now when a session is read, so a record is never honoured past its
// Expiry even if the server's clock lags.
//
// Revocation and the race with a concurrent Create. Create first adds the id
// to the employee and family index sets, and only then writes the session
// with SET NX. RevokeEmployee reads the index and overwrites every listed
// session key with a short-lived tombstone (SET ... GET, not DEL), then
// removes exactly those ids from the index. So:
//   - a Create whose index write came before the revoke's read is killed:
//     either its session is overwritten by the tombstone, or its SET NX
//     meets the tombstone and Create fails with session.ErrExists;
//   - a Create whose index write came after the revoke's read is a login
//     that began after the revocation: its session survives and stays
//     indexed, so ListEmployee shows it and the next revoke removes it.
//
// The second case cannot be closed inside the store: the caller checked the
// employee was active before calling Create. Callers that must close it
// re-check the employee after Create (and Delete on a miss), and check the
// employee is active on every request, which also covers this window.
// Touch is a compare-and-set on the exact record it read, so it never
// resurrects a deleted or tombstoned session.
//
// On a single server or Sentinel, Create sends the index writes and the
// SET NX in one pipeline: Redis runs one connection's commands in order,
// so the index still comes first, in one round trip instead of two. On a
// Cluster the keys live on different nodes and the two steps stay apart.
//
// This package imports only session, internal/batch and go-redis; never
// sso, web or the directory.
package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssogate/ssogate/internal/batch"
	"github.com/ssogate/ssogate/session"
)

// DefaultPrefix is used when Options.Prefix is empty.
const DefaultPrefix = "ssogate:"

// tombstone marks a revoked session key; tombstoneTTL outlives any Create
// that is between its two steps.
const (
	tombstone    = "-"
	tombstoneTTL = time.Minute
)

// Options configure a Store.
type Options struct {
	// Prefix is put before every key (default "ssogate:"), so several
	// deployments or tests can share one Redis.
	Prefix string
	// Now is the clock used to judge liveness; nil means time.Now.
	Now func() time.Time
	// Timeout is the deadline of every command or pipeline, retries and
	// the wait for a connection included (0 = DefaultTimeout, < 0 = none).
	// Past it the call fails with an error matching session.ErrUnavailable.
	Timeout time.Duration
}

// Store is a session.Store on Redis.
type Store struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
	// gets coalesces concurrent session reads into one pipelined round
	// trip (internal/batch): a session check under load costs a fraction
	// of a write and a read system call instead of one each. Every read is
	// still sent after its caller asked, so it sees every revocation that
	// finished before.
	gets batch.Batcher[string, string]
	// decoded keeps, per session id, the last record decoded and the
	// session in it: a read that returns the very same bytes (every check
	// between two touches) skips the JSON decoding, which costs as much as
	// the round trip. The record itself is always read from Redis.
	decMu   sync.Mutex
	decoded map[string]decodedRecord
}

type decodedRecord struct {
	raw  string
	sess session.Session // all value fields: a copy shares nothing
}

// decodedMax bounds the decode cache (about 1 KB an entry); past it the
// cache starts over.
const decodedMax = 8192

// decodeSession is decode for the record of session id, through the
// decode cache.
func (s *Store) decodeSession(id, raw string) (*session.Session, bool, error) {
	s.decMu.Lock()
	d, hit := s.decoded[id]
	s.decMu.Unlock()
	if hit && d.raw == raw {
		sess := d.sess
		return &sess, true, nil
	}
	sess, ok, err := decode(raw)
	if err != nil || !ok {
		return sess, ok, err
	}
	s.decMu.Lock()
	if s.decoded == nil || len(s.decoded) >= decodedMax {
		s.decoded = make(map[string]decodedRecord, 256)
	}
	s.decoded[id] = decodedRecord{raw: raw, sess: *sess}
	s.decMu.Unlock()
	return sess, true, nil
}

var _ session.Store = (*Store)(nil)

// New wraps a client. The Store owns it: Close closes it.
func New(client redis.UniversalClient, opt Options) *Store {
	s := &Store{c: client, prefix: opt.Prefix, now: opt.Now}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.now == nil {
		s.now = time.Now
	}
	timeout := opt.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	client.AddHook(outageHook{timeout: timeout})
	// A batch serves many callers, so it runs under its own context,
	// bounded like any command.
	s.gets.Max, s.gets.Do = getBatchMax, s.getMany
	s.gets.Timeout = max(timeout, 0)
	return s
}

const getBatchMax = 128

// getMany reads keys in one pipeline; a missing key's error is redis.Nil.
func (s *Store) getMany(ctx context.Context, keys []string) []batch.Result[string] {
	res := make([]batch.Result[string], len(keys))
	if len(keys) == 1 {
		res[0].Val, res[0].Err = s.c.Get(ctx, keys[0]).Result()
		return res
	}
	cmds := make([]*redis.StringCmd, len(keys))
	// Pipelined's own error repeats the first command's; each is read below.
	_, _ = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	for i, c := range cmds {
		res[i].Val, res[i].Err = c.Result()
	}
	return res
}

func (s *Store) sessKey(id string) string { return s.prefix + "s:" + id }
func (s *Store) empKey(companyID int64, employeeID string) string {
	return s.prefix + "e:" + strconv.FormatInt(companyID, 10) + ":" + employeeID
}
func (s *Store) famKey(family string) string { return s.prefix + "f:" + family }
func (s *Store) valKey(key string) string    { return s.prefix + "v:" + key }
func (s *Store) usedKey(key string) string   { return s.prefix + "u:" + key }
func (s *Store) countKey(key string) string  { return s.prefix + "n:" + key }

// indexKeys returns the index sets a session belongs to.
func (s *Store) indexKeys(sess *session.Session) []string {
	var keys []string
	if sess.EmployeeID != "" {
		keys = append(keys, s.empKey(sess.CompanyID, sess.EmployeeID))
	}
	if sess.Family != "" {
		keys = append(keys, s.famKey(sess.Family))
	}
	return keys
}

// decode turns a stored value into a session; ok is false for a tombstone.
func decode(raw string) (sess *session.Session, ok bool, err error) {
	if raw == tombstone {
		return nil, false, nil
	}
	sess = new(session.Session)
	if err := json.Unmarshal([]byte(raw), sess); err != nil {
		return nil, false, fmt.Errorf("redisstore: corrupt session record: %w", err)
	}
	return sess, true, nil
}

// Create implements session.Store: index first, then SET NX (see the
// package doc for why this order).
func (s *Store) Create(ctx context.Context, sess *session.Session) error {
	if sess == nil || sess.ID == "" {
		return fmt.Errorf("%w: session without an id", session.ErrInvalid)
	}
	if !sess.Live(s.now()) {
		return fmt.Errorf("%w: session is already expired", session.ErrInvalid)
	}
	if _, cluster := s.c.(*redis.ClusterClient); !cluster {
		return s.indexAndWrite(ctx, sess)
	}
	if err := s.index(ctx, sess); err != nil {
		return err
	}
	return s.write(ctx, sess)
}

// indexAndWrite is index then write in one pipeline, for a client whose
// keys all live on one server.
func (s *Store) indexAndWrite(ctx context.Context, sess *session.Session) error {
	raw, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("redisstore: encode session: %w", err)
	}
	var set *redis.Cmd
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		s.queueIndex(ctx, p, sess)
		set = p.Do(ctx, "set", s.sessKey(sess.ID), raw, "nx", "pxat", sess.Expiry().UnixMilli())
		return nil
	})
	res, setErr := set.Result()
	switch {
	case errors.Is(setErr, redis.Nil):
		return session.ErrExists
	case err != nil && !errors.Is(err, redis.Nil):
		return fmt.Errorf("redisstore: create session: %w", err)
	case setErr != nil:
		return fmt.Errorf("redisstore: write session: %w", setErr)
	case res != "OK":
		return fmt.Errorf("redisstore: write session: unexpected reply %v", res)
	}
	return nil
}

// index adds the id to its index sets, whose TTL grows to the latest
// ExpiresAt of their members.
func (s *Store) index(ctx context.Context, sess *session.Session) error {
	keys := s.indexKeys(sess)
	if len(keys) == 0 {
		return nil
	}
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		s.queueIndex(ctx, p, sess)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: index session: %w", err)
	}
	return nil
}

// queueIndex queues the index writes of sess on p.
func (s *Store) queueIndex(ctx context.Context, p redis.Pipeliner, sess *session.Session) {
	at := sess.ExpiresAt.UnixMilli()
	for _, k := range s.indexKeys(sess) {
		p.SAdd(ctx, k, sess.ID)
		p.Do(ctx, "pexpireat", k, at, "nx") // a new set has no TTL: GT would skip it
		p.Do(ctx, "pexpireat", k, at, "gt")
	}
}

// write stores the session record unless its key exists (a live session or
// a tombstone left by a concurrent revoke).
func (s *Store) write(ctx context.Context, sess *session.Session) error {
	raw, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("redisstore: encode session: %w", err)
	}
	res, err := s.c.Do(ctx, "set", s.sessKey(sess.ID), raw, "nx", "pxat", sess.Expiry().UnixMilli()).Result()
	if errors.Is(err, redis.Nil) {
		return session.ErrExists
	}
	if err != nil {
		return fmt.Errorf("redisstore: write session: %w", err)
	}
	if res != "OK" {
		return fmt.Errorf("redisstore: write session: unexpected reply %v", res)
	}
	return nil
}

// read returns the raw record and the live session in it, or ErrNotFound.
func (s *Store) read(ctx context.Context, id string) (string, *session.Session, error) {
	if id == "" {
		return "", nil, session.ErrNotFound
	}
	raw, err := s.gets.Call(ctx, s.sessKey(id))
	if errors.Is(err, redis.Nil) {
		return "", nil, session.ErrNotFound
	}
	if err != nil {
		// classify: a caller whose deadline passed while it waited for a
		// batch gets its context's error, which never went through Redis.
		return "", nil, fmt.Errorf("redisstore: get session: %w", classify(err))
	}
	sess, ok, err := s.decodeSession(id, raw)
	if err != nil {
		return "", nil, err
	}
	if !ok || !sess.Live(s.now()) || sess.ID != id {
		return "", nil, session.ErrNotFound
	}
	return raw, sess, nil
}

// Get implements session.Store.
func (s *Store) Get(ctx context.Context, id string) (*session.Session, error) {
	_, sess, err := s.read(ctx, id)
	return sess, err
}

// casScript replaces KEYS[1] only if it still holds ARGV[1] exactly.
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
`)

// Touch implements session.Store: a compare-and-set on the record read, so
// a session deleted or revoked in between stays dead.
func (s *Store) Touch(ctx context.Context, id string, at time.Time) error {
	old, sess, err := s.read(ctx, id)
	if err != nil {
		return err
	}
	if !at.After(sess.LastSeen) {
		return nil
	}
	sess.LastSeen = at
	exp := sess.Expiry() // never past ExpiresAt
	if !exp.After(s.now()) {
		return session.ErrNotFound
	}
	raw, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("redisstore: encode session: %w", err)
	}
	n, err := casScript.Run(ctx, s.c, []string{s.sessKey(id)}, old, raw, exp.UnixMilli()).Int()
	if err != nil {
		return fmt.Errorf("redisstore: touch session: %w", err)
	}
	if n == 1 {
		return nil
	}
	// Someone changed the record since we read it: a concurrent Touch
	// (fine, it moved LastSeen too) or a delete (then it is gone).
	_, _, err = s.read(ctx, id)
	return err
}

// Delete implements session.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	raw, err := s.c.GetDel(ctx, s.sessKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	sess, ok, err := decode(raw)
	if err != nil || !ok {
		return nil // gone either way; an index entry without a record is pruned later
	}
	if keys := s.indexKeys(sess); len(keys) > 0 {
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.SRem(ctx, k, id)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("redisstore: unindex session: %w", err)
		}
	}
	return nil
}

// ListEmployee implements session.Store. Ids whose record is gone are
// pruned from the index on the way.
func (s *Store) ListEmployee(ctx context.Context, companyID int64, employeeID string) ([]session.Session, error) {
	if employeeID == "" {
		return nil, nil
	}
	return s.list(ctx, s.empKey(companyID, employeeID))
}

func (s *Store) list(ctx context.Context, setKey string) ([]session.Session, error) {
	ids, err := s.c.SMembers(ctx, setKey).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: read index: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	// The pipeline's own error is its first failed reply, redis.Nil
	// included, so each reply is checked below instead.
	_, _ = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.sessKey(id))
		}
		return nil
	})
	now := s.now()
	var out []session.Session
	var gone []any
	for i, cmd := range cmds {
		raw, err := cmd.Result()
		if errors.Is(err, redis.Nil) {
			gone = append(gone, ids[i])
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redisstore: read session: %w", err)
		}
		sess, ok, err := decode(raw)
		if err != nil {
			return nil, err
		}
		if ok && sess.Live(now) && sess.ID == ids[i] {
			out = append(out, *sess)
		}
	}
	if len(gone) > 0 {
		// Best effort: a failure only leaves dead ids for the next call.
		_ = s.c.SRem(ctx, setKey, gone...).Err()
	}
	slices.SortFunc(out, func(a, b session.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// RevokeEmployee implements session.Store (see the package doc).
func (s *Store) RevokeEmployee(ctx context.Context, companyID int64, employeeID string) (int, error) {
	if employeeID == "" {
		return 0, nil
	}
	return s.revoke(ctx, s.empKey(companyID, employeeID))
}

// RevokeFamily implements session.Store.
func (s *Store) RevokeFamily(ctx context.Context, family string) (int, error) {
	if family == "" {
		return 0, nil
	}
	return s.revoke(ctx, s.famKey(family))
}

func (s *Store) revoke(ctx context.Context, setKey string) (int, error) {
	ids, err := s.c.SMembers(ctx, setKey).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: read index: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	cmds := make([]*redis.Cmd, len(ids))
	members := make([]any, len(ids))
	var srem *redis.IntCmd
	_, _ = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Do(ctx, "set", s.sessKey(id), tombstone, "px", tombstoneTTL.Milliseconds(), "get")
			members[i] = id
		}
		// Only the ids read above: one added since stays for the next revoke.
		srem = p.SRem(ctx, setKey, members...)
		return nil
	})
	// Each reply is checked: the pipeline's own error would be the first
	// failure, and redis.Nil ("nothing was there") counts as one.
	now := s.now()
	n := 0
	var failed error
	for _, cmd := range cmds {
		raw, err := cmd.Text()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			failed = cmp.Or(failed, err)
			continue
		}
		if sess, ok, err := decode(raw); err == nil && ok && sess.Live(now) {
			n++
		}
	}
	if failed == nil {
		failed = srem.Err()
	}
	if failed != nil {
		return n, fmt.Errorf("redisstore: revoke: %w", failed)
	}
	return n, nil
}

// Put implements session.Store.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: ttl %s is not positive", session.ErrInvalid, ttl)
	}
	if err := s.c.Do(ctx, "set", s.valKey(key), value, "px", ms(ttl)).Err(); err != nil {
		return fmt.Errorf("redisstore: put: %w", err)
	}
	return nil
}

// Take implements session.Store with GETDEL: of concurrent takers exactly
// one gets the value.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	b, err := s.c.GetDel(ctx, s.valKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: take: %w", err)
	}
	return b, nil
}

// Consume implements session.Store with SET NX PXAT until, shared by every
// instance on the same Redis.
func (s *Store) Consume(ctx context.Context, key string, until time.Time) error {
	if !until.After(s.now()) {
		return fmt.Errorf("%w: replay record ends in the past (%s)", session.ErrInvalid, until.Format(time.RFC3339))
	}
	_, err := s.c.Do(ctx, "set", s.usedKey(key), "1", "nx", "pxat", until.UnixMilli()).Result()
	if errors.Is(err, redis.Nil) {
		return session.ErrReplayed
	}
	if err != nil {
		return fmt.Errorf("redisstore: consume: %w", err)
	}
	return nil
}

// countScript is Count in one step on the server: INCRBY and, for a new
// counter, PEXPIRE; a zero delta only reads (GET and PTTL). One key, so it
// runs on Redis Cluster too.
var countScript = redis.NewScript(`
local d = tonumber(ARGV[1])
if d == 0 then
  local v = redis.call('GET', KEYS[1])
  if not v then return {0, 0} end
  return {tonumber(v), redis.call('PTTL', KEYS[1])}
end
local n = redis.call('INCRBY', KEYS[1], d)
local t = redis.call('PTTL', KEYS[1])
if t < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  t = tonumber(ARGV[2])
end
return {n, t}
`)

// Count implements session.Store with countScript: the add and the read of
// the new value are one atomic step on Redis, shared by every instance.
func (s *Store) Count(ctx context.Context, key string, delta int64, window time.Duration) (int64, time.Duration, error) {
	if window <= 0 {
		return 0, 0, fmt.Errorf("%w: window %s is not positive", session.ErrInvalid, window)
	}
	res, err := countScript.Run(ctx, s.c, []string{s.countKey(key)}, delta, ms(window)).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("redisstore: count: %w", err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("redisstore: count: unexpected reply %v", res)
	}
	ttl := time.Duration(res[1]) * time.Millisecond
	if ttl < 0 {
		ttl = 0
	}
	return res[0], ttl, nil
}

// Ping implements session.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// Close closes the client.
func (s *Store) Close() error { return s.c.Close() }

// ms rounds a positive duration up to whole milliseconds, Redis's unit.
func ms(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
