// Package adseed describes deterministic Active Directory datasets, seeds
// them into a domain controller over LDAP, and exposes the expected directory
// content so integration tests can compare what a reader returns against it.
//
// A dataset is produced by [Profile] from a profile name and the domain's base
// DN. Each profile lives under its own top-level OU (see [Dataset.Scope]) and
// uses its own sAMAccountName prefix, so several profiles can be seeded into
// the same domain without clashing.
package adseed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// UserAccountControl values used by the datasets.
const (
	UACNormal   = 0x200  // 512: enabled normal account
	UACDisabled = 0x202  // 514: disabled normal account
	UACComputer = 0x1000 // 4096: workstation trust account
)

// KnownPassword is the password of the users that have one.
const KnownPassword = "Idsync-Passw0rd!"

// Dataset is the expected content of a seeded profile.
type Dataset struct {
	// Profile is the profile name the dataset was generated from.
	Profile string
	// BaseDN is the domain naming context, e.g. DC=idsync,DC=test.
	BaseDN string
	// Domain is the DNS domain (the UPN suffix), e.g. idsync.test.
	Domain string
	// Scope is the DN of the OU a sync of this dataset is scoped to. Objects
	// outside it (see OutOfScope) exist to check scope filtering.
	Scope string
	// OUs are created parent first; the scope OU comes first.
	OUs []OU
	// Users are all seeded users, in and out of scope, in creation order.
	Users []User
	// Groups are all seeded groups in creation order.
	Groups []Group
	// Computers are computer accounts (never synchronized).
	Computers []Computer
}

// OU is an organizational unit.
type OU struct {
	DN          string
	Name        string
	Description string
}

// User is a user object. Empty optional strings mean the attribute is absent.
type User struct {
	DN             string
	CN             string
	SAMAccountName string
	UPN            string
	GivenName      string
	Surname        string
	DisplayName    string
	Mail           string
	Telephone      string
	EmployeeID     string
	Department     string
	Title          string
	Company        string
	// Enabled is false for disabled accounts (userAccountControl 514).
	Enabled bool
	// AccountExpires is the expiry time; the zero time means "never".
	AccountExpires time.Time
	// PrimaryGroup is the DN of the user's primary group; empty means
	// Domain Users (primaryGroupID 513). A user whose primary group is
	// changed stays a member of Domain Users: AD then lists the user in
	// Domain Users' member attribute.
	PrimaryGroup string
	// Password is the user's password (KnownPassword for a few users of the
	// test and demo profiles, for password-hash sync tests); empty means
	// the account has no password.
	Password string
}

// UserAccountControl returns the userAccountControl value the user is seeded with.
func (u User) UserAccountControl() int {
	if u.Enabled {
		return UACNormal
	}
	return UACDisabled
}

// Group is a global security group.
type Group struct {
	DN             string
	CN             string
	SAMAccountName string
	Description    string
	// Members are the DNs of direct members (users and groups), as they
	// appear in the group's member attribute. Primary-group members are not
	// listed here (AD does not list them either).
	Members []string
}

// Computer is a computer account.
type Computer struct {
	DN             string
	CN             string
	SAMAccountName string
}

// DomainUsersDN returns the DN of the built-in Domain Users group.
func (d *Dataset) DomainUsersDN() string {
	return "CN=Domain Users,CN=Users," + d.BaseDN
}

// User returns the user with the given DN (case-insensitive).
func (d *Dataset) User(dn string) (User, bool) {
	for _, u := range d.Users {
		if strings.EqualFold(u.DN, dn) {
			return u, true
		}
	}
	return User{}, false
}

// Group returns the group with the given DN (case-insensitive).
func (d *Dataset) Group(dn string) (Group, bool) {
	for _, g := range d.Groups {
		if strings.EqualFold(g.DN, dn) {
			return g, true
		}
	}
	return Group{}, false
}

// InScope reports whether dn is the scope OU or below it.
func (d *Dataset) InScope(dn string) bool {
	return IsUnder(dn, d.Scope)
}

// ScopedUsers returns the users under the scope OU, in dataset order.
func (d *Dataset) ScopedUsers() []User {
	var out []User
	for _, u := range d.Users {
		if d.InScope(u.DN) {
			out = append(out, u)
		}
	}
	return out
}

