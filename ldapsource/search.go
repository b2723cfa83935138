package ldapsource

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
)

// oidExtendedDN is the LDAP_SERVER_EXTENDED_DN_OID control.
const oidExtendedDN = "1.2.840.113556.1.4.529"

// extendedDNControl asks for DN values in the <GUID=…>;<SID=…>;dn form with
// the GUID as canonical text (flag 1), so member values carry their objectGUID.
type extendedDNControl struct{}

func (extendedDNControl) GetControlType() string { return oidExtendedDN }

func (extendedDNControl) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, oidExtendedDN, "Control Type"))
	val := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value")
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "ExtendedDnFlag")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "Flag"))
	val.AppendChild(seq)
	p.AppendChild(val)
	return p
}

func (extendedDNControl) String() string { return "Control Type: Extended DN (flag 1)" }

// splitExtendedDN splits "<GUID=g>;<SID=s>;CN=x,…" into g and the plain DN.
// A value without the prefix is returned as the DN with an empty GUID.
func splitExtendedDN(v string) (guid, dn string) {
	for strings.HasPrefix(v, "<") {
		end := strings.Index(v, ">")
		if end < 0 {
			return guid, v
		}
		part := v[1:end]
		if k, val, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "GUID") {
			guid = strings.ToLower(val)
			if len(guid) == 32 { // flag 0 form: raw bytes in hex
				if b, err := hexGUID(guid); err == nil {
					guid = b
				}
			}
		}
		v = strings.TrimPrefix(v[end+1:], ";")
	}
	return guid, v
}

func hexGUID(h string) (string, error) {
	b := make([]byte, 16)
	for i := range b {
		x, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return "", fmt.Errorf("parse extended DN GUID: %w", err)
		}
		b[i] = byte(x)
	}
	return DecodeGUID(b)
}

// searchSpec is one paged search.
type searchSpec struct {
	base     string
	scope    int
	filter   string
	attrs    []string
	controls []ldap.Control
	// rangedAttr names a multi-valued attribute (member) that must be read
	// in full with ranged retrieval when the server returns a range.
	rangedAttr string
}

// pagedSearch streams every entry of spec to fn as it arrives. Entries
// whose ranged attribute needs more requests are kept until their page is
// done (the connection is busy with the page until then); every other entry
// is handed over at once, so the raw response packets it references can be
// freed right away instead of a whole page of them staying alive. Any
// error, a non-success result or a cut connection fails the whole search.
func (s *Source) pagedSearch(ctx context.Context, c *ldap.Conn, spec searchSpec, fn func(*ldap.Entry) error) error {
	pc := ldap.NewControlPaging(s.opts.PageSize)
	controls := append([]ldap.Control{pc}, spec.controls...)
	req := ldap.NewSearchRequest(spec.base, spec.scope, ldap.NeverDerefAliases, 0, int(s.opts.Timeout.Seconds()), false,
		spec.filter, spec.attrs, controls)
	pages := 0
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("search %s: %w", spec.base, err)
		}
		var ranged []*ldap.Entry
		var cookie []byte
		var referrals int
		var fnErr error
		var entries int64
		r := c.SearchAsync(ctx, req, 64)
		for r.Next() {
			if e := r.Entry(); e != nil {
				entries++
				switch {
				case fnErr != nil:
					// Drain the page so the connection stays usable.
				case spec.rangedAttr != "" && hasRange(e, spec.rangedAttr):
					ranged = append(ranged, e)
				default:
					fnErr = fn(e)
				}
				continue
			}
			if ref := r.Referral(); ref != "" {
				referrals++
				s.log.Debug("ignoring search reference", zap.String("ref", ref))
				continue
			}
			if p, ok := ldap.FindControl(r.Controls(), ldap.ControlTypePaging).(*ldap.ControlPaging); ok {
				cookie = p.Cookie
			}
		}
		if err := r.Err(); err != nil {
			s.invalidate(c, err)
			return fmt.Errorf("search %s (page %d): %w", spec.base, pages+1, err)
		}
		if err := ctx.Err(); err != nil {
			// SearchAsync stops silently on cancellation.
			return fmt.Errorf("search %s: %w", spec.base, err)
		}
		if fnErr != nil {
			return fnErr
		}
		pages++
		s.pageRead(entries)
		for _, e := range ranged {
			if err := s.completeRanged(ctx, c, e, spec.rangedAttr, spec.controls); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(cookie) == 0 {
			return nil
		}
		pc.SetCookie(cookie)
	}
}

// hasRange reports whether e carries attr as a range (member;range=0-1499),
// which completeRanged turns into the plain attribute.
func hasRange(e *ldap.Entry, attr string) bool {
	for _, a := range e.Attributes {
		if _, ok := parseRange(a.Name, attr); ok {
			return true
		}
	}
	return false
}

// parseRange parses "member;range=0-1499" into its end ("1499" or "*").
func parseRange(attrName, base string) (end string, ok bool) {
	lower := strings.ToLower(attrName)
	prefix := strings.ToLower(base) + ";range="
	if !strings.HasPrefix(lower, prefix) {
		return "", false
	}
	_, end, ok = strings.Cut(attrName[len(prefix):], "-")
	return end, ok
}

