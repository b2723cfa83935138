package validation

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// domain says how the bounds of a spec and the values checked against it
// are read.
type domain int

const (
	domInt      domain = iota // counts, lengths and integer fields
	domFloat                  // float and double fields
	domDuration               // google.protobuf.Duration, bounds like "5m", "8760h"
	domTime                   // google.protobuf.Timestamp, bounds like "19700101T000000.000000000"
)

// timeLayout is the layout of timestamp bounds in the annotations.
const timeLayout = "20060102T150405.000000000"

// num is one value of a domain. Integer-like domains use i (durations and
// timestamps in nanoseconds, saturated); over marks a value above every
// int64, which only a uint64 field or a far-future timestamp can produce.
type num struct {
	i    int64
	f    float64
	over bool
}

// op is the comparison a single alternative of a spec makes.
type op int

const (
	opLE    op = iota // "<=N"
	opGE              // ">=N"
	opLT              // "<N"
	opGT              // ">N"
	opEq              // "N"
	opRange           // "N-M", both ends included
)

// alt is one comma-separated alternative of a spec.
type alt struct {
	op             op
	lo, hi         num // opRange uses both; the others use lo
	loText, hiText string
}

// spec is a parsed size, length, bytes or value annotation: a comma
// separated list of alternatives ("<=50", "1-256", "0,8,16", ">=24h",
// "-1-100"); a value is allowed if any alternative allows it.
type spec struct {
	text string
	dom  domain
	alts []alt
}

var errEmptySpec = errors.New("empty spec")

// parseSpec parses text as a spec whose bounds belong to dom.
func parseSpec(text string, dom domain) (*spec, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errEmptySpec
	}
	s := &spec{text: text, dom: dom}
	for _, part := range strings.Split(text, ",") {
		a, err := parseAlt(strings.TrimSpace(part), dom)
		if err != nil {
			return nil, fmt.Errorf("parse spec %q: %w", text, err)
		}
		s.alts = append(s.alts, a)
	}
	return s, nil
}

func parseAlt(part string, dom domain) (alt, error) {
	for _, p := range []struct {
		prefix string
		op     op
	}{{"<=", opLE}, {">=", opGE}, {"<", opLT}, {">", opGT}} {
		if rest, ok := strings.CutPrefix(part, p.prefix); ok {
			n, err := parseNum(rest, dom)
			return alt{op: p.op, lo: n, loText: rest}, err
		}
	}
	// A range separator is a '-' after the first character, so that a
	// negative lower bound ("-1-100") and a lone negative number parse.
	if i := rangeSep(part); i > 0 {
		loText, hiText := part[:i], part[i+1:]
		lo, err := parseNum(loText, dom)
		if err != nil {
			return alt{}, err
		}
		hi, err := parseNum(hiText, dom)
		if err != nil {
			return alt{}, err
		}
		if compare(lo, hi, dom) > 0 {
			return alt{}, fmt.Errorf("range %q: lower bound above upper bound", part)
		}
		return alt{op: opRange, lo: lo, hi: hi, loText: loText, hiText: hiText}, nil
	}
	n, err := parseNum(part, dom)
	return alt{op: opEq, lo: n, loText: part}, err
}

// rangeSep returns the index of the '-' separating the bounds of a range,
// or -1. It skips a leading minus sign.
func rangeSep(part string) int {
	if len(part) < 2 {
		return -1
	}
	i := strings.IndexByte(part[1:], '-')
	if i < 0 {
		return -1
	}
	return i + 1
}

func parseNum(text string, dom domain) (num, error) {
	switch dom {
	case domFloat:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return num{}, fmt.Errorf("parse float bound: %w", err)
		}
		return num{f: f}, nil
	case domDuration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return num{}, fmt.Errorf("parse duration bound: %w", err)
		}
		return num{i: int64(d)}, nil
	case domTime:
		t, err := time.Parse(timeLayout, text)
		if err != nil {
			return num{}, fmt.Errorf("parse timestamp bound: %w", err)
		}
		return nanos(t.Unix(), int64(t.Nanosecond())), nil
	default:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return num{}, fmt.Errorf("parse integer bound: %w", err)
		}
		return num{i: i}, nil
	}
}

// nanos converts seconds and nanoseconds to a num, saturating instead of
// overflowing.
func nanos(sec, nsec int64) num {
	const maxSec = math.MaxInt64/int64(time.Second) - 1
	switch {
	case sec > maxSec:
		return num{i: math.MaxInt64, over: true}
	case sec < -maxSec:
		return num{i: math.MinInt64}
	}
	return num{i: sec*int64(time.Second) + nsec}
}

// compare returns -1, 0 or +1 as a is below, equal to or above b.
func compare(a, b num, dom domain) int {
	if dom == domFloat {
		switch {
		case a.f < b.f:
			return -1
		case a.f > b.f:
			return 1
		}
		return 0
	}
	switch {
	case a.over && b.over:
		return 0
	case a.over:
		return 1
	case b.over:
		return -1
	case a.i < b.i:
		return -1
	case a.i > b.i:
		return 1
	}
	return 0
}

// allows reports whether v satisfies any alternative of s.
func (s *spec) allows(v num) bool {
	for _, a := range s.alts {
		c := compare(v, a.lo, s.dom)
		var ok bool
		switch a.op {
		case opLE:
			ok = c <= 0
		case opGE:
			ok = c >= 0
		case opLT:
			ok = c < 0
		case opGT:
			ok = c > 0
		case opEq:
			ok = c == 0
		case opRange:
			ok = c >= 0 && compare(v, a.hi, s.dom) <= 0
		}
		if ok {
			return true
		}
	}
	return false
}

// allowsInt is allows for a count or a length.
func (s *spec) allowsInt(n int) bool { return s.allows(num{i: int64(n)}) }

// describe renders s for an error message: "at most 50", "between 1 and
// 256", "one of 0, 8, 16".
func (s *spec) describe() string {
	allEq := true
	for _, a := range s.alts {
		allEq = allEq && a.op == opEq
	}
	if allEq && len(s.alts) > 1 {
		texts := make([]string, len(s.alts))
		for i, a := range s.alts {
			texts[i] = a.loText
		}
		return "one of " + strings.Join(texts, ", ")
	}
	parts := make([]string, len(s.alts))
	for i, a := range s.alts {
		switch a.op {
		case opLE:
			parts[i] = "at most " + a.loText
		case opGE:
			parts[i] = "at least " + a.loText
		case opLT:
			parts[i] = "less than " + a.loText
		case opGT:
			parts[i] = "greater than " + a.loText
		case opEq:
			parts[i] = "exactly " + a.loText
		case opRange:
			parts[i] = "between " + a.loText + " and " + a.hiText
		}
	}
	return strings.Join(parts, " or ")
}
