package adseed

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// ErrUnknownProfile is returned by Profile for a name not in Profiles.
var ErrUnknownProfile = errors.New("unknown profile")

// Profiles lists the profile names Profile accepts.
var Profiles = []string{"test", "demo", "w1k", "w10k", "w100k"}

// Profile generates the dataset of the named profile for the domain whose
// naming context is baseDN (e.g. "DC=idsync,DC=test"). Generation is
// deterministic: the same name and baseDN always give the same dataset.
//
//   - test: ~2,000 users under OU=Corp with every edge case integration tests
//     need (nested OUs and groups, a group cycle, a 1,600-member group,
//     disabled and expiring users, non-ASCII names, missing attributes, a
//     custom primary group, a comma in a CN, out-of-scope users, groups and
//     computers).
//   - demo: the same shape with a few hundred users under OU=Demo and no
//     1,600-member group.
//   - w1k, w10k, w100k: benchmark datasets (1,000/10,000/100,000 users,
//     100/1,000/5,000 groups, about 5/5/10 memberships per user; w10k and
//     w100k have a 5,000-member group) under OU=Bench1k/Bench10k/Bench100k.
func Profile(name, baseDN string) (*Dataset, error) {
	if baseDN == "" {
		return nil, fmt.Errorf("adseed profile %q: empty base DN", name)
	}
	switch name {
	case "test":
		return corporate(corpSpec{name: name, root: "Corp", prefix: "tst", staff: 400, bulk: 1600, contractors: 20}, baseDN), nil
	case "demo":
		return corporate(corpSpec{name: name, root: "Demo", prefix: "dmo", staff: 300, contractors: 10}, baseDN), nil
	case "w1k":
		return bench(benchSpec{name: name, root: "Bench1k", prefix: "b1k", users: 1000, groups: 100, memberships: 5000, depts: 5}, baseDN), nil
	case "w10k":
		return bench(benchSpec{name: name, root: "Bench10k", prefix: "b10k", users: 10000, groups: 1000, memberships: 50000, bigGroup: 5000, depts: 20}, baseDN), nil
	case "w100k":
		return bench(benchSpec{name: name, root: "Bench100k", prefix: "b100k", users: 100000, groups: 5000, memberships: 1000000, bigGroup: 5000, depts: 50}, baseDN), nil
	}
	return nil, fmt.Errorf("adseed profile %q: %w (known: %s)", name, ErrUnknownProfile, strings.Join(Profiles, ", "))
}

// DomainFromBaseDN turns "DC=idsync,DC=test" into "idsync.test".
func DomainFromBaseDN(baseDN string) string {
	var parts []string
	for _, rdn := range strings.Split(baseDN, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(rdn), "=")
		if ok && strings.EqualFold(k, "DC") {
			parts = append(parts, strings.ToLower(v))
		}
	}
	return strings.Join(parts, ".")
}

// FileTime converts t to a Windows FILETIME (100 ns intervals since 1601).
func FileTime(t time.Time) int64 {
	const epochDelta = 11644473600 // seconds from 1601-01-01 to 1970-01-01
	return (t.Unix()+epochDelta)*1e7 + int64(t.Nanosecond()/100)
}

// builder accumulates a dataset and keeps CNs unique per container.
type builder struct {
	ds     *Dataset
	r      *rand.Rand
	prefix string
	cns    map[string]bool // lower(DN) of every created object
	nUser  int
	nComp  int
}

func newBuilder(name, root, prefix, baseDN string) *builder {
	h := fnv.New64a()
	h.Write([]byte(name))
	ds := &Dataset{Profile: name, BaseDN: baseDN, Domain: DomainFromBaseDN(baseDN)}
	ds.Scope = "OU=" + ldap.EscapeDN(root) + "," + baseDN
	return &builder{
		ds:     ds,
		r:      rand.New(rand.NewPCG(h.Sum64(), 0x1d5c_5eed)),
		prefix: prefix,
		cns:    map[string]bool{},
	}
}

// ou adds an OU named name under parent and returns its DN.
func (b *builder) ou(parent, name, description string) string {
	dn := "OU=" + ldap.EscapeDN(name) + "," + parent
	b.ds.OUs = append(b.ds.OUs, OU{DN: dn, Name: name, Description: description})
	b.cns[strings.ToLower(dn)] = true
	return dn
}

// uniqueCN returns a DN for cn in parent, appending " 2", " 3"... on clashes.
func (b *builder) uniqueCN(parent, cn string) (string, string) {
	base := cn
	for i := 2; ; i++ {
		dn := "CN=" + ldap.EscapeDN(cn) + "," + parent
		if !b.cns[strings.ToLower(dn)] {
			b.cns[strings.ToLower(dn)] = true
			return cn, dn
		}
		cn = fmt.Sprintf("%s %d", base, i)
	}
}

// userOpts shapes one generated user.
type userOpts struct {
	department string
	sparse     bool // drop optional attributes by position, as real directories do
	disabled   bool
	expires    time.Time
	// given, surname and display override the generated name when display is set.
	given, surname, display string
}

// user generates a person in parent and returns it (already appended).
func (b *builder) user(parent string, o userOpts) User {
	b.nUser++
	i := b.nUser
	given, surname, display := personName(b.r)
	if o.display != "" {
		given, surname, display = o.given, o.surname, o.display
	}
	cn, dn := b.uniqueCN(parent, display)
	sam := fmt.Sprintf("%s%06d", b.prefix, i)
	u := User{
		DN:             dn,
		CN:             cn,
		SAMAccountName: sam,
		UPN:            sam + "@" + b.ds.Domain,
		GivenName:      given,
		Surname:        surname,
		DisplayName:    display,
		Mail:           sam + "@" + b.ds.Domain,
		Telephone:      fmt.Sprintf("+7 495 555-%04d", i%10000),
		EmployeeID:     fmt.Sprintf("E%07d", i),
		Department:     o.department,
		Title:          titles[b.r.IntN(len(titles))],
		Company:        companies[b.r.IntN(len(companies))],
		Enabled:        !o.disabled,
		AccountExpires: o.expires,
	}
	if o.sparse {
		if i%5 == 4 {
			u.Mail = ""
		}
		if i%3 == 2 {
			u.Telephone = ""
		}
		if i%7 == 6 {
			u.Title = ""
		}
		if i%11 == 10 {
			u.EmployeeID = ""
		}
		if i%13 == 12 {
			u.Company = ""
		}
	}
	b.ds.Users = append(b.ds.Users, u)
	return u
}

// group adds a group in parent and returns its index in ds.Groups.
func (b *builder) group(parent, cn, description string, members ...string) int {
	cn, dn := b.uniqueCN(parent, cn)
	b.ds.Groups = append(b.ds.Groups, Group{
		DN:             dn,
		CN:             cn,
		SAMAccountName: b.prefix + "-" + cn,
		Description:    description,
		Members:        members,
	})
	return len(b.ds.Groups) - 1
}

// computer adds a computer account in parent.
func (b *builder) computer(parent string) {
	b.nComp++
	name := fmt.Sprintf("%s-PC%02d", strings.ToUpper(b.prefix), b.nComp)
	cn, dn := b.uniqueCN(parent, name)
	b.ds.Computers = append(b.ds.Computers, Computer{DN: dn, CN: cn, SAMAccountName: name + "$"})
}

func (b *builder) addMembers(gi int, dns ...string) {
	b.ds.Groups[gi].Members = append(b.ds.Groups[gi].Members, dns...)
}

func userDNs(users []User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.DN
	}
	return out
}
