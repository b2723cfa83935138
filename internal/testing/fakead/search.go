package fakead

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"github.com/jimlambrt/gldap"
)

const (
	oidDirSync    = "1.2.840.113556.1.4.841"
	oidExtendedDN = "1.2.840.113556.1.4.529"
)

type searchCtx struct {
	paging      *gldap.ControlPaging
	dirSync     *gldap.ControlString
	showDeleted bool
	extendedDN  bool
}

func (s *Server) handleSearch(w *gldap.ResponseWriter, r *gldap.Request) {
	s.Searches.Add(1)
	m, err := r.GetSearchMessage()
	if err != nil {
		_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultProtocolError)))
		return
	}
	var sc searchCtx
	for _, c := range m.Controls {
		switch c := c.(type) {
		case *gldap.ControlPaging:
			sc.paging = c
		case *gldap.ControlMicrosoftShowDeleted:
			sc.showDeleted = true
		case *gldap.ControlString:
			switch c.ControlType {
			case oidDirSync:
				sc.dirSync = c
			case oidExtendedDN:
				sc.extendedDN = !s.opts.IgnoreExtendedDN
			}
		}
	}
	if m.BaseDN == "" && m.Scope == gldap.BaseObject {
		s.rootDSE(w, r, m)
		return
	}
	filter, err := ldap.CompileFilter(m.Filter)
	if err != nil {
		_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultProtocolError),
			gldap.WithDiagnosticMessage("bad filter: "+err.Error())))
		return
	}
	if sc.dirSync != nil {
		s.dirSync(w, r, m, sc, filter)
		return
	}
	s.mu.Lock()
	var matches []*entry
	baseFound := false
	for _, e := range s.entries {
		if inScope(m.BaseDN, e.dn, m.Scope) {
			baseFound = true
		}
		if e.deleted && !sc.showDeleted {
			continue
		}
		if inScope(m.BaseDN, e.dn, m.Scope) && matchFilter(filter, e) {
			matches = append(matches, e)
		}
	}
	failPage, failCode, refs := s.failPage, s.failCode, s.referrals
	s.mu.Unlock()
	if !baseFound && m.Scope == gldap.BaseObject {
		_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultNoSuchObject)))
		return
	}
	offset, size, page := 0, len(matches), 1
	if sc.paging != nil {
		if len(sc.paging.Cookie) > 0 {
			offset, _ = strconv.Atoi(string(sc.paging.Cookie))
		}
		if sc.paging.PagingSize > 0 {
			size = int(sc.paging.PagingSize)
			page = offset/size + 1
		}
		if failPage > 0 && page == failPage {
			_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(failCode),
				gldap.WithDiagnosticMessage("injected failure")))
			return
		}
	}
	end := min(offset+size, len(matches))
	for _, e := range matches[offset:end] {
		_ = w.Write(s.render(r, e, m.Attributes, sc.extendedDN))
	}
	done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	if end == len(matches) && m.Scope == gldap.WholeSubtree {
		for _, u := range refs {
			_ = w.Write(r.NewSearchResponseEntry("ref:" + u))
		}
	}
	if sc.paging != nil {
		pc, _ := gldap.NewControlPaging(sc.paging.PagingSize)
		if end < len(matches) {
			pc.SetCookie([]byte(strconv.Itoa(end)))
		}
		done.SetControls(pc)
	}
	_ = w.Write(done)
}

func inScope(base, dn string, scope gldap.Scope) bool {
	b, d := strings.ToLower(base), strings.ToLower(dn)
	switch scope {
	case gldap.BaseObject:
		return b == d
	case gldap.SingleLevel:
		_, parent, _ := strings.Cut(d, ",")
		return parent == b
	default:
		return d == b || strings.HasSuffix(d, ","+b)
	}
}

// render builds the entry response with the requested attributes, applying
// forced ranges to member and the extended DN form when asked.
func (s *Server) render(r *gldap.Request, e *entry, want []string, extended bool) *gldap.SearchResponseEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := len(want) == 0 || (len(want) == 1 && want[0] == "*")
	out := map[string][]string{}
	for _, a := range e.attrs {
		if strings.EqualFold(a.name, "member") {
			continue
		}
		if all || contains(want, a.name) {
			out[a.name] = a.values
		}
	}
	members := e.get("member")
	if extended {
		ext := make([]string, len(members))
		for i, m := range members {
			ext[i] = s.extendedDN(m)
		}
		members = ext
	}
	for _, w := range append(want, "member") {
		name, start, ranged := parseRangeReq(w)
		if !strings.EqualFold(name, "member") || len(members) == 0 || (!all && !contains(want, w)) {
			continue
		}
		if !ranged && s.opts.MaxValRange == 0 {
			out["member"] = members
			break
		}
		n := s.opts.MaxValRange
		if n == 0 {
			n = len(members)
		}
		if start > len(members) {
			start = len(members)
		}
		stop := min(start+n, len(members))
		label := strconv.Itoa(stop - 1)
		if stop == len(members) {
			label = "*"
		}
		if !ranged && stop == len(members) {
			out["member"] = members
		} else {
			out[fmt.Sprintf("member;range=%d-%s", start, label)] = members[start:stop]
		}
		break
	}
	dn := e.dn
	if extended {
		dn = s.extendedDN(dn)
	}
	return r.NewSearchResponseEntry(dn, gldap.WithAttributes(out))
}

