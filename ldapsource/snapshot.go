package ldapsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
)

// Snapshot reads the whole scope: users, groups and effective memberships,
// with a watermark for the next Delta. Any error fails the whole read; a
// partial snapshot is never returned.
func (s *Source) Snapshot(ctx context.Context) (*directory.Snapshot, error) {
	c, err := s.connection(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	info, err := s.readRootDSE(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	base := s.baseDN(info)
	mode, err := s.resolveMode(ctx, c, base)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	wm := directory.Watermark{Mode: mode, DCHost: info.DNSHostName, InvocationID: info.InvocationID,
		USN: info.HighestUSN, TakenAt: s.opts.Now().UTC(), Config: s.fingerprint(base)}
	if mode == directory.ModeDirSync {
		// The cookie is taken before the read so that changes made during
		// the read are delivered again by the next delta.
		if wm.Cookie, err = s.dirSyncCookie(ctx, c, base); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	filter, err := s.resolveScopeGroups(ctx, c, base)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	ous, err := s.ouRoots()
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	rd := newReader(s, c, ous)
	userBases := s.opts.Scope.OrganizationalUnits
	if len(userBases) == 0 {
		userBases = []string{base}
	}
	for _, b := range userBases {
		if err := rd.readUsers(ctx, b, userFilter); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	if err := rd.readGroups(ctx, base, groupFilter); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	cand, err := rd.candidates(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	snap := directory.Build(cand, filter)
	snap.Watermark = wm
	s.log.Info("snapshot read", zap.Int("users", len(snap.Users)), zap.Int("groups", len(snap.Groups)),
		zap.Int("excluded_users", len(snap.Graph.Excluded)), zap.String("mode", string(mode)))
	return snap, nil
}

// fingerprint identifies the settings a snapshot depends on: base DN,
// scope and the requested attributes with their mapping.
func (s *Source) fingerprint(base string) string {
	h := sha256.New()
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(strings.ToLower(p)))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	write(base)
	write(s.opts.Scope.OrganizationalUnits...)
	write(s.opts.Scope.Groups...)
	for _, f := range directory.UserFields() {
		m := s.opts.Mapping.User[f]
		write(string(f), m.Source, string(m.Type))
	}
	for _, f := range []directory.GroupField{directory.FieldGroupName, directory.FieldGroupDescription} {
		m := s.opts.Mapping.Group[f]
		write(string(f), m.Source, string(m.Type))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (s *Source) baseDN(info *rootDSE) string {
	if s.opts.BaseDN != "" {
		return s.opts.BaseDN
	}
	return info.DefaultNC
}

func (s *Source) ouRoots() ([]*ldap.DN, error) {
	var out []*ldap.DN
	for _, ou := range s.opts.Scope.OrganizationalUnits {
		dn, err := ldap.ParseDN(ou)
		if err != nil {
			return nil, fmt.Errorf("parse organizational unit %q: %w", ou, err)
		}
		out = append(out, dn)
	}
	return out, nil
}

// inOUScope reports whether dn lies under one of the roots (always true
// without roots).
func inOUScope(roots []*ldap.DN, dn string) bool {
	_, ok := ouOf(roots, dn)
	return ok
}

// ouOf returns the index of the root dn lies under, and whether there is
// one; without roots every dn is in scope (under no particular root: -1).
func ouOf(roots []*ldap.DN, dn string) (int, bool) {
	if len(roots) == 0 {
		return -1, true
	}
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return -1, false
	}
	for i, r := range roots {
		if r.AncestorOfFold(parsed) || r.EqualFold(parsed) {
			return i, true
		}
	}
	return -1, false
}

// resolveScopeGroups turns Scope.Groups into group ExternalIDs. Values with
// '=' are DNs; others match cn or sAMAccountName. A value that matches no
// group is an error so that a typo never empties the scope.
func (s *Source) resolveScopeGroups(ctx context.Context, c *ldap.Conn, base string) ([]string, error) {
	var out []string
	for _, g := range s.opts.Scope.Groups {
		ids, err := s.resolveScopeGroup(ctx, c, base, g)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// resolveScopeGroup returns the ExternalIDs of the groups one group filter
// value names.
func (s *Source) resolveScopeGroup(ctx context.Context, c *ldap.Conn, base, g string) ([]string, error) {
	var out []string
	spec := searchSpec{base: base, scope: ldap.ScopeWholeSubtree, attrs: []string{"objectGUID"}}
	if strings.Contains(g, "=") {
		if _, err := ldap.ParseDN(g); err != nil {
			return nil, fmt.Errorf("scope group %q: %w", g, err)
		}
		spec.base, spec.scope, spec.filter = g, ldap.ScopeBaseObject, groupFilter
	} else {
		v := ldap.EscapeFilter(g)
		spec.filter = "(&" + groupFilter + "(|(cn=" + v + ")(sAMAccountName=" + v + ")))"
	}
	n := 0
	err := s.pagedSearch(ctx, c, spec, func(e *ldap.Entry) error {
		id, err := DecodeGUID(e.GetEqualFoldRawAttributeValue("objectGUID"))
		if err != nil {
			return fmt.Errorf("scope group %q: %w", g, err)
		}
		out = append(out, id)
		n++
		return nil
	})
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, fmt.Errorf("resolve scope group %q: %w", g, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("resolve scope group %q: %w", g, ErrScopeGroupNotFound)
	}
	return out, nil
}

// reader accumulates decoded objects of one read.
type reader struct {
	s   *Source
	c   *ldap.Conn
	ous []*ldap.DN
	// users are the in-scope users in the order read (Build sorts them and
	// drops an id read twice through overlapping bases).
	users  []directory.User
	groups map[string]directory.Group
	links  map[string]directory.Links
	// pending holds, per group, DNs of members that came without a GUID.
	pending map[string][]string
	seen    map[string]bool // every ExternalID returned, in scope or not
	// ids holds one copy of every object id read (users, groups, members),
	// so member lists share them.
	ids map[string]string
}

// intern returns the shared copy of id, making one if needed.
func (r *reader) intern(id string) string {
	if c, ok := r.ids[id]; ok {
		return c
	}
	c := strings.Clone(id)
	r.ids[c] = c
	return c
}

func newReader(s *Source, c *ldap.Conn, ous []*ldap.DN) *reader {
	return &reader{s: s, c: c, ous: ous, groups: map[string]directory.Group{},
		links: map[string]directory.Links{}, pending: map[string][]string{}, seen: map[string]bool{}, ids: map[string]string{}}
}

func (r *reader) readUsers(ctx context.Context, base, filter string) error {
	spec := searchSpec{base: base, scope: ldap.ScopeWholeSubtree, filter: filter, attrs: r.s.userAttrs(),
		controls: []ldap.Control{extendedDNControl{}}}
	first := len(r.users)
	err := r.s.pagedSearch(ctx, r.c, spec, func(e *ldap.Entry) error {
		u, system, err := r.s.decodeUser(e)
		if err != nil {
			return err
		}
		r.seen[u.ExternalID] = true
		r.ids[u.ExternalID] = u.ExternalID
		if system || !inOUScope(r.ous, u.DN) {
			return nil
		}
		r.users = append(r.users, u)
		return nil
	})
	if err != nil {
		return err
	}
	return r.s.refineLockout(ctx, r.c, r.users[first:])
}

func (r *reader) readGroups(ctx context.Context, base, filter string) error {
	spec := searchSpec{base: base, scope: ldap.ScopeWholeSubtree, filter: filter, attrs: r.s.groupAttrs(),
		controls: []ldap.Control{extendedDNControl{}}, rangedAttr: "member"}
	return r.s.pagedSearch(ctx, r.c, spec, func(e *ldap.Entry) error {
		d, err := r.s.decodeGroup(e, r.intern)
		if err != nil {
			return err
		}
		id := d.group.ExternalID
		r.seen[id] = true
		if _, ok := r.ids[id]; !ok {
			r.ids[id] = id
		}
		inScope := !d.critical && inOUScope(r.ous, d.group.DN)
		r.links[id] = directory.Links{GroupID: id, RID: d.group.RID, InScope: inScope, Direct: d.members}
		if len(d.unresolved) > 0 {
			r.pending[id] = d.unresolved
		}
		if inScope {
			r.groups[id] = d.group
		}
		return nil
	})
}

// resolveMembers resolves member DNs that came without a GUID (servers that
// ignore the extended DN control) with one base search per distinct DN.
func (r *reader) resolveMembers(ctx context.Context) error {
	if len(r.pending) > 0 {
		r.s.log.Debug("resolving member DNs without GUID", zap.Int("groups", len(r.pending)))
	}
	cache := map[string]string{}
	for gid, dns := range r.pending {
		l := r.links[gid]
		for _, dn := range dns {
			key := strings.ToLower(dn)
			guid, ok := cache[key]
			if !ok {
				req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
					"(objectClass=*)", []string{"objectGUID"}, nil)
				res, err := r.c.Search(req)
				switch {
				case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
				case err != nil:
					r.s.invalidate(r.c, err)
					return fmt.Errorf("resolve member %s: %w", dn, err)
				case len(res.Entries) == 1:
					if guid, err = DecodeGUID(res.Entries[0].GetEqualFoldRawAttributeValue("objectGUID")); err != nil {
						return fmt.Errorf("resolve member %s: %w", dn, err)
					}
				}
				cache[key] = guid
			}
			if guid != "" {
				l.Direct = append(l.Direct, guid)
			}
		}
		r.links[gid] = l
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("resolve members: %w", err)
		}
	}
	r.pending = map[string][]string{}
	return nil
}

// candidates resolves pending members and returns the read objects, with
// member strings shared with the users' ExternalIDs.
func (r *reader) candidates(ctx context.Context) (directory.Candidates, error) {
	if err := r.resolveMembers(ctx); err != nil {
		return directory.Candidates{}, err
	}
	c := directory.Candidates{Users: r.users}
	r.users = nil
	for _, g := range r.groups {
		c.Groups = append(c.Groups, g)
	}
	for _, l := range r.links {
		slices.Sort(l.Direct)
		l.Direct = slices.Compact(l.Direct)
		c.Links = append(c.Links, l)
	}
	return c, nil
}