// ScopedGroups returns the groups under the scope OU, in dataset order.
func (d *Dataset) ScopedGroups() []Group {
	var out []Group
	for _, g := range d.Groups {
		if d.InScope(g.DN) {
			out = append(out, g)
		}
	}
	return out
}

// EffectiveMembers returns the DNs of all users that are members of the group
// groupDN directly, through nested groups (cycles are safe) or through their
// primary group, sorted case-insensitively and without duplicates. For the
// built-in Domain Users group it returns every user of the dataset (each is a
// member either by primary group or explicitly).
func (d *Dataset) EffectiveMembers(groupDN string) []string {
	if strings.EqualFold(groupDN, d.DomainUsersDN()) {
		out := make([]string, 0, len(d.Users))
		for _, u := range d.Users {
			out = append(out, u.DN)
		}
		return sortDNs(out)
	}
	groups := make(map[string]Group, len(d.Groups))
	for _, g := range d.Groups {
		groups[strings.ToLower(g.DN)] = g
	}
	users := make(map[string]User, len(d.Users))
	primaries := make(map[string][]string) // group DN (lower) -> user DNs
	for _, u := range d.Users {
		users[strings.ToLower(u.DN)] = u
		if u.PrimaryGroup != "" {
			k := strings.ToLower(u.PrimaryGroup)
			primaries[k] = append(primaries[k], u.DN)
		}
	}
	seenGroups := map[string]bool{}
	seenUsers := map[string]string{}
	stack := []string{strings.ToLower(groupDN)}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seenGroups[k] {
			continue
		}
		seenGroups[k] = true
		for _, dn := range primaries[k] {
			seenUsers[strings.ToLower(dn)] = dn
		}
		g, ok := groups[k]
		if !ok {
			continue
		}
		for _, m := range g.Members {
			mk := strings.ToLower(m)
			if _, isUser := users[mk]; isUser {
				seenUsers[mk] = users[mk].DN
				continue
			}
			if _, isGroup := groups[mk]; isGroup && !seenGroups[mk] {
				stack = append(stack, mk)
			}
		}
	}
	out := make([]string, 0, len(seenUsers))
	for _, dn := range seenUsers {
		out = append(out, dn)
	}
	return sortDNs(out)
}

// MembershipCount returns the number of direct member values over all groups.
func (d *Dataset) MembershipCount() int {
	n := 0
	for _, g := range d.Groups {
		n += len(g.Members)
	}
	return n
}

// Clone returns a deep copy of the dataset.
func (d *Dataset) Clone() *Dataset {
	c := *d
	c.OUs = slices.Clone(d.OUs)
	c.Users = slices.Clone(d.Users)
	c.Computers = slices.Clone(d.Computers)
	c.Groups = make([]Group, len(d.Groups))
	for i, g := range d.Groups {
		g.Members = slices.Clone(g.Members)
		c.Groups[i] = g
	}
	return &c
}

// Fingerprint returns a short hash of the whole dataset; it changes whenever
// the generated content changes, so a recorded seeding can be checked.
func (d *Dataset) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%s\n", d.Profile, d.BaseDN, d.Domain, d.Scope)
	for _, o := range d.OUs {
		fmt.Fprintf(h, "%#v\n", o)
	}
	for _, u := range d.Users {
		fmt.Fprintf(h, "%#v|%d\n", u, u.AccountExpires.UnixNano())
	}
	for _, g := range d.Groups {
		fmt.Fprintf(h, "%#v\n", g)
	}
	for _, c := range d.Computers {
		fmt.Fprintf(h, "%#v\n", c)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// IsUnder reports whether dn equals base or is a descendant of it, comparing
// case-insensitively. Both DNs must be in the same canonical form
// (no spaces after commas), as the datasets produce them.
func IsUnder(dn, base string) bool {
	dn, base = strings.ToLower(dn), strings.ToLower(base)
	return dn == base || strings.HasSuffix(dn, ","+base)
}

func sortDNs(dns []string) []string {
	slices.SortFunc(dns, func(a, b string) int {
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	})
	return dns
}
