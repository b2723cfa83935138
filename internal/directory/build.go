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
	g.share()
	inScope := make([]bool, len(users))
	if len(filter) == 0 {
		for i := range inScope {
			inScope[i] = true
		}
	} else {
		for _, f := range filter {
			g.closure(f, func(*Links) bool { return true }, func(i int) { inScope[i] = true })
		}
	}

	groups := c.Groups
	slices.SortFunc(groups, func(a, b Group) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	groups = slices.CompactFunc(groups, func(a, b Group) bool { return a.ExternalID == b.ExternalID })
	onlyInScope := func(l *Links) bool { return l.InScope }
	// stamp[i] == gen marks user i as collected for the current group, so no
	// per-group set is allocated.
	stamp := make([]int, len(users))
	for gen := range groups {
		gr := &groups[gen]
		var idx []int
		g.closure(gr.ExternalID, onlyInScope, func(i int) {
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

type graph struct {
	users  []User
	userIx map[string]int
	byRID  map[uint32][]int
	links  map[string]*Links
}

func newGraph(users []User, links []Links) *graph {
	g := &graph{users: users, userIx: make(map[string]int, len(users)), byRID: map[uint32][]int{}, links: make(map[string]*Links, len(links))}
	for i, u := range users {
		g.userIx[u.ExternalID] = i
		if u.PrimaryGroupID != 0 {
			g.byRID[u.PrimaryGroupID] = append(g.byRID[u.PrimaryGroupID], i)
		}
	}
	for i := range links {
		g.links[links[i].GroupID] = &links[i]
	}
	return g
}

// share points the direct member ids at the users' and groups' own id
// strings, so a membership costs a string header rather than a copy of the
// id (what LDAP decoding gives). The values do not change.
func (g *graph) share() {
	for _, l := range g.links {
		for j, m := range l.Direct {
			if i, ok := g.userIx[m]; ok {
				l.Direct[j] = g.users[i].ExternalID
			} else if nl, ok := g.links[m]; ok {
				l.Direct[j] = nl.GroupID
			}
		}
	}
}

// closure visits every user reachable from root; nested groups are entered
// when traverse allows it. The root itself is always entered.
func (g *graph) closure(root string, traverse func(*Links) bool, visit func(int)) {
	rootLinks, ok := g.links[root]
	if !ok {
		return
	}
	visited := map[string]bool{root: true}
	stack := []*Links{rootLinks}
	for len(stack) > 0 {
		l := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if l.RID != 0 {
			for _, i := range g.byRID[l.RID] {
				visit(i)
			}
		}
		for _, m := range l.Direct {
			if i, ok := g.userIx[m]; ok {
				visit(i)
				continue
			}
			if nl, ok := g.links[m]; ok && !visited[m] && traverse(nl) {
				visited[m] = true
				stack = append(stack, nl)
			}
		}
	}
}
