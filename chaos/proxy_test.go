//go:build chaos

package chaos

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy is a TCP proxy between idsync and the DC that the test controls:
// it counts the bytes the DC sends, cuts every connection once a limit is
// crossed (and refuses new ones, as a DC that went away), or refuses all
// connections while down. It listens on the DC's own address, so the DC
// certificate (issued for that IP) still verifies.
type proxy struct {
	t      testing.TB
	lis    net.Listener
	target string

	bytes    atomic.Int64 // DC -> idsync, since reset
	limit    atomic.Int64 // cut when bytes exceed it; 0: never
	down     atomic.Bool
	cuts     atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]bool
	wg       sync.WaitGroup
	closedMu sync.Once
}

func newProxy(t testing.TB, addr, target string) *proxy {
	t.Helper()
	lis, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, lis: lis, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.serve)
	t.Cleanup(p.close)
	return p
}

// url is the ldaps URL idsync dials.
func (p *proxy) url() string { return "ldaps://" + p.lis.Addr().String() }

// reset clears the counter and the limit and brings the DC back.
func (p *proxy) reset() {
	p.bytes.Store(0)
	p.limit.Store(0)
	p.down.Store(false)
}

// cutAfter cuts every connection once the DC has sent n more bytes.
func (p *proxy) cutAfter(n int64) {
	p.bytes.Store(0)
	p.limit.Store(n)
	p.down.Store(false)
}

// stop cuts every connection and refuses new ones until reset.
func (p *proxy) stop() {
	p.down.Store(true)
	p.cutAll()
}

func (p *proxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) close() {
	p.closedMu.Do(func() {
		p.lis.Close()
		p.cutAll()
		p.wg.Wait()
	})
}

func (p *proxy) serve() {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.pipe(c) })
	}
}

func (p *proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = true
	}
}

func (p *proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *proxy) pipe(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, server)
	defer p.untrack(client, server)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(server, client)
		server.Close()
	})
	buf := make([]byte, 4096)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			total := p.bytes.Add(int64(n))
			if lim := p.limit.Load(); lim > 0 && total > lim {
				// Deliver only up to the limit, then the DC is gone.
				if keep := int64(n) - (total - lim); keep > 0 {
					_, _ = client.Write(buf[:keep])
				}
				p.cuts.Add(1)
				p.down.Store(true)
				p.cutAll()
				break
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	client.Close()
	wg.Wait()
}
