package state

import (
	"testing"

	"github.com/idsync/idsync/internal/directory"
)

// The stored key prefixes stay 'u' and 'g' whatever the kind's name.
func TestKindKeyPrefixes(t *testing.T) {
	for k, want := range map[directory.Kind]string{directory.KindUser: "u/e1", directory.KindGroup: "g/e1"} {
		if got := string(key(k, "e1")); got != want {
			t.Errorf("key(%s) = %q, want %q", k, got, want)
		}
		if got := kindOf(key(k, "e1")[0]); got != k {
			t.Errorf("kindOf(key(%s)) = %s", k, got)
		}
	}
}
