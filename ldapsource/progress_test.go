package ldapsource

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/testing/fakead"
)

// OnPage hears of every page with the running totals of objects and pages.
func TestOnPageCountsObjectsAndPages(t *testing.T) {
	f := fakead.Start(t, fakead.Options{BindDN: testBindDN, Password: testPass})
	f.Add(ouStaff, map[string][]string{"objectClass": {"organizationalUnit"}})
	for i := range 10 {
		addUser(f, fakeUser{cn: fmt.Sprintf("u%02d", i), ou: ouStaff, n: i})
	}
	var mu sync.Mutex
	var seen [][2]int64
	src, err := New(Options{URLs: []string{f.URL()}, Username: testBindDN, Password: testPass, AllowInsecureBind: true,
		Scope: Scope{Domain: "test.example.com"}, PageSize: 4, DeltaMode: DeltaUSN,
		OnPage: func(objects, pages int64) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, [2]int64{objects, pages})
		}})
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
	if err := src.pagedSearch(ctx, c, spec, func(*ldap.Entry) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := [][2]int64{{4, 1}, {8, 2}, {10, 3}}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("OnPage calls %v, want %v", seen, want)
	}
}
