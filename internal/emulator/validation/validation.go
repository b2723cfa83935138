// Package validation checks request messages against the yandex.cloud
// validation annotations (required, length, pattern, size, value, ...)
// carried in the go-genproto descriptors, the way the real API does.
//
// Check walks the message with protoreflect: its fields in field number
// order, nested messages, elements of repeated fields and map entries (in
// key order), and reports every violation found, each named by its full
// path in proto field names (progress_entries[0].change_info[1].count,
// labels["env"]). The rules of a message type are compiled once, on first
// use, and cached per descriptor; regular expressions are compiled once
// per pattern.
//
// Semantics of the options:
//
//   - required: the field holds a non-default value: a non-empty string or
//     bytes, a present message, a non-empty repeated field or map, a
//     non-zero enum (not *_UNSPECIFIED), number or bool.
//   - length: the number of characters (Unicode code points, not bytes) of
//     a string; bytes: its size in bytes.
//   - pattern: an RE2 expression that must match the whole string; it is
//     anchored as ^(?:pattern)$, which leaves patterns that already carry
//     anchors unchanged.
//   - value: the range of a number, an enum number, a
//     google.protobuf.Duration ("5m-8760h") or a google.protobuf.Timestamp
//     ("19700101T000000.000000000-21051231T235959.999999999").
//   - size: the number of elements of a repeated field or entries of a map.
//   - unique: the elements of a repeated field are pairwise distinct.
//   - map_key: length, pattern and value of each map key.
//   - exactly_one: a member of the oneof is set.
//
// Specs are comma-separated alternatives, each "<=N", ">=N", "<N", ">N",
// "N-M" (both ends included, N may be negative) or "N".
//
// A proto3 scalar without presence always has a value, so its checks also
// apply to the empty string and to zero: the annotations say so themselves,
// since the patterns of optional strings carry an explicit empty alternative
// ("|(.{3,254})" for an email, "|[a-z0-9A-Z\._-]{1,64}@.{1,256}" for a
// username in an update). A field with explicit presence (a message, a
// oneof member, a proto3 optional field) that is not set is checked only
// for required. For each value only the first failing check is reported,
// in the order required, size, unique, length, bytes, pattern, value,
// then the nested message.
package validation

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MaxViolations caps the violations one Check reports; the walk stops
// once it is reached.
const MaxViolations = 50

// errPrefix starts every violation message, like the real API's.
const errPrefix = "Request validation error: "

// Check validates m and returns nil or a gRPC status error: InvalidArgument
// whose message lists every violation as "path: description" (see the
// package documentation) and whose details hold an errdetails.BadRequest
// with one field violation each; Internal if an annotation on m's type
// cannot be compiled. A nil m is InvalidArgument.
func Check(m proto.Message) error {
	if m == nil {
		return status.Error(codes.InvalidArgument, errPrefix+"request is missing")
	}
	r := m.ProtoReflect()
	p, err := planFor(r.Descriptor())
	if err != nil {
		return status.Error(codes.Internal, "compile validation rules: "+err.Error())
	}
	if p.empty {
		return nil
	}
	c := checkers.Get().(*checker)
	c.message(p, r)
	if len(c.out) > 0 {
		err = c.status()
	}
	c.reset()
	checkers.Put(c)
	return err
}

// checkers recycles walk state so that a valid request costs no allocation.
var checkers = sync.Pool{New: func() any { return &checker{path: make([]seg, 0, 8)} }}

type violation struct {
	field, desc string
}

type segKind int

const (
	segField segKind = iota
	segIndex
	segKey
)

// seg is one step of the path to the value being checked.
type seg struct {
	kind  segKind
	name  protoreflect.Name
	index int
	key   protoreflect.MapKey
}

// checker walks one message; the path is rendered only for a violation.
type checker struct {
	path []seg
	out  []violation
	full bool
}

// reset empties c for reuse, dropping references into the last message.
func (c *checker) reset() {
	clear(c.path[:cap(c.path)])
	c.path = c.path[:0]
	c.out = nil
	c.full = false
}

