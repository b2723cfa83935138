package poolcheck

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/emulator"
)

func TestOf(t *testing.T) {
	d := emulator.Dump{
		Users: []emulator.DumpUser{
			{ID: "u1", Username: "alice@pool.test", ExternalID: "e1", FullName: "Alice", Status: "ACTIVE"},
			{ID: "u2", Username: "bob@pool.test", ExternalID: "e2", FullName: "Bob", Status: "SUSPENDED"},
			{ID: "u3", Username: "bob2@pool.test", ExternalID: "e2", FullName: "Bob again", Status: "ACTIVE"},
		},
		Groups: []emulator.DumpGroup{
			{ID: "g1", Name: "team", ExternalID: "e3", Members: []string{"u2", "u1"}},
			{ID: "g2", Name: "team", ExternalID: "e1"},
		},
	}
	v, dups := Of(d)
	want := View{
		Users: map[string]string{
			"alice@pool.test": "Alice|ACTIVE", "bob@pool.test": "Bob|SUSPENDED", "bob2@pool.test": "Bob again|ACTIVE",
		},
		Groups: map[string][]string{"team": {}},
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("view (-want +got):\n%s", diff)
	}
	wantDups := []string{"user external id e2", "group external id e1", "group name team"}
	if diff := cmp.Diff(wantDups, dups); diff != "" {
		t.Errorf("duplicates (-want +got):\n%s", diff)
	}
}

func TestUsernameAndMembers(t *testing.T) {
	if got := Username("alice@corp.example", "pool.test"); got != "alice@pool.test" {
		t.Errorf("Username = %q", got)
	}
	v, _ := Of(emulator.Dump{
		Users:  []emulator.DumpUser{{ID: "u1", Username: "b@p"}, {ID: "u2", Username: "a@p"}},
		Groups: []emulator.DumpGroup{{ID: "g", Name: "g", Members: []string{"u1", "u2"}}},
	})
	if diff := cmp.Diff([]string{"a@p", "b@p"}, v.Groups["g"]); diff != "" {
		t.Errorf("members are sorted usernames (-want +got):\n%s", diff)
	}
}
