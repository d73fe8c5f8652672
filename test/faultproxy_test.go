package test

import (
	"net"
	"sync"
	"testing"
)

// faultProxy is a loopback TCP proxy in front of a real service (Redis,
// PostgreSQL) that a test can take down or stall while the gateway uses it:
//   - down: every open connection is closed, new ones are accepted and
//     closed at once (the service is gone);
//   - stall: nothing is forwarded in either direction, new connections are
//     accepted and left waiting (the service hangs);
//   - up: traffic flows again (recovery without restarting the gateway).
type faultProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	state string // "up", "down", "stall"
	cond  *sync.Cond
	conns map[net.Conn]struct{}
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, state: "up", conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.set("down")
	})
	return p
}

func (p *faultProxy) Addr() string { return p.ln.Addr().String() }

// set changes the state; "down" closes every open connection.
func (p *faultProxy) set(state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = state
	if state == "down" {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
	p.cond.Broadcast()
}

func (p *faultProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.state == "down" {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		go p.serve(c)
	}
}

func (p *faultProxy) serve(c net.Conn) {
	if !p.pass() {
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	go p.pipe(up, c)
	p.pipe(c, up)
}

// pass waits while stalled and reports whether traffic may flow.
func (p *faultProxy) pass() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.state == "stall" {
		p.cond.Wait()
	}
	return p.state == "up"
}

func (p *faultProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.pass() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
