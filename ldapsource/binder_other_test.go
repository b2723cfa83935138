//go:build !windows

package ldapsource

import (
	"errors"
	"strings"
	"testing"
)

// TestWindowsIdentityElsewhere: off Windows the Windows identity is refused
// with the alternative named.
func TestWindowsIdentityElsewhere(t *testing.T) {
	_, err := New(Options{URLs: []string{"ldaps://dc1.example.com"}, Auth: AuthWindows})
	if !errors.Is(err, ErrWindowsIdentityUnsupported) || !strings.Contains(err.Error(), "use_kerberos") {
		t.Fatalf("New with AuthWindows = %v", err)
	}
}