func (c *checker) push(s seg) { c.path = append(c.path, s) }
func (c *checker) pop()       { c.path = c.path[:len(c.path)-1] }

func (c *checker) add(desc string) {
	if c.full {
		return
	}
	c.out = append(c.out, violation{field: c.render(), desc: desc})
	c.full = len(c.out) >= MaxViolations
}

func (c *checker) render() string {
	var b strings.Builder
	for i, s := range c.path {
		switch s.kind {
		case segField:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s.name))
		case segIndex:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		case segKey:
			if k, ok := s.key.Interface().(string); ok {
				b.WriteString("[" + strconv.Quote(k) + "]")
			} else {
				b.WriteString("[" + s.key.String() + "]")
			}
		}
	}
	return b.String()
}

func (c *checker) status() error {
	parts := make([]string, len(c.out))
	br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, len(c.out))}
	for i, v := range c.out {
		parts[i] = v.field + ": " + v.desc
		br.FieldViolations[i] = &errdetails.BadRequest_FieldViolation{Field: v.field, Description: v.desc}
	}
	msg := errPrefix + strings.Join(parts, "; ")
	if c.full {
		msg += "; further violations not reported"
	}
	st := status.New(codes.InvalidArgument, msg)
	if withDetails, err := st.WithDetails(br); err == nil {
		st = withDetails
	}
	return st.Err()
}

func (c *checker) message(p *msgPlan, m protoreflect.Message) {
	for _, it := range p.items {
		if c.full {
			return
		}
		if o := it.oneof; o != nil {
			if m.WhichOneof(o.od) == nil {
				c.push(seg{kind: segField, name: o.od.Name()})
				c.add("Exactly one of " + o.members + " must be set")
				c.pop()
			}
			continue
		}
		f := it.field
		c.push(seg{kind: segField, name: f.fd.Name()})
		switch {
		case f.fd.IsList():
			c.list(f, m.Get(f.fd).List())
		case f.fd.IsMap():
			c.mapField(f, m.Get(f.fd).Map())
		default:
			c.singular(f, m)
		}
		c.pop()
	}
}

func (c *checker) singular(f *fieldPlan, m protoreflect.Message) {
	fd := f.fd
	if fd.HasPresence() && !m.Has(fd) {
		if f.required {
			c.add("Required")
		}
		return
	}
	v := m.Get(fd)
	if f.required && isZero(fd, v) {
		c.add("Required")
		return
	}
	c.value(&f.elem, f.sub, fd, v)
}

func (c *checker) list(f *fieldPlan, l protoreflect.List) {
	n := l.Len()
	if f.required && n == 0 {
		c.add("Required")
		return
	}
	if f.size != nil && !f.size.allowsInt(n) {
		c.add(fmt.Sprintf("The number of elements must be %s (got %d)", f.size.describe(), n))
		return
	}
	if f.unique {
		if i, j := firstDuplicate(f.fd, l); j >= 0 {
			c.add(fmt.Sprintf("The elements must be unique (element %d repeats element %d)", j, i))
			return
		}
	}
	if f.elem.empty() && f.sub == nil {
		return
	}
	for i := 0; i < n && !c.full; i++ {
		c.push(seg{kind: segIndex, index: i})
		c.value(&f.elem, f.sub, f.fd, l.Get(i))
		c.pop()
	}
}

func (c *checker) mapField(f *fieldPlan, mp protoreflect.Map) {
	n := mp.Len()
	if f.required && n == 0 {
		c.add("Required")
		return
	}
	if f.size != nil && !f.size.allowsInt(n) {
		c.add(fmt.Sprintf("The number of entries must be %s (got %d)", f.size.describe(), n))
		return
	}
	if n == 0 || (f.key == nil && f.elem.empty() && f.sub == nil) {
		return
	}
	for _, k := range sortedKeys(mp) {
		if c.full {
			return
		}
		c.push(seg{kind: segKey, key: k})
		if f.key == nil || c.scalar(f.key, f.fd.MapKey(), k.Value(), true) {
			c.value(&f.elem, f.sub, f.fd.MapValue(), mp.Get(k))
		}
		c.pop()
	}
}

