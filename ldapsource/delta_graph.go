package ldapsource

import (
	"maps"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/directory"
)

// nextState applies a delta read to the previous state and resolves scope
// and effective memberships: when only users' attributes changed, the
// previous memberships stand (attributesOnly); otherwise directory.Build
// computes them again from the previous state with the changes applied.
// s.buildDeltas makes it always Build (tests compare the two).
//
// directory.MemberGraph, which recomputes only the groups a change
// reaches, is not used here: built from the previous state on every delta
// it cost more than a Build whose closures follow numbers (measured with
// BenchmarkDeltaNextState, W100k shape, before that path was removed: one
// member value changed, graph 0.50-0.60 s and Build 0.39-0.42 s; 0.01% of
// the users and member values, 0.56 and 0.34 s; 1%, 0.93 and 0.43 s).
func (s *Source) nextState(prev *directory.Snapshot, rd *reader, deleted, changed []string, filter []string) *directory.Snapshot {
	if !s.buildDeltas {
		if next := attributesOnly(prev, rd, deleted, changed); next != nil {
			return next
		}
	}
	return directory.Build(applyChanges(prev, rd, deleted, changed), filter)
}

// attributesOnly returns the next state when the delta read changed only
// attributes of users that stay candidates with the same primary group: no
// group read again or gone, no user come or gone. Memberships and the group
// filter's scope then stand, and the users are replaced in place. It
// returns nil otherwise.
func attributesOnly(prev *directory.Snapshot, rd *reader, deleted, changed []string) *directory.Snapshot {
	if len(rd.links) > 0 {
		return nil
	}
	read := make(map[string]*directory.User, len(rd.users))
	for i := range rd.users {
		read[rd.users[i].ExternalID] = &rd.users[i]
	}
	links := make(map[string]bool, len(prev.Graph.Links))
	for _, l := range prev.Graph.Links {
		links[l.GroupID] = true
	}
	next := &directory.Snapshot{Groups: prev.Groups, Graph: directory.Graph{Links: prev.Graph.Links}}
	known := 0
	swap := func(us []directory.User) ([]directory.User, bool) {
		out := slices.Clone(us)
		for i := range out {
			if u, ok := read[out[i].ExternalID]; ok {
				if u.PrimaryGroupID != out[i].PrimaryGroupID {
					return nil, false
				}
				out[i] = *u
				known++
			}
		}
		return out, true
	}
	var ok bool
	if next.Users, ok = swap(prev.Users); !ok {
		return nil
	}
	if next.Graph.Excluded, ok = swap(prev.Graph.Excluded); !ok {
		return nil
	}
	if known != len(read) {
		return nil // a new candidate, or one read twice
	}
	// Every other object named must be neither a previous candidate (it
	// would have left) nor a group.
	prevUser := make(map[string]bool, len(read))
	for _, us := range [][]directory.User{prev.Users, prev.Graph.Excluded} {
		for _, u := range us {
			prevUser[u.ExternalID] = true
		}
	}
	for _, ids := range [][]string{deleted, changed, slices.Collect(maps.Keys(rd.seen))} {
		for _, id := range ids {
			if links[id] || (prevUser[id] && read[id] == nil) {
				return nil
			}
		}
	}
	return next
}

// untouched reports whether a delta read names nothing the previous state
// holds and read nothing it would take: objects outside the scope changed
// (an account of another unit, a computer). The previous state then stands
// as it is.
func untouched(prev *directory.Snapshot, rd *reader, deleted, changed []string) bool {
	if len(rd.users) > 0 || len(rd.links) > 0 {
		return false
	}
	named := make(map[string]bool, len(deleted)+len(changed)+len(rd.seen))
	for _, ids := range [][]string{deleted, changed} {
		for _, id := range ids {
			named[id] = true
		}
	}
	for id := range rd.seen {
		named[id] = true
	}
	for _, us := range [][]directory.User{prev.Users, prev.Graph.Excluded} {
		for i := range us {
			if named[us[i].ExternalID] {
				return false
			}
		}
	}
	for i := range prev.Graph.Links {
		if named[prev.Graph.Links[i].GroupID] {
			return false
		}
	}
	return true
}

