package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/sessiontest"
)

// open returns a Store on the test Redis under prefix, and removes the
// prefix's keys when the test ends.
func open(t testing.TB, url, prefix string, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{Prefix: prefix, Now: now})
	testenv.Must(t, err, "open %s", "redis")
	t.Cleanup(func() {
		ctx := context.Background()
		iter := s.c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			_ = s.c.Del(ctx, iter.Val()).Err()
		}
		_ = s.Close()
	})
	return s
}

func TestConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T, now func() time.Time) session.Store {
		url, prefix := testenv.RedisURL(t)
		return open(t, url, prefix, now)
	})
}

// Two instances of the gateway on one Redis: a replay on the second
// instance is refused, a value put on one is taken on the other.
func TestSharedAcrossInstances(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	clk := &sessiontest.Clock{}
	a := open(t, url, prefix, clk.Now)
	b := open(t, url, prefix, clk.Now)
	sessiontest.Shared(t, a, b, clk)
}

func newSess(now time.Time, emp string) *session.Session {
	return &session.Session{
		ID: session.Key(session.NewSecret()), Kind: session.KindBrowser, CompanyID: 1, EmployeeID: emp,
		CreatedAt: now, LastSeen: now, IdleTimeout: 30 * time.Minute, ExpiresAt: now.Add(2 * time.Hour),
		Family: "fam",
	}
}

// The server expires what the store's clock calls dead: the session key at
// Expiry() (never past ExpiresAt, also after Touch), the index sets at the
// latest ExpiresAt of their members.
func TestServerTTLs(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	s := open(t, url, prefix, time.Now)
	ctx := context.Background()
	now := time.Now()
	sess := newSess(now, "emp-1")
	testenv.Must(t, s.Create(ctx, sess), "create")
	within := func(key string, want time.Time) {
		t.Helper()
		ttl, err := s.c.PTTL(ctx, key).Result()
		testenv.Must(t, err, "pttl %s", key)
		got := time.Now().Add(ttl)
		if d := got.Sub(want); d < -time.Second || d > time.Second {
			t.Fatalf("%s expires at %v, want about %v", key, got, want)
		}
	}
	within(s.sessKey(sess.ID), sess.Expiry())
	within(s.empKey(1, "emp-1"), sess.ExpiresAt)
	within(s.famKey("fam"), sess.ExpiresAt)

	// A later member with a longer life extends the index; a shorter one does not shrink it.
	long := newSess(now, "emp-1")
	long.ExpiresAt = now.Add(5 * time.Hour)
	testenv.Must(t, s.Create(ctx, long), "create long")
	within(s.empKey(1, "emp-1"), long.ExpiresAt)
	short := newSess(now, "emp-1")
	short.ExpiresAt = now.Add(time.Hour)
	testenv.Must(t, s.Create(ctx, short), "create short")
	within(s.empKey(1, "emp-1"), long.ExpiresAt)

	// Touch far ahead: the key's TTL stops at ExpiresAt.
	testenv.Must(t, s.Touch(ctx, sess.ID, now.Add(10*time.Hour)), "touch")
	within(s.sessKey(sess.ID), sess.ExpiresAt)
	testenv.Must(t, s.Touch(ctx, short.ID, now.Add(10*time.Minute)), "touch")
	within(s.sessKey(short.ID), now.Add(40*time.Minute))

	// Consume keeps its record until until; Count's window starts at the first add.
	until := now.Add(3 * time.Minute)
	testenv.Must(t, s.Consume(ctx, "a1", until), "consume")
	within(s.usedKey("a1"), until)
	_, _, err := s.Count(ctx, "n", 1, time.Minute)
	testenv.Must(t, err, "count")
	time.Sleep(20 * time.Millisecond)
	_, _, err = s.Count(ctx, "n", 1, time.Minute)
	testenv.Must(t, err, "count")
	ttl, _ := s.c.PTTL(ctx, s.countKey("n")).Result()
	if ttl > time.Minute-20*time.Millisecond || ttl < 50*time.Second {
		t.Fatalf("counter TTL %v: the second Count must not restart the window", ttl)
	}
}

// The race the package doc describes: a Create whose index write lands
// before a revoke reads the index must not leave a live session behind.
func TestRevokeBetweenIndexAndWrite(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	s := open(t, url, prefix, time.Now)
	ctx := context.Background()
	sess := newSess(time.Now(), "emp-1")
	testenv.Must(t, s.index(ctx, sess), "index")
	if _, err := s.RevokeEmployee(ctx, 1, "emp-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.write(ctx, sess); !errors.Is(err, session.ErrExists) {
		t.Fatalf("write after the revoke tombstoned the id: %v, want ErrExists", err)
	}
	if _, err := s.Get(ctx, sess.ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Get: %v, want ErrNotFound", err)
	}

	// A Create that starts after the revoke read the index survives, and
	// stays indexed for the next revoke.
	late := newSess(time.Now(), "emp-1")
	testenv.Must(t, s.Create(ctx, late), "create after revoke")
	if l, _ := s.ListEmployee(ctx, 1, "emp-1"); len(l) != 1 || l[0].ID != late.ID {
		t.Fatalf("ListEmployee = %v", l)
	}
	if n, err := s.RevokeEmployee(ctx, 1, "emp-1"); err != nil || n != 1 {
		t.Fatalf("second revoke = %d, %v", n, err)
	}
}

