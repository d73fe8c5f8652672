package password

import (
	"errors"
	"runtime"
	"sync/atomic"
)

// ErrBusy is returned by a Limiter that is already running as many hashes
// as it allows. Nothing was computed: the caller answers "try again" at
// once.
var ErrBusy = errors.New("password: too many password checks in progress")

// Limiter bounds how many argon2id computations (Verify or Hash) run at
// once. Each one holds 32 MiB for tens of milliseconds, so without a bound a
// burst of sign-in attempts grows the process by 32 MiB per concurrent
// request (16 at once took a gateway from 24 to 539 MiB). Beyond the bound a
// call fails with ErrBusy immediately; it does not queue, so waiting
// requests hold no memory and an attacker cannot build a backlog.
type Limiter struct {
	slots  chan struct{}
	verify func(encoded, pw string) error
	hash   func(pw string) (string, error)
	// ran counts the argon2id computations that ran; busy those refused.
	ran, busy atomic.Int64
}

// NewLimiter allows n concurrent hashes; n <= 0 means runtime.GOMAXPROCS,
// one per core the process may use (argon2id with p=1 keeps one core busy,
// so more at once only queue in the scheduler while holding memory).
func NewLimiter(n int) *Limiter {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Limiter{slots: make(chan struct{}, n), verify: Verify, hash: Hash}
}

// Size is how many hashes may run at once.
func (l *Limiter) Size() int { return cap(l.slots) }

func (l *Limiter) acquire() bool {
	select {
	case l.slots <- struct{}{}:
		l.ran.Add(1)
		return true
	default:
		l.busy.Add(1)
		return false
	}
}

func (l *Limiter) release() { <-l.slots }

// Verify is Verify within the bound: ErrBusy when it is reached.
func (l *Limiter) Verify(encoded, pw string) error {
	if !l.acquire() {
		return ErrBusy
	}
	defer l.release()
	return l.verify(encoded, pw)
}

// Hash is Hash within the bound: ErrBusy when it is reached.
func (l *Limiter) Hash(pw string) (string, error) {
	if err := Check(pw); err != nil {
		return "", err
	}
	if !l.acquire() {
		return "", ErrBusy
	}
	defer l.release()
	return l.hash(pw)
}

// Ran is how many hashes ran; Busy how many calls were refused with
// ErrBusy.
func (l *Limiter) Ran() int64  { return l.ran.Load() }
func (l *Limiter) Busy() int64 { return l.busy.Load() }
