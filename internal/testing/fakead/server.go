// Package fakead is an in-process fake Active Directory for tests, built on
// jimlambrt/gldap and driven by the real go-ldap client. It implements what
// the source relies on: simple bind, StartTLS and LDAPS, the root DSE,
// paged search, forced ranged retrieval of member, the extended DN control,
// Show Deleted, DirSync with a USN cookie and "more data" rounds (returning,
// as AD does, only the requested attributes that changed since the
// cookie, and only objects with such a change), error
// injection, search references and connection cuts.
package fakead

import (
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jimlambrt/gldap"
)

// Options configures a fake.
type Options struct {
	// BaseDN is the naming context; default DC=test,DC=example,DC=com.
	BaseDN string
	// Host is the dnsHostName; default dc1.test.example.com.
	Host string
	// BindDN and Password are the only accepted credentials.
	BindDN, Password string
	// MaxValRange forces ranged retrieval of member above that many values
	// (0: never, like Samba).
	MaxValRange int
	// DirSyncPageSize limits objects per DirSync round (0: unlimited).
	DirSyncPageSize int
	// DirSyncDenied refuses DirSync with insufficientAccessRights.
	DirSyncDenied bool
	// TLS, when set, serves LDAPS (and no proxy).
	TLS *tls.Config
	// StartTLS, when set, accepts StartTLS on a plain listener.
	StartTLS *tls.Config
	// IgnoreExtendedDN makes the fake ignore the extended DN control, as
	// servers without it do (member values are then plain DNs).
	IgnoreExtendedDN bool
	// TombstoneLifetime in days; 0 leaves it unset.
	TombstoneLifetime int
}

// Server is a running fake.
type Server struct {
	opts  Options
	srv   *gldap.Server
	proxy *proxy
	addr  string

	mu           sync.Mutex
	entries      []*entry
	byDN         map[string]*entry
	usn          int64
	invocationID string
	// failPage makes the n-th page (1-based) of paged searches fail with
	// failCode; 0 disables.
	failPage, failCode int
	referrals          []string

	// DirSyncRounds counts DirSync requests answered.
	DirSyncRounds atomic.Int64
	// Searches counts search requests.
	Searches atomic.Int64
}

type entry struct {
	dn      string
	attrs   map[string]*attr
	deleted bool
	// changedAt is, by lower-case attribute name, the USN of the
	// attribute's last change (a removal too): DirSync returns an object
	// only for the attributes asked for that changed after its cookie, and
	// only those, as AD does. dirty are the attributes set since the last
	// stamp.
	changedAt map[string]int64
	dirty     map[string]bool
}

type attr struct {
	name   string
	values []string
}

func (e *entry) get(name string) []string {
	if a, ok := e.attrs[strings.ToLower(name)]; ok {
		return a.values
	}
	return nil
}

func (e *entry) set(name string, values []string) {
	e.attrs[strings.ToLower(name)] = &attr{name: name, values: values}
	e.markDirty(name)
}

// remove removes an attribute, a change DirSync reports as the attribute
// without values.
func (e *entry) remove(name string) {
	delete(e.attrs, strings.ToLower(name))
	e.markDirty(name)
}

func (e *entry) markDirty(name string) {
	if e.dirty == nil {
		e.dirty = map[string]bool{}
	}
	e.dirty[strings.ToLower(name)] = true
}

// stamp records the attributes set since the last stamp as changed at usn.
func (e *entry) stamp(usn int64) {
	if e.changedAt == nil {
		e.changedAt = map[string]int64{}
	}
	for n := range e.dirty {
		e.changedAt[n] = usn
	}
	clear(e.dirty)
}

