package ldapsource

import (
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
)

const (
	guidA = "00000000-0000-0000-0000-00000000000a"
	guidB = "00000000-0000-0000-0000-00000000000b"
	guidC = "00000000-0000-0000-0000-00000000000c"
	guidM = "00000000-0000-0000-0000-0000000000ff"
)

// dirSyncEntry is a DirSync entry of the object id with attrs (name,
// values...) besides objectGUID and instanceType.
func dirSyncEntry(t *testing.T, id string, attrs ...[]string) *ldap.Entry {
	t.Helper()
	raw, err := EncodeGUID(id)
	if err != nil {
		t.Fatal(err)
	}
	e := &ldap.Entry{DN: "CN=x,DC=test", Attributes: []*ldap.EntryAttribute{
		{Name: "objectGUID", Values: []string{string(raw)}, ByteValues: [][]byte{raw}},
		{Name: "instanceType", Values: []string{"4"}, ByteValues: [][]byte{[]byte("4")}}}}
	for _, a := range attrs {
		ea := &ldap.EntryAttribute{Name: a[0], Values: a[1:]}
		for _, v := range a[1:] {
			ea.ByteValues = append(ea.ByteValues, []byte(v))
		}
		e.Attributes = append(e.Attributes, ea)
	}
	return e
}

// TestDirSyncRoundRepeatedObject: an object DirSync returns more than once
// in a pass is taken from its values only when every entry is a member-only
// edit (which add up); with another change among them it is read again,
// whichever entry came first.
func TestDirSyncRoundRepeatedObject(t *testing.T) {
	member := []string{"member;range=1-1", "<GUID=" + guidM + ">;CN=m,DC=test"}
	description := []string{"description", "new"}
	tests := []struct {
		name    string
		entries [][][]string
		edit    bool // a member edit remains
		values  bool // values remain to apply
	}{
		{"member values twice", [][][]string{{member}, {member}}, true, false},
		{"member values, then another change", [][][]string{{member}, {description}}, false, false},
		{"another change, then member values", [][][]string{{description}, {member}}, false, false},
		{"another change once", [][][]string{{description}}, false, true},
		{"a change beyond the value-only attributes", [][][]string{{description, {"cn", "x"}}}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &dirSyncRound{only: map[string]bool{"description": true}}
			for _, attrs := range tt.entries {
				if err := d.add(dirSyncEntry(t, guidA, attrs...)); err != nil {
					t.Fatal(err)
				}
			}
			ed, edit := d.edits[guidA]
			if edit != tt.edit || (edit && len(ed.added) != len(tt.entries)) {
				t.Errorf("member edit %+v (present %v); want present %v with every entry's value", ed, edit, tt.edit)
			}
			if got := d.values[guidA] != nil; got != tt.values {
				t.Errorf("values to apply %v; want %v", got, tt.values)
			}
		})
	}
}

// TestApplyValueEdits: a user of the previous state whose only changes are
// to Direct-mapped attributes gets the values DirSync returned (a cleared
// attribute comes without values); a change of an attribute decodeUser
// reads itself, a rename, or a user the previous state lacks is read again.
func TestApplyValueEdits(t *testing.T) {
	s := &Source{opts: Options{Mapping: directory.DefaultMapping()}}
	prev := &directory.Snapshot{Users: []directory.User{
		{ExternalID: guidA, DN: "CN=a,DC=test", JobTitle: "old", Email: "a@example.com", Enabled: true},
		{ExternalID: guidB, DN: "CN=b,DC=test", JobTitle: "old", Enabled: true},
	}}
	values := map[string][]*ldap.EntryAttribute{}
	for _, e := range []*ldap.Entry{
		dirSyncEntry(t, guidA, []string{"title", "new"}, []string{"mail"}),
		dirSyncEntry(t, guidB, []string{"title", "new"}, []string{"userAccountControl", "514"}),
		dirSyncEntry(t, guidC, []string{"title", "new"}),
	} {
		id, _ := DecodeGUID(e.GetRawAttributeValue("objectGUID"))
		values[id] = e.Attributes
	}
	rd := newReader(s, nil, nil)
	rest := s.applyValueEdits(prev, rd, values, s.valueOnlyAttrs(), []string{guidA, guidB, guidC})
	if want := []string{guidB, guidC}; !slices.Equal(rest, want) {
		t.Errorf("still to read %v; want %v", rest, want)
	}
	want := []directory.User{{ExternalID: guidA, DN: "CN=a,DC=test", JobTitle: "new", Enabled: true}}
	if diff := cmp.Diff(want, rd.users); diff != "" {
		t.Errorf("users from values (-want +got):\n%s", diff)
	}
	if !rd.seen[guidA] || s.valueEdits != 1 {
		t.Errorf("seen %v, valueEdits %d; want a seen, 1", rd.seen, s.valueEdits)
	}
	if prev.Users[0].JobTitle != "old" {
		t.Errorf("the previous state changed: %+v", prev.Users[0])
	}

	rename := map[string][]*ldap.EntryAttribute{guidA: dirSyncEntry(t, guidA, []string{"title", "x"}, []string{"name", "a2"}).Attributes}
	if rest := s.applyValueEdits(prev, newReader(s, nil, nil), rename, s.valueOnlyAttrs(), []string{guidA}); len(rest) != 1 {
		t.Errorf("a renamed user is not read again: still to read %v", rest)
	}
}
