package ldapsource

import (
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDialErrorsNameTheCause: each way of failing to reach a domain
// controller is told once, in plain words, with what to check, and without
// the layers the error passed through.
func TestDialErrorsNameTheCause(t *testing.T) {
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	// A TLS server whose certificate no configured CA signed.
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	_, caFile := testPKI(t)

	s := &Source{opts: Options{Timeout: 5 * time.Second, CAFile: caFile}}
	tests := []struct {
		name, url string
		want      []string
	}{
		{"refused", "ldaps://" + closed, []string{"connection refused", "check the port", "firewall"}},
		{"dns", "ldaps://no-such-dc.invalid:636", []string{"the name no-such-dc.invalid does not resolve", "DNS"}},
		{"tls", "ldaps://" + srv.Listener.Addr().String(), []string{"not signed by a trusted CA", "ldap.certificate_path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.dial(tt.url)
			var de *DialError
			if !errors.As(err, &de) {
				t.Fatalf("dial %s: %v (%T), want a *DialError", tt.url, err, err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			for _, internal := range []string{"LDAP Result Code", "Network Error", "dial tcp"} {
				if strings.Contains(msg, internal) {
					t.Errorf("%q shows the internal %q", msg, internal)
				}
			}
		})
	}

	// A timeout: the route, not the port.
	err = dialError("ldaps://dc1.corp.test:636", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded})
	if msg := err.Error(); !strings.Contains(msg, "no answer") || !strings.Contains(msg, "route") {
		t.Errorf("timeout: %q", msg)
	}
}
