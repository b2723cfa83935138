package ldapsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
)

// Source reads one Active Directory domain. It is safe for concurrent use;
// reads share one connection that is re-dialed after network errors.
type Source struct {
	opts   Options
	log    *zap.Logger
	binder binder
	// buildDeltas makes Delta rebuild memberships with directory.Build
	// even when only users' attributes changed (tests compare the two).
	buildDeltas bool
	// noMemberEdits makes Delta read again every object DirSync reports,
	// even a group whose members alone changed or a user whose mapped
	// attributes alone changed (tests compare the two).
	noMemberEdits bool
	// memberEdits is how many groups the last Delta took from DirSync's
	// member values, valueEdits how many users from its attribute values,
	// instead of reading them again.
	memberEdits, valueEdits int

	mu   sync.Mutex
	conn *ldap.Conn
	// good is the index in opts.URLs of the DC that answered last.
	good int
	url  string
	// tlsState is the negotiated TLS state of conn, if any.
	tlsVersion uint16

	// readObjects and readPages count what every search of this Source
	// has read, for Options.OnPage.
	readObjects, readPages atomic.Int64
}

// pageRead counts one page (or DirSync round) of n entries and tells
// Options.OnPage.
func (s *Source) pageRead(n int64) {
	objects, pages := s.readObjects.Add(n), s.readPages.Add(1)
	if s.opts.OnPage != nil {
		s.opts.OnPage(objects, pages)
	}
}

// New validates opts and returns a Source. It does not connect.
func New(opts Options) (*Source, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	s := &Source{opts: opts, log: opts.Logger.Named("ldapsource")}
	b, err := newBinder(opts)
	if err != nil {
		return nil, err
	}
	s.binder = b
	if opts.InsecureSkipVerify {
		s.log.Warn("tls certificate verification is disabled")
	}
	if opts.AllowInsecureBind && !opts.StartTLS {
		for _, u := range opts.URLs {
			if strings.HasPrefix(strings.ToLower(u), "ldap://") {
				s.log.Warn("simple bind over plain ldap is allowed: the password travels unencrypted", zap.String("url", u))
			}
		}
	}
	return s, nil
}

// Close closes the connection, if any.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The binder ends its Kerberos session (and its renewal); a read after
	// Close logs in again.
	s.binder.close()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	if err != nil {
		return fmt.Errorf("close ldap connection: %w", err)
	}
	return nil
}

// connection returns the live connection or dials the DCs in order, starting
// with the one that answered last.
func (s *Source) connection(ctx context.Context) (*ldap.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !s.conn.IsClosing() {
		return s.conn, nil
	}
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	var errs []error
	n := len(s.opts.URLs)
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		idx := (s.good + i) % n
		u := s.opts.URLs[idx]
		c, ver, err := s.dial(u)
		if err != nil {
			s.log.Warn("domain controller unavailable", zap.String("url", u), zap.Error(err))
			errs = append(errs, err)
			continue
		}
		s.conn, s.good, s.url, s.tlsVersion = c, idx, u, ver
		s.log.Debug("connected", zap.String("url", u))
		return c, nil
	}
	return nil, fmt.Errorf("connect to domain controllers: %w", errors.Join(errs...))
}

// invalidate drops c after a network error so the next call re-dials.
func (s *Source) invalidate(c *ldap.Conn, err error) {
	if !isNetworkError(err) && !c.IsClosing() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == c {
		_ = c.Close()
		s.conn = nil
	}
}

func isNetworkError(err error) bool {
	return err != nil && ldap.IsErrorWithCode(err, ldap.ErrorNetwork)
}

func (s *Source) tlsConfig(host string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.opts.InsecureSkipVerify} //nolint:gosec // opt-in, warned at New
	if s.opts.CAFile != "" {
		pem, err := os.ReadFile(s.opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read CA file %s: no PEM certificates found", s.opts.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// dial connects to one URL, sets up TLS and binds.
func (s *Source) dial(rawURL string) (*ldap.Conn, uint16, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, 0, fmt.Errorf("dial %s: parse URL: %w", rawURL, err)
	}
	scheme := strings.ToLower(u.Scheme)
	host := u.Hostname()
	plain := scheme == "ldap" && !s.opts.StartTLS
	if plain && !s.opts.AllowInsecureBind {
		return nil, 0, fmt.Errorf("dial %s: %w", rawURL, ErrInsecureBind)
	}
	tc, err := s.tlsConfig(host)
	if err != nil {
		return nil, 0, fmt.Errorf("dial %s: %w", rawURL, err)
	}
	dialer := &net.Dialer{Timeout: s.opts.Timeout}
	opts := []ldap.DialOpt{ldap.DialWithDialer(dialer)}
	if scheme == "ldaps" {
		opts = append(opts, ldap.DialWithTLSConfig(tc))
	}
	c, err := ldap.DialURL(rawURL, opts...)
	if err != nil {
		return nil, 0, dialError(rawURL, err)
	}
	c.SetTimeout(s.opts.Timeout)
	if scheme == "ldap" && s.opts.StartTLS {
		if err := c.StartTLS(tc); err != nil {
			_ = c.Close()
			return nil, 0, dialError(rawURL, err)
		}
	}
	var ver uint16
	if st, ok := c.TLSConnectionState(); ok {
		ver = st.Version
	}
	if err := s.binder.bind(c, host); err != nil {
		_ = c.Close()
		return nil, 0, fmt.Errorf("dial %s: %w", rawURL, err)
	}
	return c, ver, nil
}