// Start runs a fake on loopback and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.BaseDN == "" {
		opts.BaseDN = "DC=test,DC=example,DC=com"
	}
	if opts.Host == "" {
		opts.Host = "dc1.test.example.com"
	}
	s := &Server{opts: opts, byDN: map[string]*entry{}, invocationID: "0b7bd2a4-8d43-4d1e-9a53-3f0c1b1e2a01"}
	srv, err := gldap.NewServer(gldap.WithLogger(hclog.NewNullLogger()), gldap.WithDisablePanicRecovery())
	if err != nil {
		t.Fatalf("fakead: new server: %v", err)
	}
	mux, err := gldap.NewMux()
	if err != nil {
		t.Fatalf("fakead: new mux: %v", err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatalf("fakead: route: %v", err)
		}
	}
	must(mux.Bind(s.handleBind))
	must(mux.Search(s.handleSearch))
	if opts.StartTLS != nil {
		must(mux.ExtendedOperation(s.handleStartTLS, gldap.ExtendedOperationStartTLS))
	}
	must(srv.Router(mux))
	port, err := freePort()
	if err != nil {
		t.Fatalf("fakead: %v", err)
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", port)
	var runOpts []gldap.Option
	if opts.TLS != nil {
		runOpts = append(runOpts, gldap.WithTLSConfig(opts.TLS))
	}
	go func() { _ = srv.Run(s.addr, runOpts...) }()
	deadline := time.Now().Add(5 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("fakead: server not ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.srv = srv
	if opts.TLS == nil && opts.StartTLS == nil {
		if s.proxy, err = newProxy(s.addr); err != nil {
			t.Fatalf("fakead: proxy: %v", err)
		}
	}
	t.Cleanup(s.Stop)
	s.addDefaults()
	return s
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Stop stops the fake.
func (s *Server) Stop() {
	if s.proxy != nil {
		s.proxy.close()
	}
	_ = s.srv.Stop()
}

// URL is the address clients use.
func (s *Server) URL() string {
	switch {
	case s.opts.TLS != nil:
		return "ldaps://" + s.addr
	case s.proxy != nil:
		return "ldap://" + s.proxy.addr()
	}
	return "ldap://" + s.addr
}

// BaseDN returns the naming context.
func (s *Server) BaseDN() string { return s.opts.BaseDN }

// SetInvocationID changes the DC's invocationId, as a restore does.
func (s *Server) SetInvocationID(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invocationID = id
}

// FailPage makes the n-th page of every paged search fail with code
// (0 disables).
func (s *Server) FailPage(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPage, s.failCode = n, code
}

// SetReferrals makes every subtree search end with search result references
// to these URLs.
func (s *Server) SetReferrals(urls ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.referrals = urls
}

// CutAfterEntries closes the client connection after n more search entries
// (plain connections only; 0 disables).
func (s *Server) CutAfterEntries(n int) {
	s.proxy.entries.Store(0)
	s.proxy.cutAfter.Store(int64(n))
}

// USN returns the highest committed USN.
func (s *Server) USN() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usn
}

func (s *Server) addDefaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := "CN=Configuration," + s.opts.BaseDN
	ntds := "CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites," + cfg
	s.put(&entry{dn: ntds, attrs: map[string]*attr{}}, map[string][]string{"objectClass": {"nTDSDSA"}})
	ds := &entry{dn: "CN=Directory Service,CN=Windows NT,CN=Services," + cfg, attrs: map[string]*attr{}}
	a := map[string][]string{"objectClass": {"nTDSService"}}
	if s.opts.TombstoneLifetime > 0 {
		a["tombstoneLifetime"] = []string{strconv.Itoa(s.opts.TombstoneLifetime)}
	}
	s.put(ds, a)
}

func (s *Server) put(e *entry, attrs map[string][]string) {
	for k, v := range attrs {
		e.set(k, v)
	}
	s.entries = append(s.entries, e)
	s.byDN[strings.ToLower(e.dn)] = e
}

func (s *Server) handleBind(w *gldap.ResponseWriter, r *gldap.Request) {
	resp := r.NewBindResponse(gldap.WithResponseCode(gldap.ResultInvalidCredentials))
	defer func() { _ = w.Write(resp) }()
	m, err := r.GetSimpleBindMessage()
	if err != nil {
		return
	}
	if strings.EqualFold(m.UserName, s.opts.BindDN) && string(m.Password) == s.opts.Password {
		resp.SetResultCode(gldap.ResultSuccess)
	}
}

func (s *Server) handleStartTLS(w *gldap.ResponseWriter, r *gldap.Request) {
	res := r.NewExtendedResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	res.SetResponseName(gldap.ExtendedOperationStartTLS)
	if err := w.Write(res); err != nil {
		return
	}
	_ = r.StartTLS(s.opts.StartTLS)
}

// guidText turns raw objectGUID bytes into canonical text.
func guidText(raw string) string {
	b := []byte(raw)
	if len(b) != 16 {
		return ""
	}
	u := []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]}
	u = append(u, b[8:]...)
	h := hex.EncodeToString(u)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// GUIDBytes turns canonical GUID text into the raw bytes AD stores.
func GUIDBytes(g string) string {
	h := strings.ReplaceAll(g, "-", "")
	u, err := hex.DecodeString(h)
	if err != nil || len(u) != 16 {
		panic("fakead: bad GUID " + g)
	}
	b := []byte{u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6]}
	return string(append(b, u[8:]...))
}

// SIDBytes encodes S-1-5-21-a-b-c-rid as binary objectSid.
func SIDBytes(sid string) string {
	parts := strings.Split(sid, "-")
	if len(parts) < 3 || parts[0] != "S" {
		panic("fakead: bad SID " + sid)
	}
	rev, _ := strconv.Atoi(parts[1])
	auth, _ := strconv.ParseUint(parts[2], 10, 48)
	subs := parts[3:]
	b := []byte{byte(rev), byte(len(subs))}
	for i := 5; i >= 0; i-- {
		b = append(b, byte(auth>>(8*i)))
	}
	for _, p := range subs {
		v, _ := strconv.ParseUint(p, 10, 32)
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return string(b)
}
