package ldapsource

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/krbtest"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// krbDC is the test DC with its Kerberos side.
type krbDC struct {
	testdc.DC
	krbtest.Env
}

func kerberosDC(t *testing.T) krbDC {
	t.Helper()
	dc := testdc.Env(t)
	return krbDC{DC: dc, Env: krbtest.Load(t, dc.Dir)}
}

func krbSource(t *testing.T, k krbDC, mod func(*Options)) *Source {
	t.Helper()
	return dcSource(t, k.DC, func(o *Options) {
		o.URLs = []string{k.Env.LDAPSURL}
		o.Username, o.Password = "", ""
		o.Auth = AuthKerberos
		o.Kerberos = Kerberos{KeytabPath: k.Keytab, Principal: k.Principal, ConfigPath: k.Config}
		if mod != nil {
			mod(o)
		}
	})
}

// writeKrb5Conf copies the DC's krb5.conf with edits into the test's dir.
func writeKrb5Conf(t *testing.T, k krbDC, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "krb5.conf")
	if err := os.WriteFile(p, []byte(edit(string(b))), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIntegrationKerberosSnapshotAndDelta(t *testing.T) {
	k := kerberosDC(t)
	_, ds := testdc.Seeded(t, "test")
	for name, mod := range map[string]func(*Options){
		"ldaps":    nil,
		"starttls": func(o *Options) { o.URLs = []string{k.Env.LDAPURL}; o.StartTLS = true },
		// Failover: an unreachable DC first, then the real one.
		"failover": func(o *Options) { o.URLs = []string{"ldaps://nosuchdc.invalid:636", k.Env.LDAPSURL} },
	} {
		t.Run(name, func(t *testing.T) {
			src := krbSource(t, k, func(o *Options) {
				o.Scope.OrganizationalUnits = []string{ds.Scope}
				o.DeltaMode = DeltaUSN
				if mod != nil {
					mod(o)
				}
			})
			snap, err := src.Snapshot(t.Context())
			if err != nil {
				t.Fatalf("Snapshot over Kerberos: %v", err)
			}
			compareDataset(t, ds, snap)
			d, err := src.Delta(t.Context(), directory.PreviousOf(snap))
			if err != nil {
				t.Fatalf("Delta over Kerberos: %v", err)
			}
			if d.Snapshot != nil && len(d.Snapshot.Users) != len(snap.Users) {
				t.Errorf("delta snapshot has %d users, full read %d", len(d.Snapshot.Users), len(snap.Users))
			}
			if got := src.binder.mechanism(); got != "kerberos" {
				t.Errorf("mechanism = %q", got)
			}
		})
	}
}

// TestIntegrationKerberosRenewal runs a source past the end of its first
// ticket (on its clock, which the test moves forward) and binds again: the
// binder logs in anew from the keytab instead of presenting a dead ticket.
// Samba's KDC refuses a TGT with less than five minutes left, so the
// renewal margin, not the KDC's expiry, is what keeps a daemon binding.
func TestIntegrationKerberosRenewal(t *testing.T) {
	k := kerberosDC(t)
	var mu sync.Mutex
	var skew time.Duration
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }
	src := krbSource(t, k, func(o *Options) { o.Now = clock })
	kb := src.binder.(*kerberosBinder)
	if _, err := src.connection(t.Context()); err != nil {
		t.Fatalf("first bind: %v", err)
	}
	first, err := kb.ticket()
	if err != nil {
		t.Fatal(err)
	}
	// KDC times have whole seconds: let the next login get a later one.
	time.Sleep(1100 * time.Millisecond)
	for i, at := range []time.Time{first.EndTime.Add(-renewBefore / 2), first.EndTime.Add(time.Hour)} {
		mu.Lock()
		skew = time.Until(at)
		mu.Unlock()
		src.mu.Lock()
		_ = src.conn.Close()
		src.conn = nil
		src.mu.Unlock()
		if _, err := src.connection(t.Context()); err != nil {
			t.Fatalf("bind %d after the first ticket's end: %v", i+2, err)
		}
		now, err := kb.ticket()
		if err != nil {
			t.Fatal(err)
		}
		if !now.AuthTime.After(first.AuthTime) {
			t.Errorf("bind %d: ticket not renewed: issued %s, first issued %s", i+2, now.AuthTime, first.AuthTime)
		}
	}
	if _, err := src.Snapshot(t.Context()); err != nil {
		t.Fatalf("Snapshot after renewal: %v", err)
	}
}

// TestIntegrationKerberosErrors checks each documented failure.
func TestIntegrationKerberosErrors(t *testing.T) {
	k := kerberosDC(t)
	unreachable := writeKrb5Conf(t, k, func(s string) string {
		return strings.Replace(s, k.Addr+":88", "127.0.0.1:9", 1)
	})
	for name, tc := range map[string]struct {
		mod  func(*Options)
		want error
	}{
		"keytab unreadable": {func(o *Options) { o.Kerberos.KeytabPath = filepath.Join(t.TempDir(), "none.keytab") }, ErrKerberosKeytab},
		"unknown principal": {func(o *Options) { o.Kerberos.Principal = "nobody-here@" + k.Realm }, ErrKerberosUnknownPrincipal},
		"no spn":            {func(o *Options) { o.URLs = []string{k.DC.LDAPSURL} }, ErrKerberosNoSPN},
		"kdc unreachable":   {func(o *Options) { o.Kerberos.ConfigPath = unreachable }, ErrKerberosKDCUnreachable},
		"wrong key version": {func(o *Options) { o.Kerberos.KeytabPath, o.Kerberos.Principal = k.StaleKeytab, k.StalePrincipal }, ErrKerberosWrongKey},
		"krb5.conf missing": {func(o *Options) { o.Kerberos.ConfigPath = filepath.Join(t.TempDir(), "krb5.conf") }, ErrKerberosConfig},
	} {
		t.Run(name, func(t *testing.T) {
			src := krbSource(t, k, tc.mod)
			_, err := src.connection(t.Context())
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}
