package ldapsource

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/fakead"
)

func TestLookup(t *testing.T) {
	f := startFake(t, fakead.Options{})
	staff, other, users := "OU=Staff,"+testBase, "OU=Other,"+testBase, "CN=Users,"+testBase
	ann := addUser(f, fakeUser{cn: "ann", ou: staff, n: 1})
	bob := addUser(f, fakeUser{cn: "bob", ou: other, n: 2, disabled: true, expires: "133485408000000000"})
	admin := addUser(f, fakeUser{cn: "Administrator", ou: users, n: 3, critical: true})
	pc := addUser(f, fakeUser{cn: "pc1", ou: staff, n: 4, computer: true})
	eng := addGroup(f, fakeGroup{cn: "Eng", ou: staff, n: 1, members: []string{ann.DN}})
	f.Add("CN=printer,"+staff, map[string][]string{"objectClass": {"top", "printQueue"}, "cn": {"printer"},
		"objectGUID": {fakead.GUIDBytes(guidOf(3, 1))}})
	src := newTestSource(t, f, func(o *Options) {
		o.Scope.OrganizationalUnits = []string{"OU=Staff," + testBase}
		o.Scope.Groups = []string{"Eng"}
	})
	ctx := t.Context()
	scopeGroups := []directory.ScopeGroup{{Value: "Eng", ExternalIDs: []string{eng.ExternalID}}}
	userClasses := []string{"top", "person", "organizationalPerson", "user"}
	for _, tc := range []struct {
		ref  string
		want []directory.ObjectFacts
	}{
		{"ann@test.example.com", []directory.ObjectFacts{{Kind: directory.KindUser, DN: ann.DN, ExternalID: ann.ExternalID,
			SAMAccountName: "ann", Name: "ann@test.example.com", ObjectClasses: userClasses, ObjectCategory: "person",
			Selected: true, Filter: userFilter, InOUScope: true, OU: "OU=Staff," + testBase, PrimaryGroupID: 513, Enabled: true,
			ScopeGroups: scopeGroups}}},
		{bob.DN, []directory.ObjectFacts{{Kind: directory.KindUser, DN: bob.DN, ExternalID: bob.ExternalID,
			SAMAccountName: "bob", Name: "bob@test.example.com", ObjectClasses: userClasses, ObjectCategory: "person",
			Selected: true, Filter: userFilter, PrimaryGroupID: 513, ExpiresAt: bob.ExpiresAt, ScopeGroups: scopeGroups}}},
		{admin.ExternalID, []directory.ObjectFacts{{Kind: directory.KindUser, DN: admin.DN, ExternalID: admin.ExternalID,
			SAMAccountName: "Administrator", Name: "Administrator@test.example.com", ObjectClasses: userClasses, ObjectCategory: "person",
			Selected: true, Filter: userFilter, PrimaryGroupID: 513, Enabled: true, ScopeGroups: scopeGroups,
			System: criticalReason}}},
		{"pc1", []directory.ObjectFacts{{Kind: directory.KindUser, DN: pc.DN, ExternalID: pc.ExternalID,
			SAMAccountName: "pc1", Name: "pc1@test.example.com", ObjectClasses: append(userClasses, "computer"), ObjectCategory: "person",
			Selected: true, Filter: userFilter, InOUScope: true, OU: "OU=Staff," + testBase, PrimaryGroupID: 513, Enabled: true, ScopeGroups: scopeGroups,
			System: "a computer account (objectClass=computer)"}}},
		{"eng", []directory.ObjectFacts{{Kind: directory.KindGroup, DN: eng.DN, ExternalID: eng.ExternalID, SAMAccountName: "Eng",
			Name: "Eng", ObjectClasses: []string{"top", "group"}, ObjectCategory: "group", Selected: true, Filter: groupFilter,
			InOUScope: true, OU: "OU=Staff," + testBase, ScopeGroups: scopeGroups}}},
		{"printer", []directory.ObjectFacts{{DN: "CN=printer," + staff, ExternalID: guidOf(3, 1), Name: "printer",
			ObjectClasses: []string{"top", "printQueue"}, Filter: userFilter + " or " + groupFilter, ScopeGroups: scopeGroups}}},
		{"ann)(cn=*", nil},
		{"*", nil},
	} {
		got, err := src.Lookup(ctx, tc.ref)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tc.ref, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Lookup(%q) (-want +got):\n%s", tc.ref, diff)
		}
	}
}
