package adseed

import (
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Op is the kind of one scripted directory change.
type Op string

// Mutation operations.
const (
	OpCreateUser    Op = "create-user"
	OpModifyUser    Op = "modify-user"    // replace/delete attributes
	OpRenameUser    Op = "rename-user"    // new CN (RDN), UPN and displayName
	OpMoveUser      Op = "move-user"      // new parent OU
	OpDisableUser   Op = "disable-user"   // userAccountControl 514
	OpEnableUser    Op = "enable-user"    // userAccountControl 512
	OpDeleteUser    Op = "delete-user"    // tombstoned
	OpDeleteGroup   Op = "delete-group"   // tombstoned
	OpAddMembers    Op = "add-members"    // member values added
	OpRemoveMembers Op = "remove-members" // member values removed
)

// Mutation is one scripted directory change.
type Mutation struct {
	Op Op
	// DN is the object changed, as it is before the change.
	DN string
	// NewDN is the DN after a rename or move.
	NewDN string
	// User is the user created by OpCreateUser.
	User User
	// Set replaces attributes (OpModifyUser, OpRenameUser); an empty value
	// deletes the attribute.
	Set map[string]string
	// Members are the member DNs added or removed.
	Members []string
}

// Change is the expected effect of one mutation seen through the sync scope:
// moving a user out of scope reads as a delete, moving one in as a create.
type Change struct {
	Op     string // "create", "update" or "delete"
	Object string // "user" or "group"
	// SAMAccountName identifies the object across renames and moves.
	SAMAccountName string
	// DN is the DN after the change (before it, for deletes).
	DN string
}

// MutationSet is a scripted set of changes for delta-read tests. It lives in
// its own top-level OU (OU=Delta-<name>) so it never disturbs the shared
// seeded profiles: seed Before with Seed, take a watermark, Apply the
// mutations, read the delta, and compare against Changes and After.
type MutationSet struct {
	// Before is the content to seed first; its Scope is OU=Scope under the
	// set's OU, and OU=Outside is its out-of-scope sibling.
	Before *Dataset
	// Mutations are applied in order by Apply.
	Mutations []Mutation
	// After is the expected content once every mutation is applied.
	After *Dataset
	// Changes are the expected in-scope effects, one per mutation, in order.
	Changes []Change
}

// Mutations returns the scripted change set for the domain baseDN. name
// (letters, digits and dashes) keeps concurrent sets apart; the same name
// always gives the same set.
func Mutations(baseDN, name string) *MutationSet {
	b := newBuilder("delta-"+name, "Delta-"+name, "d"+shortHash(name), baseDN)
	root := b.ou(baseDN, "Delta-"+name, "idsync delta test set")
	scope := b.ou(root, "Scope", "")
	sub := b.ou(scope, "Sub", "")
	outside := b.ou(root, "Outside", "")
	b.ds.Scope = scope
	var u []User
	for i := range 8 {
		u = append(u, b.user(scope, userOpts{department: "Delta", disabled: i == 5}))
	}
	s1 := b.user(sub, userOpts{department: "Delta"})
	o1 := b.user(outside, userOpts{department: "Outside"})
	b.user(outside, userOpts{department: "Outside"})
	g1 := b.group(scope, "Delta G1", "", u[0].DN, u[1].DN, u[2].DN)
	g2 := b.group(scope, "Delta G2", "", u[3].DN, u[6].DN, b.ds.Groups[g1].DN, s1.DN)
	g3 := b.group(scope, "Delta G3", "to be deleted", u[4].DN)
	before := b.ds.Clone()

	newUser := b.user(scope, userOpts{department: "Delta"})
	b.ds.Users = b.ds.Users[:len(b.ds.Users)-1] // created by the mutation, not seeded
	gDN := func(i int) string { return before.Groups[i].DN }
	renamedCN := "Renamed " + u[1].SAMAccountName
	m := []Mutation{
		{Op: OpCreateUser, DN: newUser.DN, User: newUser},
		{Op: OpModifyUser, DN: u[0].DN, Set: map[string]string{"title": "Chief Tester", "telephoneNumber": "+7 495 000-0000", "mail": ""}},
		{Op: OpRenameUser, DN: u[1].DN, NewDN: "CN=" + ldap.EscapeDN(renamedCN) + "," + scope,
			Set: map[string]string{"userPrincipalName": "renamed." + u[1].UPN, "displayName": renamedCN}},
		{Op: OpMoveUser, DN: u[2].DN, NewDN: "CN=" + ldap.EscapeDN(u[2].CN) + "," + outside},
		{Op: OpMoveUser, DN: o1.DN, NewDN: "CN=" + ldap.EscapeDN(o1.CN) + "," + sub},
		{Op: OpDisableUser, DN: u[3].DN},
		{Op: OpEnableUser, DN: u[5].DN},
		{Op: OpDeleteUser, DN: u[6].DN},
		{Op: OpDeleteGroup, DN: gDN(g3)},
		{Op: OpAddMembers, DN: gDN(g1), Members: []string{u[7].DN, newUser.DN}},
		{Op: OpRemoveMembers, DN: gDN(g2), Members: []string{u[3].DN}},
	}
	after := before.Clone()
	var changes []Change
	for _, mu := range m {
		changes = append(changes, applyToDataset(after, mu))
	}
	return &MutationSet{Before: before, Mutations: m, After: after, Changes: changes}
}

// applyToDataset applies mu to ds the way AD does (renames and moves update
// member values; deletes remove them) and returns the in-scope effect.
func applyToDataset(ds *Dataset, mu Mutation) Change {
	userIdx := func(dn string) int {
		for i, u := range ds.Users {
			if strings.EqualFold(u.DN, dn) {
				return i
			}
		}
		panic("adseed: mutation of unknown user " + dn)
	}
	groupIdx := func(dn string) int {
		for i, g := range ds.Groups {
			if strings.EqualFold(g.DN, dn) {
				return i
			}
		}
		panic("adseed: mutation of unknown group " + dn)
	}
	userChange := func(op string, u User) Change {
		return Change{Op: op, Object: "user", SAMAccountName: u.SAMAccountName, DN: u.DN}
	}
	switch mu.Op {
	case OpCreateUser:
		ds.Users = append(ds.Users, mu.User)
		return userChange("create", mu.User)
	case OpModifyUser, OpRenameUser, OpMoveUser:
		i := userIdx(mu.DN)
		u := &ds.Users[i]
		wasIn := ds.InScope(u.DN)
		if mu.NewDN != "" {
			u.DN = mu.NewDN
			u.CN = rdnValue(mu.NewDN)
			replaceMemberDN(ds, mu.DN, mu.NewDN)
		}
		for attr, v := range mu.Set {
			setUserAttr(u, attr, v)
		}
		switch isIn := ds.InScope(u.DN); {
		case wasIn && !isIn:
			c := userChange("delete", *u)
			c.DN = mu.DN
			return c
		case !wasIn && isIn:
			return userChange("create", *u)
		}
		return userChange("update", *u)
	case OpDisableUser, OpEnableUser:
		i := userIdx(mu.DN)
		ds.Users[i].Enabled = mu.Op == OpEnableUser
		return userChange("update", ds.Users[i])
	case OpDeleteUser:
		i := userIdx(mu.DN)
		u := ds.Users[i]
		ds.Users = append(ds.Users[:i], ds.Users[i+1:]...)
		replaceMemberDN(ds, mu.DN, "")
		return userChange("delete", u)
	case OpDeleteGroup:
		i := groupIdx(mu.DN)
		g := ds.Groups[i]
		ds.Groups = append(ds.Groups[:i], ds.Groups[i+1:]...)
		replaceMemberDN(ds, mu.DN, "")
		return Change{Op: "delete", Object: "group", SAMAccountName: g.SAMAccountName, DN: g.DN}
	case OpAddMembers, OpRemoveMembers:
		i := groupIdx(mu.DN)
		g := &ds.Groups[i]
		if mu.Op == OpAddMembers {
			g.Members = append(g.Members, mu.Members...)
		} else {
			for _, m := range mu.Members {
				g.Members = removeFold(g.Members, m)
			}
		}
		return Change{Op: "update", Object: "group", SAMAccountName: g.SAMAccountName, DN: g.DN}
	}
	panic("adseed: unknown mutation " + string(mu.Op))
}

// replaceMemberDN rewrites (or, with newDN empty, removes) member values.
func replaceMemberDN(ds *Dataset, oldDN, newDN string) {
	for gi := range ds.Groups {
		g := &ds.Groups[gi]
		for mi, m := range g.Members {
			if strings.EqualFold(m, oldDN) {
				if newDN == "" {
					g.Members = append(g.Members[:mi:mi], g.Members[mi+1:]...)
				} else {
					g.Members[mi] = newDN
				}
				break
			}
		}
	}
}

func removeFold(list []string, s string) []string {
	out := list[:0:0]
	for _, v := range list {
		if !strings.EqualFold(v, s) {
			out = append(out, v)
		}
	}
	return out
}

func setUserAttr(u *User, attr, v string) {
	switch attr {
	case "title":
		u.Title = v
	case "telephoneNumber":
		u.Telephone = v
	case "mail":
		u.Mail = v
	case "userPrincipalName":
		u.UPN = v
	case "displayName":
		u.DisplayName = v
	case "department":
		u.Department = v
	default:
		panic(fmt.Sprintf("adseed: mutation sets unsupported attribute %q", attr))
	}
}

// rdnValue returns the unescaped value of the first RDN of dn.
func rdnValue(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) == 0 {
		return ""
	}
	return parsed.RDNs[0].Attributes[0].Value
}

func shortHash(s string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return fmt.Sprintf("%06x", h&0xffffff)
}