// Concurrent logins and revokes: when both are done, every session whose
// Create succeeded is either gone or still indexed (so a revoke finds it).
func TestConcurrentCreateRevoke(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	s := open(t, url, prefix, time.Now)
	ctx := context.Background()
	created := make(chan string, 200)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			x := newSess(time.Now(), "emp-1")
			if err := s.Create(ctx, x); err == nil {
				created <- x.ID
			} else if !errors.Is(err, session.ErrExists) {
				t.Errorf("create: %v", err)
			}
		}
		close(created)
	}()
	for range 50 {
		if _, err := s.RevokeEmployee(ctx, 1, "emp-1"); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	members, err := s.c.SMembers(ctx, s.empKey(1, "emp-1")).Result()
	testenv.Must(t, err, "smembers")
	indexed := map[string]bool{}
	for _, m := range members {
		indexed[m] = true
	}
	for id := range created {
		if _, err := s.Get(ctx, id); err == nil && !indexed[id] {
			t.Fatalf("session %s is live but no longer indexed: a revoke can never find it", id[:8])
		}
	}
	if _, err := s.RevokeEmployee(ctx, 1, "emp-1"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.ListEmployee(ctx, 1, "emp-1"); len(l) != 0 {
		t.Fatalf("%d sessions survive a final revoke", len(l))
	}
}

func TestCorruptRecordIsAnError(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	s := open(t, url, prefix, time.Now)
	ctx := context.Background()
	testenv.Must(t, s.c.Set(ctx, s.sessKey("bad"), "{not json", time.Minute).Err(), "set")
	if _, err := s.Get(ctx, "bad"); err == nil || errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Get of a corrupt record: %v, want a store error", err)
	}
	// A record stored under another id is not returned for this one.
	now := time.Now()
	other := newSess(now, "emp-1")
	testenv.Must(t, s.Create(ctx, other), "create")
	raw, _ := s.c.Get(ctx, s.sessKey(other.ID)).Result()
	testenv.Must(t, s.c.Set(ctx, s.sessKey("moved"), raw, time.Minute).Err(), "set")
	if _, err := s.Get(ctx, "moved"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Get of a record filed under the wrong id: %v", err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := Open(ctx, "redis://user:s3cret@127.0.0.1:1/0?dial_timeout=200ms&max_retries=-1", Options{})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error repeats the password: %v", err)
	}
}

// pipeCounter counts the pipelines of GETs only the client sends, and the
// commands in the largest.
type pipeCounter struct {
	mu        sync.Mutex
	pipelines int
	largest   int
}

func (p *pipeCounter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (p *pipeCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (p *pipeCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if c.Name() != "get" {
				return next(ctx, cmds)
			}
		}
		p.mu.Lock()
		p.pipelines++
		p.largest = max(p.largest, len(cmds))
		p.mu.Unlock()
		return next(ctx, cmds)
	}
}

// Concurrent session reads go out together, and each caller still gets
// its own session: live, missing and revoked ones mixed in one pipeline.
func TestConcurrentGetsShareRoundTrips(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	s := open(t, url, prefix, time.Now)
	pc := &pipeCounter{}
	s.c.AddHook(pc)
	ctx := context.Background()
	now := time.Now()
	const n = 96
	sessions := make([]*session.Session, n)
	for i := range sessions {
		sessions[i] = newSess(now, fmt.Sprintf("emp-%d", i))
		testenv.Must(t, s.Create(ctx, sessions[i]), "create")
	}
	for i := 0; i < n; i += 3 {
		testenv.Must(t, s.Delete(ctx, sessions[i].ID), "delete")
	}
	for range 5 {
		var wg sync.WaitGroup
		for i, want := range sessions {
			wg.Go(func() {
				got, err := s.Get(ctx, want.ID)
				switch {
				case i%3 == 0:
					if !errors.Is(err, session.ErrNotFound) {
						t.Errorf("revoked session %d: %v %v", i, got, err)
					}
				case err != nil || got.ID != want.ID || got.EmployeeID != want.EmployeeID:
					t.Errorf("session %d: got %+v, %v", i, got, err)
				}
			})
		}
		wg.Wait()
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.pipelines == 0 || pc.largest < 2 {
		t.Fatalf("%d pipelines, largest %d commands: concurrent reads were not grouped", pc.pipelines, pc.largest)
	}
}

// Reads of an unchanged record reuse its decoded session, as a copy; a
// changed record (here: touched) is decoded again.
func TestDecodeCache(t *testing.T) {
	url, prefix := testenv.RedisURL(t)
	clk := &sessiontest.Clock{}
	s := open(t, url, prefix, clk.Now)
	ctx := context.Background()
	sess := newSess(clk.Now(), "emp-dc")
	testenv.Must(t, s.Create(ctx, sess), "create")
	a, err := s.Get(ctx, sess.ID)
	testenv.Must(t, err, "get")
	a.EmployeeID = "mutated by a caller"
	b, err := s.Get(ctx, sess.ID)
	testenv.Must(t, err, "get again")
	if b.EmployeeID != "emp-dc" || b == a {
		t.Fatalf("the second read shares the first one's session: %+v", b)
	}
	if len(s.decoded) != 1 {
		t.Fatalf("decode cache holds %d records, want 1", len(s.decoded))
	}
	clk.Advance(time.Minute)
	at := clk.Now()
	testenv.Must(t, s.Touch(ctx, sess.ID, at), "touch")
	c, err := s.Get(ctx, sess.ID)
	testenv.Must(t, err, "get after touch")
	if !c.LastSeen.Equal(at) {
		t.Fatalf("after a touch the read returned LastSeen %v, want %v (a stale decode)", c.LastSeen, at)
	}
	// Revoked: the record is gone, whatever the cache holds.
	testenv.Must(t, s.Delete(ctx, sess.ID), "delete")
	if _, err := s.Get(ctx, sess.ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
}
