package directory

import "slices"

// MemberGraph keeps the effective memberships Build computes up to date as
// the directory changes: a change to the direct members of group G
// recomputes only G and the groups that contain G, transitively (strongly
// connected components, i.e. nesting cycles, are recomputed as one). Users,
// groups and member ids are interned: a node is an int32 and a membership
// costs four bytes in each direction (the ids of removed objects stay
// interned). It performs no I/O and is not safe for concurrent use.
//
// Effective returns what Build puts in Group.Members for the same
// candidates and filter. With a group filter, the users in scope are
// recomputed on every Apply from the group edges and the direct members of
// the filter groups' closure (no nested membership sets are rebuilt).
type MemberGraph struct {
	ids    []string // node -> ExternalID
	index  map[string]int32
	nodes  []mnode
	groups map[int32]*mgroup
	// parents[n] are the groups whose direct members hold node n.
	parents   [][]int32
	ridUsers  map[uint32][]int32 // primaryGroupID -> users
	ridGroups map[uint32][]int32 // RID -> groups
	filter    []int32
	scope     []bool // per node, only with a filter
	// stamp[n] == gen marks user n as collected for the current component.
	stamp []uint32
	gen   uint32
}

type mnode struct {
	user    bool
	primary uint32
}

type mgroup struct {
	rid     uint32
	linked  bool // the group's Links are known
	inScope bool // Links.InScope: nested traversal enters the group
	listed  bool // a synchronized group (Candidates.Groups)
	direct  []int32
	// eff holds the present users reached from the group (before the
	// filter), sorted by node; shared by every group of a cycle and never
	// modified in place.
	eff []int32
}

// GraphChange is what a delta read tells a MemberGraph. Objects are given
// whole, as they are after the change; an id appears at most once among a
// kind's changes and removals. Anything not named keeps its state.
type GraphChange struct {
	// Users added to or changed among the candidates (ExternalID and
	// PrimaryGroupID are used).
	Users []User
	// RemovedUsers are users that are no longer candidates.
	RemovedUsers []string
	// Links are domain groups added or whose RID, InScope or direct members
	// changed; Direct is the complete new list.
	Links []Links
	// Members are direct-member value changes of groups whose Links the
	// graph has and that are not in Links or RemovedLinks (what an
	// incremental read of member values gives).
	MemberEdits []MemberEdit
	// RemovedLinks are groups that left the domain.
	RemovedLinks []string
	// Groups are synchronized groups added (ExternalID is used).
	Groups []Group
	// RemovedGroups are groups no longer synchronized.
	RemovedGroups []string
}

// MemberEdit adds and removes direct member values (ExternalIDs) of one
// group.
type MemberEdit struct {
	GroupID string
	Added   []string
	Removed []string
}

// NewMemberGraph builds the graph of c (which it does not modify) with the
// group filter Build would use.
func NewMemberGraph(c Candidates, filter []string) *MemberGraph {
	g := &MemberGraph{
		index:     make(map[string]int32, len(c.Users)+len(c.Links)),
		groups:    make(map[int32]*mgroup, len(c.Links)),
		ridUsers:  map[uint32][]int32{},
		ridGroups: map[uint32][]int32{},
	}
	if len(filter) > 0 {
		g.scope = []bool{}
	}
	for _, f := range filter {
		g.filter = append(g.filter, g.intern(f))
	}
	g.Apply(GraphChange{Users: c.Users, Links: c.Links, Groups: c.Groups})
	return g
}

func (g *MemberGraph) intern(id string) int32 {
	if n, ok := g.index[id]; ok {
		return n
	}
	n := int32(len(g.ids))
	g.ids = append(g.ids, id)
	g.index[id] = n
	g.nodes = append(g.nodes, mnode{})
	g.parents = append(g.parents, nil)
	if g.scope != nil {
		g.scope = append(g.scope, false)
	}
	return n
}

// Effective returns the effective members of a synchronized group, as Build
// sets Group.Members: sorted ExternalIDs, nil when none or when the group is
// not synchronized.
func (g *MemberGraph) Effective(groupID string) []string {
	n, ok := g.index[groupID]
	if !ok {
		return nil
	}
	gr := g.groups[n]
	if gr == nil || !gr.listed {
		return nil
	}
	var out []string
	for _, u := range gr.eff {
		if g.inScope(u) {
			out = append(out, g.ids[u])
		}
	}
	slices.Sort(out)
	return out
}

// InScope reports whether the user with this ExternalID is a candidate in
// the group filter's scope (every candidate is without a filter): whether
// Build puts it in Snapshot.Users rather than Graph.Excluded.
func (g *MemberGraph) InScope(userID string) bool {
	n, ok := g.index[userID]
	return ok && g.nodes[n].user && g.inScope(n)
}

func (g *MemberGraph) inScope(u int32) bool {
	return g.scope == nil || g.scope[u]
}

