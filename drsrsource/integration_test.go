package drsrsource_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/drsrsource"
	"github.com/idsync/idsync/internal/testing/pwfixture"
)

func dial(t *testing.T, o drsrsource.Options) *drsrsource.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := drsrsource.Dial(ctx, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// collect runs Changes from cur and returns the accounts by external id.
func collect(t *testing.T, c *drsrsource.Client, cur drsrsource.Cursor) (map[string]drsrsource.Account, drsrsource.Cursor, bool) {
	t.Helper()
	got := map[string]drsrsource.Account{}
	next, full, err := c.Changes(t.Context(), cur, func(a drsrsource.Account) error {
		got[a.ExternalID] = a
		return nil
	})
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	return got, next, full
}

func TestChangesSinceCursor(t *testing.T) {
	f := pwfixture.New(t, "delta")
	a := f.AddUser(f.In, "pw-dana")
	b := f.RequireChange(f.AddUser(f.In, "pw-eve"))
	out := f.AddUser(f.Out, "pw-frank")
	c := dial(t, f.Admin())

	// A full pass yields the in-scope accounts only, and their hashes are
	// MD4(UTF-16LE(password)).
	first, cur, full := collect(t, c, drsrsource.Cursor{})
	if _, ok := first[out.GUID]; !full || len(first) != 2 || ok {
		t.Fatalf("first pass: full=%v, %d accounts; want a full pass over the 2 in scope", full, len(first))
	}
	var accs []drsrsource.Account
	for _, acc := range first {
		accs = append(accs, acc)
	}
	hashes, must := map[string]string{}, map[string]bool{}
	if err := c.Hashes(t.Context(), accs, func(s *drsrsource.Secret) error {
		hashes[s.ExternalID], must[s.ExternalID] = s.Hash.Hex(), s.MustChange
		return nil
	}); err != nil {
		t.Fatalf("Hashes: %v", err)
	}
	for _, u := range []pwfixture.User{a, b} {
		if hashes[u.GUID] != pwfixture.NTHash(u.Password) || must[u.GUID] != u.MustChange || first[u.GUID].MustChange != u.MustChange {
			t.Errorf("%s: wrong hash or MustChange (%v, want %v)", u.DN, must[u.GUID], u.MustChange)
		}
	}
	// The cursor survives encoding, as it does in the replication token.
	raw, err := cur.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if cur, err = drsrsource.ParseCursor(raw); err != nil {
		t.Fatal(err)
	}
	none, cur, full := collect(t, c, cur)
	if full || len(none) != 0 {
		t.Fatalf("no change: full=%v, accounts %v; want none", full, none)
	}

	b = f.SetPassword(b)
	f.SetPassword(out)
	got, cur, _ := collect(t, c, cur)
	if _, ok := got[b.GUID]; !ok || len(got) != 1 {
		t.Fatalf("after one password change: %v; want only %s", got, b.DN)
	}
	var hash string
	if err := c.Hashes(t.Context(), []drsrsource.Account{got[b.GUID]}, func(s *drsrsource.Secret) error {
		hash = s.Hash.Hex()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if hash != pwfixture.NTHash(b.Password) {
		t.Error("the changed password's hash does not match")
	}

	f.RequireChange(a)
	got, _, _ = collect(t, c, cur)
	if acc, ok := got[a.GUID]; !ok || !acc.MustChange || len(got) != 1 {
		t.Fatalf("after pwdLastSet=0: %+v; want only %s with MustChange", got, a.DN)
	}

	// A cursor of another database means a full pass.
	stale := cur
	stale.InvocationID[0] ^= 0xff
	all, _, full := collect(t, c, stale)
	if !full || len(all) != 2 {
		t.Fatalf("stale cursor: full=%v, %d accounts; want a full pass over 2", full, len(all))
	}
}

func TestRights(t *testing.T) {
	f := pwfixture.New(t, "rights")
	f.AddUser(f.In, "pw-gina")
	if err := dial(t, f.Admin()).CheckRights(t.Context()); err != nil {
		t.Fatalf("administrator: CheckRights: %v", err)
	}

	c := dial(t, f.Unprivileged())
	err := c.CheckRights(t.Context())
	var re *drsrsource.RightError
	if !errors.As(err, &re) || re.Right != drsrsource.RightGetChanges {
		t.Fatalf("unprivileged CheckRights = %v; want a RightError for %q", err, drsrsource.RightGetChanges)
	}
	if !strings.Contains(err.Error(), "Replicating Directory Changes") {
		t.Errorf("message %q does not name the right", err)
	}
	_, _, err = c.Changes(t.Context(), drsrsource.Cursor{}, func(drsrsource.Account) error { return nil })
	if !errors.As(err, &re) {
		t.Fatalf("unprivileged Changes = %v; want a RightError", err)
	}
}

func TestHashesSkipsUnknownAccounts(t *testing.T) {
	f := pwfixture.New(t, "unknown")
	u := f.AddUser(f.In, "pw-ivan")
	c := dial(t, f.Admin())
	gone, err := drsrsource.AccountFor("0badc0de-0000-4000-8000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	known, err := drsrsource.AccountFor(u.GUID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = c.Hashes(t.Context(), []drsrsource.Account{gone, known}, func(s *drsrsource.Secret) error {
		got = append(got, s.ExternalID)
		return nil
	})
	if err != nil || len(got) != 1 || got[0] != u.GUID {
		t.Fatalf("Hashes over a deleted and a live account = %v, %v; want only %s", got, err, u.GUID)
	}
}

func TestDialWrongPassword(t *testing.T) {
	f := pwfixture.New(t, "badpw")
	o := f.Admin()
	o.Password = "Wrong-" + pwfixture.NewPassword()
	c, err := drsrsource.Dial(t.Context(), o)
	if err == nil {
		c.Close()
		t.Fatal("Dial with a wrong password succeeded")
	}
	if !errors.Is(err, drsrsource.ErrConnect) || strings.Contains(err.Error(), o.Password) {
		t.Errorf("Dial = %v; want ErrConnect without the password", err)
	}
}
