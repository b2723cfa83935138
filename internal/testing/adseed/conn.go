package adseed

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
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Target says how to reach and bind to the domain controller.
type Target struct {
	// URL is an ldaps:// or ldap:// URL; ldap:// URLs are upgraded with
	// StartTLS because AD refuses simple binds without TLS.
	URL string
	// BindDN is the bind identity (a DN or a UPN).
	BindDN string
	// Password is the bind password.
	Password string
	// CAFile is a PEM file of CAs that sign the DC's certificate; empty
	// means the system roots.
	CAFile string
	// ServerName overrides the name verified in the DC's certificate; empty
	// means the host of URL.
	ServerName string
	// Timeout bounds each LDAP request; zero means 2 minutes.
	Timeout time.Duration
}

// Dial connects and binds. The connection is closed when ctx ends before
// the bind completes.
func (t Target) Dial(ctx context.Context) (*ldap.Conn, error) {
	tlsCfg, err := t.tlsConfig()
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 30 * time.Second} // also bounds the TLS handshake; a busy single-process DC can be slow to accept
	conn, err := ldap.DialURL(t.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(tlsCfg))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", t.URL, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	timeout := t.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	conn.SetTimeout(timeout)
	if strings.HasPrefix(strings.ToLower(t.URL), "ldap://") {
		if err := conn.StartTLS(tlsCfg); err != nil {
			conn.Close()
			return nil, fmt.Errorf("starttls %s: %w", t.URL, err)
		}
	}
	if err := conn.Bind(t.BindDN, t.Password); err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bind %s: %w", t.URL, ctx.Err())
		}
		return nil, fmt.Errorf("bind %s as %s: %w", t.URL, t.BindDN, err)
	}
	return conn, nil
}

func (t Target) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if cfg.ServerName == "" {
		host, err := hostOf(t.URL)
		if err != nil {
			return nil, err
		}
		cfg.ServerName = host
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read CA file %s: no PEM certificates", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func hostOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse ldap url: %w", err)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("ldap url %q: no host", raw)
	}
	return u.Hostname(), nil
}

// isCode reports whether err is an LDAP result with the given code.
func isCode(err error, code uint16) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode == code
}
