package adseed

import (
	"fmt"
	"slices"
)

// benchSpec sizes the benchmark profiles.
type benchSpec struct {
	name, root, prefix string
	users              int
	groups             int
	memberships        int // target number of member values over all groups
	bigGroup           int // members of the largest group (0: none)
	depts              int // department OUs, spread over regions
}

// bench builds a benchmark dataset:
//
//	OU=<root>
//	  OU=Region N > OU=Dept NN   users (regions of up to 10 departments)
//	  OU=Groups                  groups: one big group, nested groups with a
//	                             cycle, the rest with random users
func bench(s benchSpec, baseDN string) *Dataset {
	b := newBuilder(s.name, s.root, s.prefix, baseDN)
	root := b.ou(baseDN, s.root, "idsync "+s.name+" benchmark dataset")
	var deptDNs, deptNames []string
	var region string
	for d := range s.depts {
		if d%10 == 0 {
			region = b.ou(root, fmt.Sprintf("Region %d", d/10+1), "")
		}
		name := fmt.Sprintf("Dept %02d", d+1)
		deptDNs = append(deptDNs, b.ou(region, name, ""))
		deptNames = append(deptNames, name)
	}
	groupsOU := b.ou(root, "Groups", "")
	for i := range s.users {
		d := i % s.depts
		o := userOpts{department: deptNames[d], sparse: true, disabled: i%50 == 7}
		if i%101 == 13 {
			o.expires = expiresAt
		}
		b.user(deptDNs[d], o)
	}
	users := userDNs(b.ds.Users)

	for g := range s.groups {
		b.group(groupsOU, fmt.Sprintf("Group %05d", g+1), fmt.Sprintf("Benchmark group %d", g+1))
	}
	budget := s.memberships
	if s.bigGroup > 0 {
		b.ds.Groups[0].Description = "Big group"
		b.ds.Groups[0].Members = append(b.ds.Groups[0].Members, users[:min(s.bigGroup, len(users))]...)
		budget -= len(b.ds.Groups[0].Members)
	}
	// Nesting: every 20th group gets two child groups with higher indexes
	// (acyclic), and groups 1 and 2 form a cycle.
	for g := 1; g < s.groups; g += 20 {
		for _, c := range []int{g + 1 + b.r.IntN(19), g + 1 + b.r.IntN(19)} {
			if c < s.groups && c != g && !contains(b.ds.Groups[g].Members, b.ds.Groups[c].DN) {
				b.addMembers(g, b.ds.Groups[c].DN)
				budget--
			}
		}
	}
	if s.groups > 2 {
		b.addMembers(2, b.ds.Groups[1].DN)
		if !contains(b.ds.Groups[1].Members, b.ds.Groups[2].DN) {
			b.addMembers(1, b.ds.Groups[2].DN)
		}
		budget -= 2
	}
	// Random users for the remaining budget, spread evenly with jitter.
	rest := s.groups
	if s.bigGroup > 0 {
		rest--
	}
	for g := s.groups - rest; g < s.groups && budget > 0; g++ {
		left := s.groups - g
		avg := budget / left
		n := min(avg/2+b.r.IntN(avg+1), budget, len(users))
		picked := make(map[int]bool, n)
		idx := make([]int, 0, n)
		for len(idx) < n {
			if i := b.r.IntN(len(users)); !picked[i] {
				picked[i] = true
				idx = append(idx, i)
			}
		}
		slices.Sort(idx)
		for _, i := range idx {
			b.addMembers(g, users[i])
		}
		budget -= n
	}
	b.computer(root)
	return b.ds
}

func contains(list []string, s string) bool {
	return slices.Contains(list, s)
}
