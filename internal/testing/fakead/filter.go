package fakead

import (
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// matchFilter evaluates the small filter subset the fake understands:
// and, or, not, equality, >=, <= (numeric) and presence. Binary attributes
// (objectGUID, objectSid) compare exactly, others case-insensitively.
// Substring, approximate and extensible matches never match.
func matchFilter(f *ber.Packet, e *entry) bool {
	switch f.Tag {
	case ldap.FilterAnd:
		for _, c := range f.Children {
			if !matchFilter(c, e) {
				return false
			}
		}
		return true
	case ldap.FilterOr:
		for _, c := range f.Children {
			if matchFilter(c, e) {
				return true
			}
		}
		return false
	case ldap.FilterNot:
		return len(f.Children) == 1 && !matchFilter(f.Children[0], e)
	case ldap.FilterPresent:
		return len(e.get(f.Data.String())) > 0
	case ldap.FilterEqualityMatch, ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual:
		if len(f.Children) != 2 {
			return false
		}
		name := f.Children[0].Data.String()
		want := f.Children[1].Data.String()
		for _, v := range e.get(name) {
			if compare(f.Tag, name, v, want) {
				return true
			}
		}
		return false
	}
	return false
}

func compare(op ber.Tag, name, have, want string) bool {
	switch op {
	case ldap.FilterEqualityMatch:
		if isBinary(name) {
			return have == want
		}
		return strings.EqualFold(have, want)
	case ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual:
		h, err1 := strconv.ParseInt(have, 10, 64)
		w, err2 := strconv.ParseInt(want, 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if op == ldap.FilterGreaterOrEqual {
			return h >= w
		}
		return h <= w
	}
	return false
}

func isBinary(name string) bool {
	switch strings.ToLower(name) {
	case "objectguid", "objectsid", "invocationid":
		return true
	}
	return false
}