// completeRanged replaces a ranged attribute of e (member;range=0-1499) with
// the full value list, fetching further ranges with base searches until the
// server returns a range ending in "*".
func (s *Source) completeRanged(ctx context.Context, c *ldap.Conn, e *ldap.Entry, attr string, controls []ldap.Control) error {
	idx := -1
	var end string
	for i, a := range e.Attributes {
		if en, ok := parseRange(a.Name, attr); ok {
			idx, end = i, en
			break
		}
	}
	if idx < 0 {
		return nil
	}
	values := e.Attributes[idx].Values
	for end != "*" {
		n, err := strconv.Atoi(end)
		if err != nil {
			return fmt.Errorf("read %s of %s: bad range end %q", attr, e.DN, end)
		}
		next := fmt.Sprintf("%s;range=%d-*", attr, n+1)
		_, plain := splitExtendedDN(e.DN)
		req := ldap.NewSearchRequest(plain, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, int(s.opts.Timeout.Seconds()), false,
			"(objectClass=*)", []string{next}, controls)
		res, err := c.Search(req)
		if err != nil {
			s.invalidate(c, err)
			return fmt.Errorf("read %s of %s from %d: %w", attr, plain, n+1, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s of %s: %w", attr, plain, err)
		}
		if len(res.Entries) != 1 {
			return fmt.Errorf("read %s of %s from %d: got %d entries", attr, plain, n+1, len(res.Entries))
		}
		found := false
		for _, a := range res.Entries[0].Attributes {
			if en, ok := parseRange(a.Name, attr); ok {
				values = append(values, a.Values...)
				end, found = en, true
				break
			}
		}
		if !found {
			return fmt.Errorf("read %s of %s from %d: server returned no range", attr, plain, n+1)
		}
	}
	e.Attributes[idx] = &ldap.EntryAttribute{Name: attr, Values: values}
	return nil
}

// rootDSE is what the source reads from the root DSE and NTDS Settings.
type rootDSE struct {
	DNSHostName     string
	DefaultNC       string
	ConfigNC        string
	DSServiceName   string
	HighestUSN      int64
	InvocationID    string
	TombstoneLifeDs int
}

// readRootDSE reads the DC identity: host, naming contexts, highest
// committed USN and invocationId.
func (s *Source) readRootDSE(ctx context.Context, c *ldap.Conn) (*rootDSE, error) {
	req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)",
		[]string{"dnsHostName", "defaultNamingContext", "configurationNamingContext", "dsServiceName", "highestCommittedUSN"}, nil)
	res, err := c.Search(req)
	if err != nil {
		s.invalidate(c, err)
		return nil, fmt.Errorf("read rootDSE: %w", err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("read rootDSE: got %d entries", len(res.Entries))
	}
	e := res.Entries[0]
	r := &rootDSE{
		DNSHostName:   e.GetEqualFoldAttributeValue("dnsHostName"),
		DefaultNC:     e.GetEqualFoldAttributeValue("defaultNamingContext"),
		ConfigNC:      e.GetEqualFoldAttributeValue("configurationNamingContext"),
		DSServiceName: e.GetEqualFoldAttributeValue("dsServiceName"),
	}
	if v := e.GetEqualFoldAttributeValue("highestCommittedUSN"); v != "" {
		if r.HighestUSN, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, fmt.Errorf("read rootDSE: highestCommittedUSN %q: %w", v, err)
		}
	}
	if r.DSServiceName != "" {
		_, svc := splitExtendedDN(r.DSServiceName)
		req := ldap.NewSearchRequest(svc, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)",
			[]string{"invocationId"}, nil)
		res, err := c.Search(req)
		if err != nil {
			s.invalidate(c, err)
			return nil, fmt.Errorf("read invocationId: %w", err)
		}
		if len(res.Entries) == 1 {
			if raw := res.Entries[0].GetEqualFoldRawAttributeValue("invocationId"); len(raw) == 16 {
				r.InvocationID, _ = DecodeGUID(raw)
			}
		}
	}
	if r.InvocationID == "" {
		return nil, fmt.Errorf("read invocationId of %s: not returned", r.DSServiceName)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("read rootDSE: %w", ctx.Err())
	}
	return r, nil
}

// tombstoneLifetimeDays reads the forest's tombstoneLifetime; when unset AD
// uses 60 days (forests created before Windows Server 2003 SP1), the
// conservative choice.
func (s *Source) tombstoneLifetimeDays(c *ldap.Conn, configNC string) (int, error) {
	base := "CN=Directory Service,CN=Windows NT,CN=Services," + configNC
	req := ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)",
		[]string{"tombstoneLifetime"}, nil)
	res, err := c.Search(req)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return 60, nil
		}
		s.invalidate(c, err)
		return 0, fmt.Errorf("read tombstoneLifetime: %w", err)
	}
	if len(res.Entries) == 1 {
		if v := res.Entries[0].GetEqualFoldAttributeValue("tombstoneLifetime"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("read tombstoneLifetime: bad value %q", v)
			}
			return n, nil
		}
	}
	return 60, nil
}
