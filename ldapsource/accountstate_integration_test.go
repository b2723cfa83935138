package ldapsource

import (
	"fmt"
	"strconv"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// quotedPassword is a unicodePwd value.
func quotedPassword(pw string) string {
	q := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 0, 2*len(q))
	for _, r := range q {
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

// fileTime is the FILETIME value of t.
func fileTime(t time.Time) string {
	return strconv.FormatInt(t.UnixNano()/100+fileTimeEpochDiff, 10)
}

// LockoutPolicy gives the users of fx a fine-grained password policy that
// locks an account out after threshold bad passwords for d: the domain's
// policy counts in minutes, the PSO's attributes in 100 ns.
func lockoutPolicy(t *testing.T, fx *sambaDir, base string, threshold int, d time.Duration, users ...string) {
	t.Helper()
	dn := fmt.Sprintf("CN=%s,CN=Password Settings Container,CN=System,%s", fx.sam("pso"), base)
	neg := strconv.FormatInt(-int64(d/100), 10)
	fx.add(t, dn, map[string][]string{
		"objectClass":                              {"msDS-PasswordSettings"},
		"msDS-PasswordSettingsPrecedence":          {"1"},
		"msDS-PasswordReversibleEncryptionEnabled": {"FALSE"},
		"msDS-PasswordHistoryLength":               {"0"},
		"msDS-PasswordComplexityEnabled":           {"FALSE"},
		"msDS-MinimumPasswordLength":               {"0"},
		"msDS-MinimumPasswordAge":                  {"0"},
		"msDS-MaximumPasswordAge":                  {"-9223372036854775808"},
		"msDS-LockoutThreshold":                    {strconv.Itoa(threshold)},
		"msDS-LockoutObservationWindow":            {neg},
		"msDS-LockoutDuration":                     {neg},
		"msDS-PSOAppliesTo":                        users,
	})
	t.Cleanup(func() { _ = fx.conn.Del(ldap.NewDelRequest(dn, nil)) })
}

// badBinds makes n simple binds of dn with a wrong password.
func badBinds(t *testing.T, dc testdc.DC, dn string, n int) {
	t.Helper()
	for range n {
		c := testdc.Dial(t, dc)
		if err := c.Bind(dn, "wrong-password-1"); err == nil {
			t.Fatalf("bind of %s with a wrong password succeeded", dn)
		}
		c.Close()
	}
}

func findState(states []directory.AccountState, id string) (directory.AccountState, bool) {
	for _, a := range states {
		if a.ExternalID == id {
			return a, true
		}
	}
	return directory.AccountState{}, false
}

func TestIntegrationAccountChanges(t *testing.T) {
	dc := testdc.Env(t)
	conn := testdc.Dial(t, dc)
	for _, mode := range []DeltaMode{DeltaUSN, DeltaDirSync} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := t.Context()
			fx := openSambaDir(t, dc, conn).(*sambaDir)
			var dns [3]string
			for i, cn := range []string{"a", "b", "c"} {
				dns[i] = fx.addUser(t, cn, fx.ou)
				fx.modify(t, dns[i], func(r *ldap.ModifyRequest) {
					r.Replace("unicodePwd", []string{quotedPassword("Acct-Test-Pw-1")})
				})
				fx.modify(t, dns[i], func(r *ldap.ModifyRequest) { r.Replace("userAccountControl", []string{"512"}) })
			}
			src := dcSource(t, dc, func(o *Options) {
				o.Scope.OrganizationalUnits = []string{fx.ou}
				o.DeltaMode = mode
			})

			first, err := src.AccountChanges(ctx, directory.Watermark{})
			if err != nil {
				t.Fatalf("AccountChanges (first): %v", err)
			}
			if !first.Full || len(first.States) != 3 || string(first.Watermark.Mode) != string(mode) {
				t.Fatalf("first read: full %v, %d states, mode %q; want a full read of 3 in mode %s", first.Full, len(first.States), first.Watermark.Mode, mode)
			}
			ids := map[string]string{}
			for _, a := range first.States {
				if !a.Enabled || a.LockedOut || !a.ExpiresAt.IsZero() {
					t.Errorf("fresh account %+v, want enabled, not locked, never expiring", a)
				}
				ids[a.DN] = a.ExternalID
			}
			idA, idB, idC := ids[dns[0]], ids[dns[1]], ids[dns[2]]

			// Nothing changed: nothing read.
			idle, err := src.AccountChanges(ctx, first.Watermark)
			if err != nil {
				t.Fatalf("AccountChanges (idle): %v", err)
			}
			if idle.Full || len(idle.States) != 0 {
				t.Errorf("idle read: full %v, states %+v; want none", idle.Full, idle.States)
			}

			// Disable a, set b's expiry, and lock c out with bad passwords.
			fx.modify(t, dns[0], func(r *ldap.ModifyRequest) { r.Replace("userAccountControl", []string{"514"}) })
			expires := time.Now().Add(time.Hour).Truncate(time.Second)
			fx.modify(t, dns[1], func(r *ldap.ModifyRequest) { r.Replace("accountExpires", []string{fileTime(expires)}) })
			lockoutPolicy(t, fx, dc.BaseDN, 2, 4*time.Second, dns[2])
			badBinds(t, dc, dns[2], 3)
			got, err := src.AccountChanges(ctx, idle.Watermark)
			if err != nil {
				t.Fatalf("AccountChanges (changes): %v", err)
			}
			if got.Full {
				t.Errorf("a read of changes was full")
			}
			if a, ok := findState(got.States, idA); !ok || a.Enabled {
				t.Errorf("disabled account: %+v (found %v), want Enabled false", a, ok)
			}
			if b, ok := findState(got.States, idB); !ok || !b.ExpiresAt.Equal(expires) {
				t.Errorf("expiring account: %+v (found %v), want ExpiresAt %s", b, ok, expires)
			}
			c, ok := findState(got.States, idC)
			if !ok || !c.LockedOut || !c.Enabled {
				t.Fatalf("locked-out account: %+v (found %v), want LockedOut", c, ok)
			}

			if mode == DeltaDirSync {
				// DirSync is restricted to account state: another change
				// is not read.
				fx.modify(t, dns[0], func(r *ldap.ModifyRequest) { r.Replace("description", []string{"changed"}) })
				other, err := src.AccountChanges(ctx, got.Watermark)
				if err != nil {
					t.Fatalf("AccountChanges (description): %v", err)
				}
				if len(other.States) != 0 {
					t.Errorf("a description change was read as account state: %+v", other.States)
				}
			}

			// The lockout ends by itself, with no write: AccountStates sees it.
			deadline := time.Now().Add(30 * time.Second)
			for {
				states, err := src.AccountStates(ctx, []string{idC, idA})
				if err != nil {
					t.Fatalf("AccountStates: %v", err)
				}
				c, _ := findState(states, idC)
				if !c.LockedOut {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("account %s still locked out 30 s after a 4 s lockout", dns[2])
				}
				time.Sleep(500 * time.Millisecond)
			}

			// The snapshot read knows lockout too.
			badBinds(t, dc, dns[2], 3)
			snap, err := src.Snapshot(ctx)
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			var lockedInSnap bool
			for _, u := range snap.Users {
				if u.ExternalID == idC {
					lockedInSnap = u.LockedOut
				}
				if u.ExternalID == idA && u.LockedOut {
					t.Errorf("snapshot: account %s locked out, want not", u.DN)
				}
			}
			if !lockedInSnap {
				t.Errorf("snapshot: account %s not locked out, want locked out", dns[2])
			}
		})
	}
}
