package agent

import (
	"fmt"
	"slices"
	"strings"

	"github.com/idsync/idsync/internal/directory"
)

func planGroups(p *Plan, in *Input) {
	groups := slices.Clone(in.Groups)
	slices.SortFunc(groups, func(a, b directory.Group) int { return strings.Compare(a.ExternalID, b.ExternalID) })

	byExt := make(map[string]*PoolGroup, len(in.Target.Groups))
	byName := make(map[string]*PoolGroup, len(in.Target.Groups))
	for i := range in.Target.Groups {
		t := &in.Target.Groups[i]
		if t.ExternalID != "" {
			byExt[t.ExternalID] = t
		}
		byName[strings.ToLower(t.Name)] = t
	}
	cands := make([]groupNameCandidate, len(groups))
	desired := make(map[string]bool, len(groups))
	for i, g := range groups {
		cands[i] = groupNameCandidate{ExternalID: g.ExternalID, Original: g.Name, Override: groupNameOverride(in.Settings.GroupNameOverrides, g)}
		if t := byExt[g.ExternalID]; t != nil {
			cands[i].Current = t.Name
		}
		desired[g.ExternalID] = true
	}
	names := assignGroupNames(cands, heldGroupNames(in, desired))

	for i := range groups {
		g := &groups[i]
		name := names[g.ExternalID]
		desc := g.Description
		if desc == "" && name != g.Name {
			desc = g.Name
		}
		c := GroupChange{ExternalID: g.ExternalID, DN: g.DN, Name: name, Description: desc}
		if name != g.Name {
			c.ADName = g.Name
		}
		t := byExt[g.ExternalID]
		if t == nil {
			other := byName[strings.ToLower(name)]
			switch {
			case other == nil:
				c.Action = ActionCreate
				p.Groups = append(p.Groups, c)
				p.planMembers(g, name, nil)
				continue
			case other.ExternalID != "" && !desired[other.ExternalID] && (in.Mode == ModeFull || slices.Contains(in.RemovedGroups, other.ExternalID)):
				// The group holding the name is deleted by this plan: delete
				// it first, then create this one.
				c.Action, c.Replaces = ActionCreate, other.ID
				p.Groups = append(p.Groups, c)
				p.planMembers(g, name, nil)
				continue
			case other.ExternalID != "" && desired[other.ExternalID] && !strings.EqualFold(names[other.ExternalID], other.Name):
				// The group holding the name is renamed by this plan; the
				// applier renames it first.
				c.Action = ActionCreate
				p.Groups = append(p.Groups, c)
				p.planMembers(g, name, nil)
				continue
			case other.ExternalID != "":
				p.reject(directory.KindGroup, g.ExternalID, g.DN, ActionCreate, fmt.Sprintf("group name %q belongs to group %s, which is synchronized from another directory group (external id %s)", name, other.ID, other.ExternalID))
				continue
			case !in.Settings.CaptureGroups:
				p.reject(directory.KindGroup, g.ExternalID, g.DN, ActionBind, fmt.Sprintf("group name %q belongs to group %s, which idsync does not manage; set sync_settings.allow_to_capture_groups to take it over", name, other.ID))
				continue
			}
			t = other
			c.Action = ActionBind
		}
		c.TargetID = t.ID
		if t.Name != name {
			c.Mask = append(c.Mask, "name")
			c.PreviousName = t.Name
		}
		if t.Description != desc {
			c.Mask = append(c.Mask, "description")
			c.PreviousDescription = t.Description
		}
		switch {
		case c.Action == ActionBind:
			p.Groups = append(p.Groups, c)
		case len(c.Mask) > 0:
			c.Action = ActionUpdate
			p.Groups = append(p.Groups, c)
		default:
			p.SameGroups++
		}
		if mc, ok := in.TrustedMembers[g.ExternalID]; ok && c.Action != ActionBind {
			p.trustedMembers(g, name, mc)
			continue
		}
		p.planMembers(g, name, t.Members)
	}
	for _, t := range removedGroups(in, desired) {
		p.Groups = append(p.Groups, GroupChange{ExternalID: t.ExternalID, TargetID: t.ID, Action: ActionDelete, Name: t.Name, Description: t.Description})
	}
}

// groupNameOverride returns the name overrides give g: by its DN, else by
// its name; "" when none does.
func groupNameOverride(overrides map[string]string, g directory.Group) string {
	if len(overrides) == 0 {
		return ""
	}
	dn, name := foldDN(g.DN), strings.ToLower(g.Name)
	byName := ""
	for k, v := range overrides {
		if dn != "" && foldDN(k) == dn {
			return v
		}
		if strings.ToLower(k) == name {
			byName = v
		}
	}
	return byName
}

// foldDN puts a DN in a form in which two spellings of one DN compare
// equal: lower case, without the spaces around unescaped ',' and '='.
func foldDN(dn string) string {
	var b strings.Builder
	b.Grow(len(dn))
	esc := false
	for _, r := range strings.ToLower(strings.TrimSpace(dn)) {
		switch {
		case esc:
			esc = false
		case r == '\\':
			esc = true
		case r == ',' || r == '=':
			s := strings.TrimRight(b.String(), " ")
			b.Reset()
			b.WriteString(s)
			b.WriteRune(r)
			continue
		case r == ' ' && b.Len() > 0 && (strings.HasSuffix(b.String(), ",") || strings.HasSuffix(b.String(), "=")):
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// planMembers adds the membership change that takes a group from have to
// its desired effective members. Both lists are sorted.
func (p *Plan) planMembers(g *directory.Group, name string, have []string) {
	want := g.Members
	if !slices.IsSorted(want) {
		want = slices.Clone(want)
		slices.Sort(want)
	}
	add, remove := directory.DiffSorted(have, want)
	if len(add)+len(remove) > 0 {
		p.Members = append(p.Members, MemberChange{GroupExternalID: g.ExternalID, GroupName: name, Add: add, Remove: remove})
	}
}

// trustedMembers adds a group's membership change as the directory state
// kept since the last cycle gives it (see Input.TrustedMembers).
func (p *Plan) trustedMembers(g *directory.Group, name string, mc directory.MembershipChange) {
	if len(mc.Added)+len(mc.Removed) > 0 {
		p.Members = append(p.Members, MemberChange{GroupExternalID: g.ExternalID, GroupName: name,
			Add: mc.Added, Remove: mc.Removed, Trusted: true, Desired: g.Members})
	}
}

// heldGroupNames returns, in lower case, the names of the managed pool
// groups the plan neither names nor removes: in a delta, the groups of the
// pool outside the delta that the target read found by name. No group of
// the plan may take one of them.
func heldGroupNames(in *Input, desired map[string]bool) map[string]bool {
	if in.Mode == ModeFull {
		return nil // a full plan names every managed group or removes it
	}
	held := make(map[string]bool)
	for _, t := range in.Target.Groups {
		if t.ExternalID != "" && !desired[t.ExternalID] && !slices.Contains(in.RemovedGroups, t.ExternalID) {
			held[strings.ToLower(t.Name)] = true
		}
	}
	return held
}

func removedGroups(in *Input, desired map[string]bool) []PoolGroup {
	var out []PoolGroup
	gone := make(map[string]bool, len(in.RemovedGroups))
	for _, id := range in.RemovedGroups {
		gone[id] = true
	}
	for _, t := range in.Target.Groups {
		if t.ExternalID == "" || desired[t.ExternalID] {
			continue
		}
		if in.Mode == ModeFull || gone[t.ExternalID] {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b PoolGroup) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	return out
}
