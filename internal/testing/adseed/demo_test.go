package adseed

import (
	"slices"
	"testing"
)

func TestDemoChanges(t *testing.T) {
	ds, err := Profile("demo", "DC=idsync,DC=test")
	if err != nil {
		t.Fatal(err)
	}
	ms, desc, err := DemoChanges(ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(desc) || len(ms) < 5 {
		t.Fatalf("%d mutations with %d descriptions, want at least 5 each", len(ms), len(desc))
	}
	var ops []Op
	for _, m := range ms {
		ops = append(ops, m.Op)
		if m.Op != OpCreateUser {
			if _, ok := ds.User(m.DN); !ok {
				if _, ok := ds.Group(m.DN); !ok {
					t.Errorf("mutation %s names %s, which the dataset does not have", m.Op, m.DN)
				}
			}
		}
	}
	for _, want := range []Op{OpCreateUser, OpModifyUser, OpDisableUser, OpRenameUser, OpAddMembers} {
		if !slices.Contains(ops, want) {
			t.Errorf("demo changes lack %s", want)
		}
	}
	again, _, _ := DemoChanges(ds)
	if len(again) != len(ms) || again[1].DN != ms[1].DN {
		t.Error("demo changes are not deterministic")
	}
}
