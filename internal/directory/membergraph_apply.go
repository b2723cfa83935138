package directory

import "slices"

// applyState collects what one Apply touched and recomputes it.
type applyState struct {
	g        *MemberGraph
	dirtySet map[int32]bool    // groups whose own members or children changed
	old      map[int32][]int32 // eff before recomputation
	listed   map[int32]bool    // listing before the change
	flipped  map[int32]bool    // users whose filter scope changed
	affected map[int32]bool    // dirty groups and their ancestors
}

func newApplyState(g *MemberGraph) *applyState {
	return &applyState{g: g, dirtySet: map[int32]bool{}, old: map[int32][]int32{}, listed: map[int32]bool{}, flipped: map[int32]bool{}}
}

func (a *applyState) dirty(n int32) { a.dirtySet[n] = true }

func (a *applyState) dirtyList(ns []int32) {
	for _, n := range ns {
		a.dirtySet[n] = true
	}
}

// dirtyUser marks the groups that hold user n directly or by primary group.
func (a *applyState) dirtyUser(n int32) {
	a.dirtyList(a.g.parents[n])
	if p := a.g.nodes[n].primary; p != 0 {
		a.dirtyList(a.g.ridGroups[p])
	}
}

func (a *applyState) listing(n int32) {
	if _, ok := a.listed[n]; !ok {
		a.listed[n] = a.g.groups[n].listed
	}
}

// enterable reports whether nested traversal enters group n.
func (g *MemberGraph) enterable(n int32) bool {
	gr := g.groups[n]
	return gr != nil && gr.linked && gr.inScope
}

// ancestors adds to set the groups that reach any of roots through
// enterable groups, roots included.
func (g *MemberGraph) ancestors(roots []int32, set map[int32]bool) {
	stack := slices.Clone(roots)
	for _, r := range roots {
		set[r] = true
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !g.enterable(n) {
			continue
		}
		for _, p := range g.parents[n] {
			if !set[p] {
				set[p] = true
				stack = append(stack, p)
			}
		}
	}
}

func (a *applyState) finish() []string {
	g := a.g
	a.affected = make(map[int32]bool, len(a.dirtySet))
	roots := make([]int32, 0, len(a.dirtySet))
	for n := range a.dirtySet {
		roots = append(roots, n)
	}
	g.ancestors(roots, a.affected)
	g.recompute(a)
	candidates := a.affected
	if g.filter != nil {
		for _, u := range g.rescope() {
			a.flipped[u] = true
			var holders []int32
			holders = append(holders, g.parents[u]...)
			if p := g.nodes[u].primary; p != 0 {
				holders = append(holders, g.ridGroups[p]...)
			}
			g.ancestors(holders, candidates)
		}
	}
	for n := range a.listed {
		candidates[n] = true
	}
	var changed []string
	for n := range candidates {
		if !a.same(n) {
			changed = append(changed, g.ids[n])
		}
	}
	slices.Sort(changed)
	return changed
}

// same reports whether group n's effective members are what they were.
func (a *applyState) same(n int32) bool {
	g := a.g
	gr := g.groups[n]
	if gr == nil {
		return true
	}
	wasListed, ok := a.listed[n]
	if !ok {
		wasListed = gr.listed
	}
	before, ok := a.old[n]
	if !ok {
		before = gr.eff
	}
	var after []int32
	if gr.listed {
		after = gr.eff
	}
	if !wasListed {
		before = nil
	}
	i, j := 0, 0
	for {
		for i < len(before) && !(g.inScope(before[i]) != a.flipped[before[i]]) {
			i++
		}
		for j < len(after) && !g.inScope(after[j]) {
			j++
		}
		if i == len(before) || j == len(after) {
			return i == len(before) && j == len(after)
		}
		if before[i] != after[j] {
			return false
		}
		i++
		j++
	}
}

// rescope recomputes the users in scope of the group filter and returns
// those whose scope changed.
func (g *MemberGraph) rescope() []int32 {
	reached := map[int32]bool{}
	rids := map[uint32]bool{}
	var stack []int32
	for _, f := range g.filter {
		if gr := g.groups[f]; gr != nil && gr.linked && !reached[f] {
			reached[f] = true
			stack = append(stack, f)
		}
	}
	scope := make([]bool, len(g.nodes))
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		gr := g.groups[n]
		if gr.rid != 0 {
			rids[gr.rid] = true
		}
		for _, m := range gr.direct {
			if g.nodes[m].user {
				scope[m] = true
			} else if mg := g.groups[m]; mg != nil && mg.linked && !reached[m] {
				reached[m] = true
				stack = append(stack, m)
			}
		}
	}
	for rid := range rids {
		for _, u := range g.ridUsers[rid] {
			scope[u] = true
		}
	}
	var flipped []int32
	for n := range scope {
		if scope[n] != g.scope[n] {
			flipped = append(flipped, int32(n))
		}
	}
	g.scope = scope
	return flipped
}
