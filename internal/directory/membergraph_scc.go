package directory

import "slices"

// recompute sets eff for every affected group. Groups are taken one
// strongly connected component at a time (Tarjan's algorithm over the
// edges into enterable affected groups), children before parents, so a
// component reads its children's new sets; every group of a component
// reaches the same users.
func (g *MemberGraph) recompute(a *applyState) {
	t := &tarjan{g: g, a: a, index: make(map[int32]int32, len(a.affected)), low: make(map[int32]int32, len(a.affected))}
	for n := range a.affected {
		if _, seen := t.index[n]; !seen {
			t.visit(n)
		}
	}
}

type tarjan struct {
	g       *MemberGraph
	a       *applyState
	next    int32
	index   map[int32]int32
	low     map[int32]int32
	stack   []int32
	onStack map[int32]bool
}

func (t *tarjan) visit(n int32) {
	if t.onStack == nil {
		t.onStack = map[int32]bool{}
	}
	t.index[n], t.low[n] = t.next, t.next
	t.next++
	t.stack = append(t.stack, n)
	t.onStack[n] = true
	if gr := t.g.groups[n]; gr != nil && gr.linked {
		for _, m := range gr.direct {
			if !t.a.affected[m] || !t.g.enterable(m) {
				continue
			}
			if _, seen := t.index[m]; !seen {
				t.visit(m)
				t.low[n] = min(t.low[n], t.low[m])
			} else if t.onStack[m] {
				t.low[n] = min(t.low[n], t.index[m])
			}
		}
	}
	if t.low[n] != t.index[n] {
		return
	}
	i := len(t.stack) - 1
	for t.stack[i] != n {
		i--
	}
	comp := slices.Clone(t.stack[i:])
	t.stack = t.stack[:i]
	for _, m := range comp {
		delete(t.onStack, m)
	}
	t.g.setComponent(t.a, comp)
}

// setComponent computes the users a component reaches and stores them in
// each of its groups.
func (g *MemberGraph) setComponent(a *applyState, comp []int32) {
	g.gen++
	if len(g.stamp) < len(g.nodes) {
		g.stamp = append(g.stamp, make([]uint32, len(g.nodes)-len(g.stamp))...)
	}
	var eff []int32
	add := func(u int32) {
		if g.stamp[u] != g.gen {
			g.stamp[u] = g.gen
			eff = append(eff, u)
		}
	}
	var members map[int32]bool
	if len(comp) > 1 {
		members = make(map[int32]bool, len(comp))
		for _, n := range comp {
			members[n] = true
		}
	}
	inComp := func(m int32) bool { return members[m] }
	for _, n := range comp {
		gr := g.groups[n]
		if gr == nil || !gr.linked {
			continue
		}
		if gr.rid != 0 {
			for _, u := range g.ridUsers[gr.rid] {
				add(u)
			}
		}
		for _, m := range gr.direct {
			if g.nodes[m].user {
				add(m)
			} else if m != n && g.enterable(m) && !inComp(m) {
				for _, u := range g.groups[m].eff {
					add(u)
				}
			}
		}
	}
	slices.Sort(eff)
	eff = slices.Clip(eff)
	for _, n := range comp {
		gr := g.groups[n]
		if gr == nil {
			continue
		}
		if _, ok := a.old[n]; !ok {
			a.old[n] = gr.eff
		}
		gr.eff = eff
	}
}