// renderChanged renders e for DirSync as AD does: the attributes asked for
// (all with none) that changed after the USN since, an attribute removed
// since as one without values, with objectGUID and instanceType always; nil
// when none of those asked for changed. A tombstone is rendered whole.
func (s *Server) renderChanged(r *gldap.Request, e *entry, want []string, extended bool, since int64) *gldap.SearchResponseEntry {
	if e.deleted || e.changedAt == nil {
		return s.render(r, e, want, extended)
	}
	all := len(want) == 0 || (len(want) == 1 && want[0] == "*")
	names := []string{"objectGUID", "instanceType"}
	var cleared []string
	s.mu.Lock()
	for n, usn := range e.changedAt {
		if usn <= since || (!all && !contains(want, n)) || n == "usnchanged" || n == "usncreated" {
			continue
		}
		if a, ok := e.attrs[n]; ok {
			names = append(names, a.name)
		} else {
			cleared = append(cleared, n)
		}
	}
	s.mu.Unlock()
	if len(names) == 2 && len(cleared) == 0 {
		return nil
	}
	res := s.render(r, e, names, extended)
	for _, n := range cleared {
		res.AddAttribute(n, nil)
	}
	return res
}

func (s *Server) extendedDN(dn string) string {
	t := s.find(dn)
	if t == nil {
		return dn
	}
	v := "<GUID=" + guidText(strings.Join(t.get("objectGUID"), "")) + ">;"
	if sid := t.get("objectSid"); len(sid) > 0 {
		v += "<SID=S-x>;"
	}
	return v + dn
}

func parseRangeReq(w string) (name string, start int, ranged bool) {
	name, rest, ok := strings.Cut(w, ";range=")
	if !ok {
		return w, 0, false
	}
	from, _, _ := strings.Cut(rest, "-")
	start, _ = strconv.Atoi(from)
	return name, start, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (s *Server) rootDSE(w *gldap.ResponseWriter, r *gldap.Request, m *gldap.SearchMessage) {
	s.mu.Lock()
	cfg := "CN=Configuration," + s.opts.BaseDN
	attrs := map[string][]string{
		"dnsHostName":                {s.opts.Host},
		"defaultNamingContext":       {s.opts.BaseDN},
		"configurationNamingContext": {cfg},
		"dsServiceName":              {"CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites," + cfg},
		"highestCommittedUSN":        {strconv.FormatInt(s.usn, 10)},
	}
	ntds := s.find(attrs["dsServiceName"][0])
	ntds.set("invocationId", []string{GUIDBytes(s.invocationID)})
	s.mu.Unlock()
	_ = w.Write(r.NewSearchResponseEntry("", gldap.WithAttributes(attrs)))
	_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess)))
}

// dirSync answers one DirSync round: objects (live or tombstones) changed
// after the cookie's USN, at most DirSyncPageSize of them, with Flags=1 while
// more remain.
func (s *Server) dirSync(w *gldap.ResponseWriter, r *gldap.Request, m *gldap.SearchMessage, sc searchCtx, filter *ber.Packet) {
	s.DirSyncRounds.Add(1)
	if s.opts.DirSyncDenied {
		_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultInsufficientAccessRights),
			gldap.WithDiagnosticMessage("replicating directory changes right required")))
		return
	}
	if !strings.EqualFold(m.BaseDN, s.opts.BaseDN) {
		_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultUnwillingToPerform),
			gldap.WithDiagnosticMessage("dN is not one of the naming context")))
		return
	}
	var since int64
	if p, err := ber.DecodePacketErr([]byte(sc.dirSync.ControlValue)); err == nil && len(p.Children) == 3 {
		c := p.Children[2].Data.String()
		switch {
		case strings.HasPrefix(c, "usn:"):
			since, _ = strconv.ParseInt(strings.TrimPrefix(c, "usn:"), 10, 64)
		case c != "":
			// Like AD with a cookie it cannot use (corrupt, from another
			// domain, or too old).
			_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultUnwillingToPerform),
				gldap.WithDiagnosticMessage("00002024: SvcErr: DSID-03380D05, problem 5003 (WILL_NOT_PERFORM), the DirSync cookie is not valid")))
			return
		}
	}
	s.mu.Lock()
	var matches []*entry
	for _, e := range s.entries {
		u, _ := strconv.ParseInt(strings.Join(e.get("uSNChanged"), ""), 10, 64)
		if u > since && inScope(m.BaseDN, e.dn, gldap.WholeSubtree) && matchFilter(filter, e) {
			matches = append(matches, e)
		}
	}
	sort.SliceStable(matches, func(i, j int) bool {
		a, _ := strconv.ParseInt(strings.Join(matches[i].get("uSNChanged"), ""), 10, 64)
		b, _ := strconv.ParseInt(strings.Join(matches[j].get("uSNChanged"), ""), 10, 64)
		return a < b
	})
	next := s.usn
	more := false
	if n := s.opts.DirSyncPageSize; n > 0 && len(matches) > n {
		matches = matches[:n]
		next, _ = strconv.ParseInt(strings.Join(matches[n-1].get("uSNChanged"), ""), 10, 64)
		more = true
	}
	s.mu.Unlock()
	for _, e := range matches {
		if res := s.renderChanged(r, e, m.Attributes, sc.extendedDN, since); res != nil {
			_ = w.Write(res)
		}
	}
	flags := int64(0)
	if more {
		flags = 1
	}
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "DirSync")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, flags, "Flags"))
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), "MaxBytes"))
	seq.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "usn:"+strconv.FormatInt(next, 10), "Cookie"))
	ctrl, _ := gldap.NewControlString(oidDirSync, gldap.WithControlValue(string(seq.Bytes())))
	done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	done.SetControls(ctrl)
	_ = w.Write(done)
}