// value checks one value (vd describes its kind) and the message it holds.
func (c *checker) value(r *scalarRules, sub *msgPlan, vd protoreflect.FieldDescriptor, v protoreflect.Value) {
	if !c.scalar(r, vd, v, false) || sub == nil {
		return
	}
	c.message(sub, v.Message())
}

// scalar applies r to v and reports whether it passed.
func (c *checker) scalar(r *scalarRules, vd protoreflect.FieldDescriptor, v protoreflect.Value, isKey bool) bool {
	subject, strSubject := "The value", "The string"
	if isKey {
		subject, strSubject = "The map key", "The map key"
	}
	if r.length != nil {
		n := textLen(vd, v, false)
		if !r.length.allowsInt(n) {
			c.add(fmt.Sprintf("%s length must be %s characters (got %d)", strSubject, r.length.describe(), n))
			return false
		}
	}
	if r.bytes != nil {
		n := textLen(vd, v, true)
		if !r.bytes.allowsInt(n) {
			c.add(fmt.Sprintf("%s size must be %s bytes (got %d)", strSubject, r.bytes.describe(), n))
			return false
		}
	}
	if r.pattern != nil && !r.pattern.MatchString(v.String()) {
		c.add(fmt.Sprintf("%s must match pattern %q", strSubject, r.patText))
		return false
	}
	if r.value != nil {
		n := toNum(vd, v)
		if !r.value.allows(n) {
			c.add(fmt.Sprintf("%s must be %s (got %s)", subject, r.value.describe(), numText(vd, v, n)))
			return false
		}
	}
	return true
}

// textLen is the length of a string or bytes value in characters, or in
// bytes when inBytes is set (bytes values always count bytes); a message
// counts its encoded size.
func textLen(vd protoreflect.FieldDescriptor, v protoreflect.Value, inBytes bool) int {
	if vd.Kind() == protoreflect.MessageKind {
		return proto.Size(v.Message().Interface())
	}
	if vd.Kind() == protoreflect.BytesKind {
		return len(v.Bytes())
	}
	if inBytes {
		return len(v.String())
	}
	return utf8.RuneCountInString(v.String())
}

func isZero(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return v.String() == ""
	case protoreflect.BytesKind:
		return len(v.Bytes()) == 0
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return !v.Message().IsValid()
	case protoreflect.EnumKind:
		return v.Enum() == 0
	case protoreflect.BoolKind:
		return !v.Bool()
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return v.Float() == 0
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return v.Uint() == 0
	default:
		return v.Int() == 0
	}
}

// toNum reads a value in the domain valueDomain chose for vd.
func toNum(vd protoreflect.FieldDescriptor, v protoreflect.Value) num {
	switch vd.Kind() {
	case protoreflect.EnumKind:
		return num{i: int64(v.Enum())}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return num{f: v.Float()}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if u := v.Uint(); u <= math.MaxInt64 {
			return num{i: int64(u)}
		}
		return num{i: math.MaxInt64, over: true}
	case protoreflect.MessageKind:
		sec, nsec := secondsNanos(v.Message())
		return nanos(sec, nsec)
	default:
		return num{i: v.Int()}
	}
}

// secondsNanos reads a Duration or Timestamp (fields 1 and 2).
func secondsNanos(m protoreflect.Message) (int64, int64) {
	fields := m.Descriptor().Fields()
	return m.Get(fields.ByNumber(1)).Int(), m.Get(fields.ByNumber(2)).Int()
}

// numText renders a checked value for a message.
func numText(vd protoreflect.FieldDescriptor, v protoreflect.Value, n num) string {
	switch vd.Kind() {
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return strconv.FormatFloat(n.f, 'g', -1, 64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	case protoreflect.MessageKind:
		sec, nsec := secondsNanos(v.Message())
		if vd.Message().FullName() == timestampName {
			return time.Unix(sec, nsec).UTC().Format(time.RFC3339Nano)
		}
		if n.over || n.i == math.MinInt64 {
			return strconv.FormatInt(sec, 10) + "s"
		}
		return time.Duration(n.i).String()
	default:
		return strconv.FormatInt(n.i, 10)
	}
}
