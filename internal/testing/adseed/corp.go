package adseed

import "time"

// Fixed expiry dates keep datasets deterministic: one in the past (the
// account has expired) and one in the future.
var (
	expiredAt = time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	expiresAt = time.Date(2031, 12, 31, 12, 0, 0, 0, time.UTC)
)

// corpSpec sizes the corporate-shaped profiles (test and demo).
type corpSpec struct {
	name, root, prefix string
	staff              int // users spread over the department OUs
	bulk               int // users of the single big group (0: none)
	contractors        int // users in the out-of-scope OU
}

// department is a leaf OU with its users and the group that holds them.
type department struct {
	dn, name, group string
	weight          int
	users           []User
}

// corporate builds a directory shaped like a small company:
//
//	OU=<root>                          scope
//	  OU=Staff
//	    OU=Engineering                 users, computer
//	      OU=Backend, OU=Frontend      users
//	    OU=Sales, OU=Finance           users
//	    OU=Отдел кадров                users (HR, Cyrillic OU name)
//	    OU=Bulk                        the big group's users (when bulk > 0)
//	  OU=Groups                        all in-scope groups
//	OU=<root> Contractors              out of scope: users and a group
//	CN=Computers                       out of scope: a computer
func corporate(s corpSpec, baseDN string) *Dataset {
	b := newBuilder(s.name, s.root, s.prefix, baseDN)
	root := b.ou(baseDN, s.root, "idsync "+s.name+" dataset: sync scope")
	staff := b.ou(root, "Staff", "People")
	eng := b.ou(staff, "Engineering", "")
	depts := []*department{
		{dn: eng, name: "Engineering", group: "Engineering", weight: 2},
		{dn: b.ou(eng, "Backend", "Server side"), name: "Backend", group: "Backend", weight: 4},
		{dn: b.ou(eng, "Frontend", ""), name: "Frontend", group: "Frontend", weight: 3},
		{dn: b.ou(staff, "Sales", "Sales, EMEA"), name: "Sales", group: "Sales Team (EU)", weight: 3},
		{dn: b.ou(staff, "Finance", ""), name: "Finance", group: "Finance", weight: 2},
		{dn: b.ou(staff, "Отдел кадров", "Human resources"), name: "Отдел кадров", group: "Отдел кадров", weight: 1},
	}
	var bulkOU string
	if s.bulk > 0 {
		bulkOU = b.ou(staff, "Bulk", "Members of the big group")
	}
	groupsOU := b.ou(root, "Groups", "")
	outside := b.ou(baseDN, s.root+" Contractors", "Outside the sync scope")

	// Staff users, round-robin by weight so every department is populated.
	var wheel []*department
	for _, d := range depts {
		for range d.weight {
			wheel = append(wheel, d)
		}
	}
	for i := range s.staff {
		d := wheel[i%len(wheel)]
		o := userOpts{department: d.name, sparse: true, disabled: i%13 == 5}
		switch i % 29 {
		case 7:
			o.expires = expiredAt
		case 19:
			o.expires = expiresAt
		}
		d.users = append(d.users, b.user(d.dn, o))
	}

	// Edge cases: a comma in the CN and a user with only required attributes.
	sales := depts[3]
	comma := b.user(sales.dn, userOpts{department: sales.name, given: "John", surname: "Smith", display: "Smith, John"})
	sales.users = append(sales.users, comma)
	minimal := b.bareUser(depts[0].dn, "svc-minimal")

	// A few enabled users with a known password, for password-hash sync and
	// bind tests.
	withPassword := 0
	for _, u := range depts[1].users[5:] {
		if u.Enabled && withPassword < 3 {
			b.setPassword(u.DN)
			withPassword++
		}
	}

	var bulk []User
	for i := range s.bulk {
		bulk = append(bulk, b.user(bulkOU, userOpts{department: "Bulk", disabled: i%97 == 3}))
	}
	var contractors []User
	for i := range s.contractors {
		contractors = append(contractors, b.user(outside, userOpts{department: "Contractors", sparse: true, disabled: i == 0}))
	}

	// Department groups; Engineering nests Backend and Frontend, All Staff
	// nests the department groups (three levels).
	deptGroup := map[string]int{}
	for _, d := range depts {
		deptGroup[d.name] = b.group(groupsOU, d.group, "Members of "+d.name, userDNs(d.users)...)
	}
	b.addMembers(deptGroup["Engineering"], b.ds.Groups[deptGroup["Backend"]].DN, b.ds.Groups[deptGroup["Frontend"]].DN)
	b.group(groupsOU, "All Staff", "Everyone on staff (nested)",
		b.ds.Groups[deptGroup["Engineering"]].DN, b.ds.Groups[deptGroup["Sales"]].DN,
		b.ds.Groups[deptGroup["Finance"]].DN, b.ds.Groups[deptGroup["Отдел кадров"]].DN)

	// A cycle: A is a member of B and B of A, each with its own users.
	backend := depts[1].users
	a := b.group(groupsOU, "Cycle A", "Cycle with B", backend[0].DN, backend[1].DN, backend[2].DN)
	bb := b.group(groupsOU, "Cycle B", "Cycle with A", backend[3].DN, backend[4].DN, b.ds.Groups[a].DN)
	b.addMembers(a, b.ds.Groups[bb].DN)

	if s.bulk > 0 {
		b.group(groupsOU, "Bulk Members", "More than 1,500 members (ranged retrieval)", userDNs(bulk)...)
	}

	// Custom primary group: three users get it as primary group (AD drops
	// them from its member list and lists them in Domain Users instead), two
	// stay plain members.
	fin := depts[4].users
	pg := b.group(groupsOU, "Primary Staff", "Primary group of some users", fin[3].DN, fin[4].DN)
	for _, u := range fin[:3] {
		b.setPrimary(u.DN, b.ds.Groups[pg].DN)
	}

	b.group(groupsOU, "Empty Group", "")
	var disabled []string
	for _, u := range b.ds.Users {
		if !u.Enabled && b.ds.InScope(u.DN) && len(disabled) < 5 {
			disabled = append(disabled, u.DN)
		}
	}
	b.group(groupsOU, "Disabled Members", "Only disabled users", disabled...)
	b.group(groupsOU, "Mixed Scope", "In- and out-of-scope members",
		contractors[1].DN, contractors[2].DN, depts[5].users[0].DN, minimal.DN)
	b.group(outside, "Contractors Team", "Out-of-scope group", contractors[3].DN, contractors[4].DN, depts[2].users[0].DN)

	b.computer(eng)
	b.computer("CN=Computers," + baseDN)
	return b.ds
}

// bareUser adds a user with only the required attributes.
func (b *builder) bareUser(parent, cn string) User {
	b.nUser++
	cn, dn := b.uniqueCN(parent, cn)
	sam := b.prefix + "-" + cn
	u := User{DN: dn, CN: cn, SAMAccountName: sam, UPN: sam + "@" + b.ds.Domain, Enabled: true}
	b.ds.Users = append(b.ds.Users, u)
	return u
}

func (b *builder) setPassword(userDN string) {
	for i := range b.ds.Users {
		if b.ds.Users[i].DN == userDN {
			b.ds.Users[i].Password = KnownPassword
		}
	}
}

func (b *builder) setPrimary(userDN, groupDN string) {
	for i := range b.ds.Users {
		if b.ds.Users[i].DN == userDN {
			b.ds.Users[i].PrimaryGroup = groupDN
		}
	}
}
