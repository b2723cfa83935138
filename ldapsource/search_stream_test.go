package ldapsource

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/testing/fakead"
)

// pagedSearch hands entries over as they arrive; after the callback fails
// it drains the page without calling it again, returns that error, and the
// connection stays usable.
func TestPagedSearchStreamsAndStopsOnError(t *testing.T) {
	f := fakead.Start(t, fakead.Options{BindDN: testBindDN, Password: testPass})
	f.Add(ouStaff, map[string][]string{"objectClass": {"organizationalUnit"}})
	for i := range 10 {
		addUser(f, fakeUser{cn: fmt.Sprintf("u%02d", i), ou: ouStaff, n: i})
	}
	src, err := New(Options{URLs: []string{f.URL()}, Username: testBindDN, Password: testPass, AllowInsecureBind: true,
		Scope: Scope{Domain: "test.example.com"}, PageSize: 4, DeltaMode: DeltaUSN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	ctx := context.Background()
	c, err := src.connection(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := searchSpec{base: ouStaff, scope: ldap.ScopeWholeSubtree, filter: userFilter, attrs: []string{"cn"}}

	boom := errors.New("boom")
	calls := 0
	err = src.pagedSearch(ctx, c, spec, func(*ldap.Entry) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 3 {
		t.Fatalf("pagedSearch = %v after %d calls, want boom after 3", err, calls)
	}

	var cns []string
	if err := src.pagedSearch(ctx, c, spec, func(e *ldap.Entry) error {
		cns = append(cns, e.GetAttributeValue("cn"))
		return nil
	}); err != nil {
		t.Fatalf("second pagedSearch on the same connection: %v", err)
	}
	if len(cns) != 10 {
		t.Errorf("second search read %d entries over pages of 4, want 10: %v", len(cns), cns)
	}
}