// Apply applies one change and returns the synchronized groups whose
// effective members changed (including groups that stopped or started
// being synchronized with members), sorted by ExternalID.
func (g *MemberGraph) Apply(c GraphChange) []string {
	a := newApplyState(g)
	for _, id := range c.RemovedUsers {
		if n, ok := g.index[id]; ok && g.nodes[n].user {
			a.dirtyUser(n)
			g.ridUsers[g.nodes[n].primary] = remove(g.ridUsers[g.nodes[n].primary], n)
			g.nodes[n] = mnode{}
		}
	}
	for i := range c.Users {
		u := &c.Users[i]
		n := g.intern(u.ExternalID)
		nd := &g.nodes[n]
		if nd.user && nd.primary == u.PrimaryGroupID {
			continue
		}
		if nd.user {
			a.dirtyList(g.ridGroups[nd.primary])
			g.ridUsers[nd.primary] = remove(g.ridUsers[nd.primary], n)
		}
		*nd = mnode{user: true, primary: u.PrimaryGroupID}
		g.ridUsers[u.PrimaryGroupID] = append(g.ridUsers[u.PrimaryGroupID], n)
		a.dirtyUser(n)
	}
	for _, id := range c.RemovedLinks {
		if n, ok := g.index[id]; ok && g.groups[n] != nil {
			g.removeLinks(a, n)
		}
	}
	for i := range c.Links {
		g.setLinks(a, &c.Links[i])
	}
	for _, mc := range c.MemberEdits {
		g.editLinks(a, mc)
	}
	for _, id := range c.RemovedGroups {
		if n, ok := g.index[id]; ok && g.groups[n] != nil && g.groups[n].listed {
			a.listing(n)
			g.groups[n].listed = false
		}
	}
	for i := range c.Groups {
		n := g.intern(c.Groups[i].ExternalID)
		gr := g.group(n)
		if !gr.listed {
			a.listing(n)
			gr.listed = true
		}
	}
	return a.finish()
}

// group returns node n's group, creating an empty one (no links read yet).
func (g *MemberGraph) group(n int32) *mgroup {
	gr := g.groups[n]
	if gr == nil {
		gr = &mgroup{}
		g.groups[n] = gr
	}
	return gr
}

func (g *MemberGraph) removeLinks(a *applyState, n int32) {
	gr := g.groups[n]
	a.dirty(n)
	a.dirtyList(g.parents[n]) // they can no longer enter n
	for _, m := range gr.direct {
		g.parents[m] = remove(g.parents[m], n)
	}
	g.ridGroups[gr.rid] = remove(g.ridGroups[gr.rid], n)
	*gr = mgroup{listed: gr.listed, eff: gr.eff}
}

func (g *MemberGraph) setLinks(a *applyState, l *Links) {
	n := g.intern(l.GroupID)
	gr := g.group(n)
	direct := make([]int32, 0, len(l.Direct))
	for _, id := range l.Direct {
		direct = append(direct, g.intern(id))
	}
	slices.Sort(direct)
	direct = slices.Compact(direct)
	added, removed := diffSorted(gr.direct, direct)
	for _, m := range removed {
		g.parents[m] = remove(g.parents[m], n)
	}
	for _, m := range added {
		g.parents[m] = append(g.parents[m], n)
	}
	if !gr.linked || gr.rid != l.RID {
		if gr.linked {
			g.ridGroups[gr.rid] = remove(g.ridGroups[gr.rid], n)
		}
		g.ridGroups[l.RID] = append(g.ridGroups[l.RID], n)
	}
	if !gr.linked || gr.inScope != l.InScope {
		a.dirtyList(g.parents[n]) // whether they can enter n changed
	}
	gr.linked, gr.rid, gr.inScope, gr.direct = true, l.RID, l.InScope, slices.Clip(direct)
	a.dirty(n)
}

// editLinks adds and removes direct members of a group with links.
func (g *MemberGraph) editLinks(a *applyState, mc MemberEdit) {
	n, ok := g.index[mc.GroupID]
	if !ok || g.groups[n] == nil || !g.groups[n].linked {
		return
	}
	gr := g.groups[n]
	for _, id := range mc.Removed {
		m, ok := g.index[id]
		if !ok {
			continue
		}
		if i, found := slices.BinarySearch(gr.direct, m); found {
			gr.direct = slices.Delete(gr.direct, i, i+1)
			g.parents[m] = remove(g.parents[m], n)
		}
	}
	for _, id := range mc.Added {
		m := g.intern(id)
		if i, found := slices.BinarySearch(gr.direct, m); !found {
			gr.direct = slices.Insert(gr.direct, i, m)
			g.parents[m] = append(g.parents[m], n)
		}
	}
	a.dirty(n)
}

// remove deletes v from s (unordered) and returns s.
func remove(s []int32, v int32) []int32 {
	if i := slices.Index(s, v); i >= 0 {
		s[i] = s[len(s)-1]
		return s[:len(s)-1]
	}
	return s
}
