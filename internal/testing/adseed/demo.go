package adseed

import (
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// DemoChanges returns a few everyday directory changes for a seeded
// profile, with a one-line description of each: a new hire, a promotion, a
// leaver who is disabled, a rename, and group membership changes. The
// changes depend only on the dataset, so a demo shows the same thing every
// time. Applying them twice fails (the new user already exists).
func DemoChanges(ds *Dataset) ([]Mutation, []string, error) {
	users := ds.ScopedUsers()
	var enabled []User
	for _, u := range users {
		if u.Enabled && u.UPN != "" && u.DisplayName != "" && isASCII(u.CN) && u.PrimaryGroup == "" {
			enabled = append(enabled, u)
		}
	}
	groups := ds.ScopedGroups()
	if len(enabled) < 4 || len(groups) == 0 {
		return nil, nil, fmt.Errorf("demo changes: profile %s has too few users or groups", ds.Profile)
	}
	var group Group
	for _, g := range groups {
		if len(g.Members) > len(group.Members) && isASCII(g.CN) {
			group = g
		}
	}
	parent := enabled[0].DN[strings.Index(enabled[0].DN, ",")+1:]
	hire := User{
		DN: "CN=Grace Hopper," + parent, CN: "Grace Hopper", SAMAccountName: "ghopper." + ds.Profile,
		UPN: "grace.hopper@" + ds.Domain, GivenName: "Grace", Surname: "Hopper", DisplayName: "Grace Hopper",
		Mail: "grace.hopper@" + ds.Domain, Title: "Rear Admiral", Department: enabled[0].Department, Company: enabled[0].Company,
		Enabled: true,
	}
	promoted, leaver, renamed, moved := enabled[1], enabled[2], enabled[3], enabled[1]
	newCN := renamed.GivenName + " " + renamed.Surname + "-Smith"
	ms := []Mutation{
		{Op: OpCreateUser, DN: hire.DN, User: hire},
		{Op: OpModifyUser, DN: promoted.DN, Set: map[string]string{"title": "Head of " + promoted.Department}},
		{Op: OpDisableUser, DN: leaver.DN},
		{Op: OpRenameUser, DN: renamed.DN, NewDN: "CN=" + ldap.EscapeDN(newCN) + "," + renamed.DN[strings.Index(renamed.DN, ",")+1:],
			Set: map[string]string{"displayName": newCN, "sn": renamed.Surname + "-Smith"}},
		{Op: OpAddMembers, DN: group.DN, Members: []string{hire.DN}},
	}
	desc := []string{
		fmt.Sprintf("new user %s (%s)", hire.DisplayName, hire.UPN),
		fmt.Sprintf("%s is now %q", promoted.DisplayName, "Head of "+promoted.Department),
		fmt.Sprintf("%s (%s) left: account disabled", leaver.DisplayName, leaver.UPN),
		fmt.Sprintf("%s is renamed %s", renamed.DisplayName, newCN),
		fmt.Sprintf("%s joins group %s", hire.DisplayName, group.CN),
	}
	for _, m := range group.Members {
		if strings.EqualFold(m, moved.DN) {
			ms = append(ms, Mutation{Op: OpRemoveMembers, DN: group.DN, Members: []string{moved.DN}})
			desc = append(desc, fmt.Sprintf("%s leaves group %s", moved.DisplayName, group.CN))
			break
		}
	}
	return ms, desc, nil
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
