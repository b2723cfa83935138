package ldapsource

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/directory"
)

// TestGroupMembersDoNotPinTheirValues: a member id decoded from an
// extended DN is a copy shared between groups, not a substring that keeps
// the whole ~150-byte value alive.
func TestGroupMembersDoNotPinTheirValues(t *testing.T) {
	s := &Source{opts: Options{Mapping: directory.DefaultMapping()}}
	rd := newReader(s, nil, nil)
	guid := make([]byte, 16)
	binary.LittleEndian.PutUint32(guid, 7)
	member := "<GUID=0a5e1d6e-7f3c-4a55-9f0e-2b6f6f0f4c11>;<SID=S-1-5-21-1-2-3-1105>;CN=Ann,OU=Staff,DC=corp,DC=test"
	entry := func(dn string, members ...string) *ldap.Entry {
		e := ldap.NewEntry("<GUID=00000000-0000-0000-0000-000000000001>;"+dn, nil)
		e.Attributes = []*ldap.EntryAttribute{
			{Name: "objectGUID", ByteValues: [][]byte{guid}, Values: []string{string(guid)}},
			{Name: "cn", Values: []string{"g"}, ByteValues: [][]byte{[]byte("g")}},
			{Name: "member", Values: members},
		}
		return e
	}
	// Each value is its own string, as LDAP decoding gives.
	value := string([]byte(member))
	a, err := s.decodeGroup(entry("CN=a,DC=corp,DC=test", value), rd.intern)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.decodeGroup(entry("CN=b,DC=corp,DC=test", string([]byte(member))), rd.intern)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.members) != 1 || a.members[0] != "0a5e1d6e-7f3c-4a55-9f0e-2b6f6f0f4c11" {
		t.Fatalf("members %q", a.members)
	}
	if unsafe.StringData(a.members[0]) != unsafe.StringData(b.members[0]) {
		t.Error("the two groups hold separate copies of one member id")
	}
	start := uintptr(unsafe.Pointer(unsafe.StringData(value)))
	if p := uintptr(unsafe.Pointer(unsafe.StringData(a.members[0]))); p >= start && p < start+uintptr(len(value)) {
		t.Error("the member id is a substring of the extended DN value")
	}
	if a.group.DN != "CN=a,DC=corp,DC=test" {
		t.Errorf("group DN %q", a.group.DN)
	}
}
