package agent

import (
	"regexp"
	"strconv"
	"strings"
)

// groupNamePattern is what Identity Hub accepts as a group name.
var groupNamePattern = regexp.MustCompile(`^[a-zA-Z]([-a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$`)

const maxGroupName = 63

// ValidGroupName reports whether name is accepted by Identity Hub as is.
func ValidGroupName(name string) bool { return groupNamePattern.MatchString(name) }

// SanitizeGroupName maps a directory group name to one Identity Hub accepts:
//
//  0. Cyrillic letters are transliterated to Latin (TransliterateCyrillic,
//     ICAO Doc 9303);
//  1. every character other than an ASCII letter, digit, '.', '_' or '-'
//     becomes '-', and runs of '-' collapse to one;
//  2. leading characters up to the first ASCII letter are dropped;
//  3. the result is cut to 63 characters and trailing characters other than
//     letters and digits are dropped.
//
// It returns "" when nothing usable is left; the caller then names the
// group after its external id. Valid names come back unchanged.
func SanitizeGroupName(name string) string {
	if ValidGroupName(name) {
		return name
	}
	name = TransliterateCyrillic(name)
	var b strings.Builder
	b.Grow(len(name))
	lastDash := false
	for _, r := range name {
		ok := r < 0x80 && (isASCIILetter(byte(r)) || isASCIIDigit(byte(r)) || r == '.' || r == '_' || r == '-')
		if !ok || r == '-' {
			if !lastDash {
				b.WriteByte('-')
			}
			lastDash = true
			continue
		}
		b.WriteRune(r)
		lastDash = false
	}
	s := b.String()
	for len(s) > 0 && !isASCIILetter(s[0]) {
		s = s[1:]
	}
	if len(s) > maxGroupName {
		s = s[:maxGroupName]
	}
	return trimTail(s)
}

func trimTail(s string) string {
	for len(s) > 0 && !isASCIILetter(s[len(s)-1]) && !isASCIIDigit(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// suffixedGroupName appends the first eight hex digits of the external id,
// shortening base so the result stays within the limit.
func suffixedGroupName(base, externalID string) string {
	hex := strings.ReplaceAll(externalID, "-", "")
	if len(hex) > 8 {
		hex = hex[:8]
	}
	if base == "" {
		return "group-" + hex
	}
	if len(base)+1+len(hex) > maxGroupName {
		base = trimTail(base[:maxGroupName-1-len(hex)])
	}
	return base + "-" + hex
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isASCIIDigit(c byte) bool  { return c >= '0' && c <= '9' }

// groupNameCandidate is one group taking part in name assignment.
type groupNameCandidate struct {
	ExternalID string
	Original   string
	// Current is the name the group already has in the pool, if any.
	Current string
	// Override is the name sync_settings.group_name_overrides gives the
	// group, if any.
	Override string
}

// keptGroupName returns the name a group already in the pool keeps: its
// current name when that is still one idsync would derive from the group's
// directory name (the sanitized name, or it with the external id suffix,
// in the directory name's current letter case). It returns "" when the
// directory name changed since the pool name was given, or the group is not
// in the pool yet.
func keptGroupName(c groupNameCandidate) string {
	if c.Current == "" {
		return ""
	}
	base := SanitizeGroupName(c.Original)
	if base != "" && strings.EqualFold(c.Current, base) {
		return base
	}
	suffixed := suffixedGroupName(base, c.ExternalID)
	if strings.EqualFold(c.Current, suffixed) {
		return suffixed
	}
	if len(c.Current) > len(suffixed)+1 && strings.EqualFold(c.Current[:len(suffixed)+1], suffixed+"-") {
		if n, err := strconv.Atoi(c.Current[len(suffixed)+1:]); err == nil && n >= 2 {
			return suffixed + "-" + strconv.Itoa(n)
		}
	}
	return ""
}

// assignGroupNames gives every group a distinct valid name, deterministically.
//
// Names are stable: a group already in the pool keeps its name unless its
// directory name changed (see keptGroupName). held lists, in lower case,
// the names other groups hold in the pool (groups the plan does not
// touch); no group is given one of them.
//
// A group with an override gets that name first, whatever other groups
// hold or claim (two groups with one override: the lower external id).
//
// Every other group gets the sanitized form of its directory name unless
// that name is taken or another such group maps to the same name (compared
// case-insensitively, as the API compares them); then the name goes, in
// order of preference, to the group whose directory name is already valid,
// and to the lowest external id. Every other group gets the first eight hex
// digits of its external id appended.
func assignGroupNames(groups []groupNameCandidate, held map[string]bool) map[string]string {
	out := make(map[string]string, len(groups))
	taken := make(map[string]bool, len(groups)+len(held))
	for name := range held {
		taken[name] = true
	}
	var rest []groupNameCandidate
	for _, g := range groups {
		if g.Override != "" && !taken[strings.ToLower(g.Override)] {
			out[g.ExternalID] = g.Override
			taken[strings.ToLower(g.Override)] = true
		}
	}
	var losers []groupNameCandidate
	for _, g := range groups {
		switch {
		case out[g.ExternalID] != "":
			continue
		case g.Override != "":
			losers = append(losers, g)
			continue
		}
		if name := keptGroupName(g); name != "" && !taken[strings.ToLower(name)] {
			out[g.ExternalID] = name
			taken[strings.ToLower(name)] = true
			continue
		}
		rest = append(rest, g)
	}
	byName := make(map[string][]groupNameCandidate)
	var order []string
	for _, g := range rest {
		key := strings.ToLower(SanitizeGroupName(g.Original))
		if _, seen := byName[key]; !seen {
			order = append(order, key)
		}
		byName[key] = append(byName[key], g)
	}
	for _, key := range order {
		cands := byName[key]
		base := SanitizeGroupName(cands[0].Original)
		if key == "" || taken[key] {
			losers = append(losers, cands...)
			continue
		}
		win := 0
		for i := 1; i < len(cands); i++ {
			if betterClaim(cands[i], cands[win], base) {
				win = i
			}
		}
		out[cands[win].ExternalID] = SanitizeGroupName(cands[win].Original)
		taken[key] = true
		for i, c := range cands {
			if i != win {
				losers = append(losers, c)
			}
		}
	}
	for _, c := range losers {
		base := SanitizeGroupName(c.Original)
		if c.Override != "" {
			base = c.Override
		}
		name := suffixedGroupName(base, c.ExternalID)
		// A suffixed name can only collide with another group whose own
		// name ends in the same eight hex digits; extend until free.
		for n := 2; taken[strings.ToLower(name)]; n++ {
			name = suffixedGroupName(base, c.ExternalID) + "-" + strconv.Itoa(n)
		}
		taken[strings.ToLower(name)] = true
		out[c.ExternalID] = name
	}
	return out
}

// betterClaim reports whether a has a better claim than b to the name base.
func betterClaim(a, b groupNameCandidate, base string) bool {
	av, bv := ValidGroupName(a.Original), ValidGroupName(b.Original)
	if av != bv {
		return av
	}
	ah, bh := strings.EqualFold(a.Current, base), strings.EqualFold(b.Current, base)
	if ah != bh {
		return ah
	}
	return a.ExternalID < b.ExternalID
}
