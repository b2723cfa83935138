package fakead

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// proxy sits between the client and the gldap server on plain connections.
// It turns entries whose DN starts with "ref:" into search result references
// (gldap cannot send those) and can cut the connection after a number of
// entries.
type proxy struct {
	ln      net.Listener
	backend string
	// cutAfter closes the connection after that many forwarded entries (0:
	// never).
	cutAfter atomic.Int64
	entries  atomic.Int64
	wg       sync.WaitGroup
}

func newProxy(backend string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, backend: backend}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) close() {
	_ = p.ln.Close()
	p.wg.Wait()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(b, c)
			_ = b.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.forward(c, b)
			_ = c.Close()
			_ = b.Close()
		}()
	}
}

func (p *proxy) forward(client, backend net.Conn) {
	br := bufio.NewReader(backend)
	for {
		pkt, err := ber.ReadPacket(br)
		if err != nil {
			return
		}
		if len(pkt.Children) >= 2 && pkt.Children[1].Tag == ldap.ApplicationSearchResultEntry {
			op := pkt.Children[1]
			if len(op.Children) > 0 {
				if dn := op.Children[0].Data.String(); strings.HasPrefix(dn, "ref:") {
					pkt = referencePacket(pkt.Children[0], strings.TrimPrefix(dn, "ref:"))
				}
			}
			if n := p.entries.Add(1); p.cutAfter.Load() > 0 && n > p.cutAfter.Load() {
				return
			}
		}
		if _, err := client.Write(pkt.Bytes()); err != nil {
			return
		}
	}
}

func referencePacket(msgID *ber.Packet, url string) *ber.Packet {
	env := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	id := ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, msgID.Value, "MessageID")
	env.AppendChild(id)
	ref := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultReference, nil, "Search Result Reference")
	ref.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, url, "URL"))
	env.AppendChild(ref)
	return env
}