// applyMemberEdits puts into rd, as if read again, the groups of the
// previous state whose only change was to their member values: the
// previous direct members with edits' values removed and added. It returns
// the changed objects still to read (the others, and edited objects the
// previous state has no links for).
func applyMemberEdits(prev *directory.Snapshot, rd *reader, edits map[string]*memberEdit, changed []string) []string {
	links := make(map[string]*directory.Links, len(edits))
	for i := range prev.Graph.Links {
		if _, ok := edits[prev.Graph.Links[i].GroupID]; ok {
			links[prev.Graph.Links[i].GroupID] = &prev.Graph.Links[i]
		}
	}
	groups := make(map[string]*directory.Group, len(edits))
	for i := range prev.Groups {
		if _, ok := links[prev.Groups[i].ExternalID]; ok {
			groups[prev.Groups[i].ExternalID] = &prev.Groups[i]
		}
	}
	var rest []string
	for _, id := range changed {
		l, ok := links[id]
		if !ok || (l.InScope && groups[id] == nil) {
			rest = append(rest, id)
			continue
		}
		ed := edits[id]
		gone := make(map[string]bool, len(ed.removed))
		for _, m := range ed.removed {
			gone[m] = true
		}
		direct := make([]string, 0, len(l.Direct)+len(ed.added))
		for _, m := range l.Direct {
			if !gone[m] {
				direct = append(direct, m)
			}
		}
		for _, m := range ed.added {
			direct = append(direct, rd.intern(m))
		}
		rd.links[id] = directory.Links{GroupID: l.GroupID, RID: l.RID, InScope: l.InScope, Direct: direct}
		if g := groups[id]; g != nil {
			ng := *g
			ng.Members = nil
			rd.groups[id] = ng
		}
		rd.seen[id] = true
	}
	return rest
}

// valueOnlyAttrs are the user attributes whose change alone DirSync's
// values may apply (applyValueEdits), lower-cased: the sources of Direct
// mappings, except what decodeUser reads itself (account state, identity,
// system checks) and what names the object (a rename or move changes its
// DN, which only a read gives).
func (s *Source) valueOnlyAttrs() map[string]bool {
	out := map[string]bool{}
	for _, a := range s.opts.Mapping.UserAttributes() {
		out[strings.ToLower(a)] = true
	}
	for _, a := range append(slices.Clone(baseUserAttrs), "name", "cn", "distinguishedName", "isDeleted", "objectCategory") {
		delete(out, strings.ToLower(a))
	}
	return out
}

// applyValueEdits puts into rd, as if read again, the users of the previous
// state whose only change DirSync reported was to attributes of only (the
// round's valueOnlyAttrs): the previous user with those mapped fields set
// from the values DirSync returned (an attribute cleared comes without
// values). It returns the changed objects still to read.
func (s *Source) applyValueEdits(prev *directory.Snapshot, rd *reader, values map[string][]*ldap.EntryAttribute, only map[string]bool, changed []string) []string {
	if len(values) == 0 {
		return changed
	}
	users := make(map[string]*directory.User, len(values))
	for _, us := range [][]directory.User{prev.Users, prev.Graph.Excluded} {
		for i := range us {
			if attrs := values[us[i].ExternalID]; attrs != nil {
				users[us[i].ExternalID] = &us[i]
			}
		}
	}
	var rest []string
	for _, id := range changed {
		u := users[id]
		if u == nil || !valuesOnly(values[id], only) {
			rest = append(rest, id)
			continue
		}
		e := &ldap.Entry{Attributes: values[id]}
		nu := *u
		ok := true
		for f, m := range s.opts.Mapping.User {
			if m.Type != directory.Direct || !only[strings.ToLower(m.Source)] || !hasAttr(e, m.Source) {
				continue
			}
			v, err := mappedValue(e, m.Source)
			if err != nil {
				ok = false
				break
			}
			directory.SetUserField(&nu, f, v)
		}
		if !ok {
			rest = append(rest, id)
			continue
		}
		rd.users = append(rd.users, nu)
		rd.seen[id] = true
		rd.ids[nu.ExternalID] = nu.ExternalID
		s.valueEdits++
	}
	return rest
}

// valuesOnly reports whether attrs, besides the objectGUID and instanceType
// DirSync always sends, holds at least one attribute and only attributes of
// only.
func valuesOnly(attrs []*ldap.EntryAttribute, only map[string]bool) bool {
	seen := false
	for _, a := range attrs {
		switch n := strings.ToLower(a.Name); {
		case n == "objectguid" || n == "instancetype":
		case only[n]:
			seen = true
		default:
			return false
		}
	}
	return seen
}

func hasAttr(e *ldap.Entry, name string) bool {
	return slices.ContainsFunc(e.Attributes, func(a *ldap.EntryAttribute) bool { return strings.EqualFold(a.Name, name) })
}
