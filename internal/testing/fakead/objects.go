package fakead

import (
	"strconv"
	"strings"
)

// Add stores an object; attrs hold string values (binary values as raw
// strings, see GUIDBytes and SIDBytes). uSNCreated and uSNChanged are set.
func (s *Server) Add(dn string, attrs map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &entry{dn: dn, attrs: map[string]*attr{}}
	for k, v := range attrs {
		e.set(k, v)
	}
	e.set("distinguishedName", []string{dn})
	s.usn++
	e.set("uSNCreated", []string{strconv.FormatInt(s.usn, 10)})
	e.set("uSNChanged", []string{strconv.FormatInt(s.usn, 10)})
	e.stamp(s.usn)
	s.entries = append(s.entries, e)
	s.byDN[strings.ToLower(dn)] = e
}

func (s *Server) find(dn string) *entry {
	if e, ok := s.byDN[strings.ToLower(dn)]; ok && !e.deleted {
		return e
	}
	return nil
}

func (s *Server) touch(e *entry) {
	s.usn++
	e.set("uSNChanged", []string{strconv.FormatInt(s.usn, 10)})
	e.stamp(s.usn)
}

// Modify replaces attributes of dn (an empty value list removes one).
func (s *Server) Modify(dn string, attrs map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(dn)
	if e == nil {
		panic("fakead: modify of missing " + dn)
	}
	for k, v := range attrs {
		if len(v) == 0 {
			e.remove(k)
			continue
		}
		e.set(k, v)
	}
	s.touch(e)
}

// AddMember and RemoveMember change a group's member values.
func (s *Server) AddMember(group, member string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(group)
	e.set("member", append(append([]string(nil), e.get("member")...), member))
	s.touch(e)
}

// Members returns a group's member values.
func (s *Server) Members(group string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.find(group).get("member")...)
}

// RemoveMember removes member from group.
func (s *Server) RemoveMember(group, member string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(group)
	var out []string
	for _, m := range e.get("member") {
		if !strings.EqualFold(m, member) {
			out = append(out, m)
		}
	}
	e.set("member", out)
	s.touch(e)
}

// Rename moves dn to newDN; member values pointing at it follow, without
// changing the groups' uSNChanged (links are stored by object, as in AD).
func (s *Server) Rename(dn, newDN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(dn)
	delete(s.byDN, strings.ToLower(dn))
	s.byDN[strings.ToLower(newDN)] = e
	e.dn = newDN
	e.set("distinguishedName", []string{newDN})
	// AD records a rename or a move as a change of name.
	rdn, _, _ := strings.Cut(newDN, ",")
	_, value, _ := strings.Cut(rdn, "=")
	e.set("name", []string{value})
	s.relink(dn, newDN)
	s.touch(e)
}

func (s *Server) relink(from, to string) {
	for _, g := range s.entries {
		vals := g.get("member")
		var out []string
		for _, m := range vals {
			switch {
			case !strings.EqualFold(m, from):
				out = append(out, m)
			case to != "":
				out = append(out, to)
			}
		}
		if len(vals) > 0 {
			// The values follow the object; the group's member did not
			// change (no stamp, as no uSNChanged).
			g.attrs["member"] = &attr{name: "member", values: out}
		}
	}
}

// Delete turns dn into a tombstone under CN=Deleted Objects, keeping the
// attributes AD preserves, and removes it from groups.
func (s *Server) Delete(dn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(dn)
	guid := guidText(strings.Join(e.get("objectGUID"), ""))
	rdn, _, _ := strings.Cut(dn, ",")
	tomb := &entry{dn: rdn + `\0ADEL:` + guid + ",CN=Deleted Objects," + s.opts.BaseDN, attrs: map[string]*attr{}, deleted: true}
	for _, k := range []string{"objectGUID", "objectSid", "sAMAccountName", "objectClass"} {
		if v := e.get(k); v != nil {
			tomb.set(k, v)
		}
	}
	tomb.set("isDeleted", []string{"TRUE"})
	for i, x := range s.entries {
		if x == e {
			s.entries = append(s.entries[:i], s.entries[i+1:]...)
			break
		}
	}
	delete(s.byDN, strings.ToLower(dn))
	s.relink(dn, "")
	s.usn++
	tomb.set("uSNChanged", []string{strconv.FormatInt(s.usn, 10)})
	tomb.stamp(s.usn)
	s.entries = append(s.entries, tomb)
}
