package directory

// MemberPath is how a user belongs to one group: Via are the nested
// groups between the group and the user, outermost first (empty for a
// direct member), and Primary is true when the innermost link is the
// user's primary group (primaryGroupID) rather than a member value.
type MemberPath struct {
	GroupID string
	Via     []string
	Primary bool
}

// MemberPaths returns, for every group of links that user reaches, the
// shortest chain of groups from that group down to the user, by the rules
// Build applies: a group holds its direct members, the users whose
// primaryGroupID is its RID, and the members of the nested groups it may
// enter. With nestedInScopeOnly, nested groups are entered only when they
// are synchronized (Links.InScope), as for effective memberships;
// otherwise every nested group is, as for the group filter. The result is
// keyed by group id; it performs no I/O.
func MemberPaths(links []Links, userID string, primaryGroupID uint32, nestedInScopeOnly bool) map[string]MemberPath {
	parents := map[string][]*Links{}
	for i := range links {
		l := &links[i]
		for _, m := range l.Direct {
			parents[m] = append(parents[m], l)
		}
	}
	out := map[string]MemberPath{}
	type step struct {
		id   string
		path MemberPath
	}
	var queue []step
	reach := func(l *Links, p MemberPath) {
		if _, ok := out[l.GroupID]; ok {
			return
		}
		p.GroupID = l.GroupID
		out[l.GroupID] = p
		queue = append(queue, step{l.GroupID, p})
	}
	for _, l := range parents[userID] {
		reach(l, MemberPath{})
	}
	if primaryGroupID != 0 {
		for i := range links {
			if links[i].RID == primaryGroupID {
				reach(&links[i], MemberPath{Primary: true})
			}
		}
	}
	byID := map[string]*Links{}
	for i := range links {
		byID[links[i].GroupID] = &links[i]
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if l := byID[s.id]; nestedInScopeOnly && (l == nil || !l.InScope) {
			continue // a parent cannot enter this group
		}
		for _, p := range parents[s.id] {
			via := make([]string, 0, len(s.path.Via)+1)
			via = append(append(via, s.id), s.path.Via...)
			reach(p, MemberPath{Via: via, Primary: s.path.Primary})
		}
	}
	return out
}
