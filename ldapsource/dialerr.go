package ldapsource

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// DialError is a failure to reach or set up TLS with one domain
// controller. Its text names what happened and its likely cause once, in
// an administrator's words, without the layers it passed through; Err
// keeps the original error for errors.Is/As.
type DialError struct {
	URL string
	// What happened, e.g. "connection refused".
	What string
	// Cause is the likely cause and what to check; empty when unknown.
	Cause string
	Err   error
}

func (e *DialError) Error() string {
	if e.Cause == "" {
		return fmt.Sprintf("%s: %s", e.URL, e.What)
	}
	return fmt.Sprintf("%s: %s: %s", e.URL, e.What, e.Cause)
}

func (e *DialError) Unwrap() error { return e.Err }

// dialError explains a failure of dialing rawURL or of its TLS handshake.
func dialError(rawURL string, err error) *DialError {
	e := &DialError{URL: rawURL, Err: err}
	host, port := "", ""
	if u, perr := url.Parse(rawURL); perr == nil {
		host, port = u.Hostname(), u.Port()
		if port == "" {
			port = "389"
			if strings.EqualFold(u.Scheme, "ldaps") {
				port = "636"
			}
		}
	}
	var (
		dns  *net.DNSError
		unk  x509.UnknownAuthorityError
		hn   x509.HostnameError
		inv  x509.CertificateInvalidError
		verr *tls.CertificateVerificationError
		nerr net.Error
	)
	// go-ldap's StartTLS flattens the handshake error to text, so the text
	// is checked too.
	msg := err.Error()
	switch {
	case errors.As(err, &dns):
		e.What = fmt.Sprintf("the name %s does not resolve", host)
		e.Cause = "check the host name in ldap.host and that this machine's DNS servers know the domain (usually the domain controllers themselves)"
	case errors.Is(err, syscall.ECONNREFUSED):
		e.What = "connection refused"
		e.Cause = fmt.Sprintf("nothing accepts connections on port %s of %s: check the port (636 for ldaps://, 389 for ldap://) and any firewall that rejects it", port, host)
	case errors.As(err, &nerr) && nerr.Timeout():
		e.What = "no answer"
		e.Cause = fmt.Sprintf("%s did not answer on port %s in time: check the route to it (VPN, routing) and firewalls that drop packets", host, port)
	case errors.As(err, &unk), errors.As(err, &verr) && errors.As(verr.Err, &unk),
		strings.Contains(msg, "certificate signed by unknown authority"):
		e.What = "the domain controller's certificate is not signed by a trusted CA"
		e.Cause = "set ldap.certificate_path to the PEM file of the CA that issued it (the domain's root CA)"
	case errors.As(err, &hn), strings.Contains(msg, "x509: certificate is valid for"), strings.Contains(msg, "doesn't contain any IP SANs"):
		e.What = "the domain controller's certificate does not name " + host
		e.Cause = "write the host name the certificate names (the DC's DNS name) in ldap.host"
		if errors.As(err, &hn) && hn.Certificate != nil && len(hn.Certificate.DNSNames) > 0 {
			e.Cause += fmt.Sprintf(" (it names %s)", strings.Join(hn.Certificate.DNSNames, ", "))
		}
	case errors.As(err, &inv):
		e.What = "the domain controller's certificate is invalid"
		e.Cause = inv.Error()
	default:
		e.What = innermost(err)
	}
	return e
}

// innermost returns the text of the deepest error of a chain of %w wraps,
// or of a net.OpError's cause: what happened, without the layers.
func innermost(err error) string {
	for {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			return op.Err.Error()
		}
		next := errors.Unwrap(err)
		if next == nil {
			return strings.TrimPrefix(err.Error(), `LDAP Result Code 200 "Network Error": `)
		}
		err = next
	}
}
