package directory

import (
	"slices"
	"strings"
)

// Candidates is what a directory read produces before scope and membership
// are resolved.
type Candidates struct {
	// Users are every user inside the organizational-unit scope.
	Users []User
	// Groups are the groups inside the organizational-unit scope (Members is
	// ignored and recomputed).
	Groups []Group
	// Links holds the direct members of every group of the domain.
	Links []Links
}

// Build resolves scope and effective memberships:
//
//   - with a non-empty filter (group ExternalIDs), a candidate user is in scope
//     when it is a member of any filter group directly, through nested groups
//     of the whole domain, or by primary group; otherwise every candidate is;
//   - a group's Members are the in-scope users reached from it through direct
//     members and nested in-scope groups (cycles are handled), plus the users
//     whose primaryGroupID equals the RID of any group reached.
//
// Build is deterministic and sorts users, groups and members by ExternalID.
// It takes ownership of c: its slices are sorted in place and become the
// snapshot's. Links' Direct lists may be shared with a previous snapshot
// (a delta copies the Links, not their lists): their order is kept and an
// element is only ever replaced by an equal string, so that snapshot reads
// the same values (not concurrently with Build). The returned snapshot has
// no watermark.
func Build(c Candidates, filter []string) *Snapshot {
	byID := func(a, b User) int { return strings.Compare(a.ExternalID, b.ExternalID) }
	users := c.Users
	slices.SortFunc(users, byID)
	users = slices.CompactFunc(users, func(a, b User) bool { return a.ExternalID == b.ExternalID })
	links := c.Links
	slices.SortFunc(links, func(a, b Links) int { return strings.Compare(a.GroupID, b.GroupID) })

	g := newGraph(users, links)
	inScope := make([]bool, len(users))
	if len(filter) == 0 {
		for i := range inScope {
			inScope[i] = true
		}
	} else {
		for _, f := range filter {
			g.closure(f, false, func(i int) { inScope[i] = true })
		}
	}

	groups := c.Groups
	slices.SortFunc(groups, func(a, b Group) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	groups = slices.CompactFunc(groups, func(a, b Group) bool { return a.ExternalID == b.ExternalID })
	// stamp[i] == gen marks user i as collected for the current group, so no
	// per-group set is allocated.
	stamp := make([]int, len(users))
	for gen := range groups {
		gr := &groups[gen]
		var idx []int
		g.closure(gr.ExternalID, true, func(i int) {
			if inScope[i] && stamp[i] != gen+1 {
				stamp[i] = gen + 1
				idx = append(idx, i)
			}
		})
		slices.Sort(idx) // users are sorted by ExternalID, so indexes sort members
		var members []string
		if len(idx) > 0 {
			members = make([]string, len(idx))
		}
		for k, i := range idx {
			members[k] = users[i].ExternalID
		}
		gr.Members = members
	}

	snap := &Snapshot{Groups: groups, Graph: Graph{Links: links}}
	if len(filter) == 0 {
		snap.Users = users
		return snap
	}
	// Users left out by the filter move to Excluded; the rest close up in
	// place, keeping their order.
	kept := users[:0]
	for i, u := range users {
		if inScope[i] {
			kept = append(kept, u)
		} else {
			snap.Graph.Excluded = append(snap.Graph.Excluded, u)
		}
	}
	clear(users[len(kept):])
	snap.Users = kept
	return snap
}

// graph is the direct membership of a Build as numbers: user i is node i,
// the group of links[k] is node -(k+1). Each member id is looked up once,
// when the graph is made; the closures of every group then only follow
// numbers.
type graph struct {
	users  []User
	links  []Links
	linkIx map[string]int // GroupID -> index in links (the last of equal ones)
	byRID  map[uint32][]int
	// direct[k] are the nodes of links[k].Direct that are users or groups
	// with Links, in the order of Direct.
	direct [][]int32
	// stamp[k] == gen marks links[k] as entered by the current closure.
	stamp []uint32
	gen   uint32
}

// newGraph numbers the members of links, and points the direct member ids
// at the users' and groups' own id strings, so a membership costs a string
// header rather than a copy of the id (what LDAP decoding gives). The
// values do not change.
func newGraph(users []User, links []Links) *graph {
	g := &graph{users: users, links: links, linkIx: make(map[string]int, len(links)), byRID: map[uint32][]int{},
		direct: make([][]int32, len(links)), stamp: make([]uint32, len(links))}
	userIx := make(map[string]int32, len(users))
	for i, u := range users {
		userIx[u.ExternalID] = int32(i)
		if u.PrimaryGroupID != 0 {
			g.byRID[u.PrimaryGroupID] = append(g.byRID[u.PrimaryGroupID], i)
		}
	}
	n := 0
	for i := range links {
		g.linkIx[links[i].GroupID] = i
		n += len(links[i].Direct)
	}
	nodes := make([]int32, 0, n) // one array for every list
	for k := range links {
		l := &links[k]
		start := len(nodes)
		for j, m := range l.Direct {
			if i, ok := userIx[m]; ok {
				l.Direct[j] = users[i].ExternalID
				nodes = append(nodes, i)
			} else if nk, ok := g.linkIx[m]; ok {
				l.Direct[j] = links[nk].GroupID
				nodes = append(nodes, int32(-nk-1))
			}
		}
		g.direct[k] = nodes[start:len(nodes):len(nodes)]
	}
	return g
}

// closure visits every user reachable from the group root; nested groups
// are entered when they are in scope or inScopeOnly is false. The root
// itself is always entered.
func (g *graph) closure(root string, inScopeOnly bool, visit func(int)) {
	rk, ok := g.linkIx[root]
	if !ok {
		return
	}
	g.gen++
	g.stamp[rk] = g.gen
	stack := []int{rk}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if rid := g.links[k].RID; rid != 0 {
			for _, i := range g.byRID[rid] {
				visit(i)
			}
		}
		for _, n := range g.direct[k] {
			if n >= 0 {
				visit(int(n))
				continue
			}
			nk := int(-n - 1)
			if g.stamp[nk] != g.gen && (!inScopeOnly || g.links[nk].InScope) {
				g.stamp[nk] = g.gen
				stack = append(stack, nk)
			}
		}
	}
}
