package validation

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	ycloud "github.com/yandex-cloud/go-genproto/yandex/cloud"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Well-known message types that carry value annotations.
const (
	durationName  protoreflect.FullName = "google.protobuf.Duration"
	timestampName protoreflect.FullName = "google.protobuf.Timestamp"
)

// scalarRules are the checks on one value: a singular field, each element
// of a repeated field, each value or each key of a map.
type scalarRules struct {
	length  *spec // characters (runes) of a string
	bytes   *spec // bytes of a string or bytes value, or a message's encoded size
	value   *spec // numbers, enums, durations, timestamps
	pattern *regexp.Regexp
	patText string // the pattern as annotated, for messages
}

func (r *scalarRules) empty() bool {
	return r.length == nil && r.bytes == nil && r.value == nil && r.pattern == nil
}

// fieldPlan is everything to check on one field.
type fieldPlan struct {
	fd       protoreflect.FieldDescriptor
	required bool
	size     *spec // elements of a repeated field or entries of a map
	unique   bool
	elem     scalarRules  // the value, each element, or each map value
	key      *scalarRules // map keys; nil when unconstrained
	sub      *msgPlan     // the message (element, map value) type; nil when it has nothing to check
}

// oneofPlan is an exactly_one oneof.
type oneofPlan struct {
	od      protoreflect.OneofDescriptor
	members string // "a, b" for the message
}

// item is one step of a message plan: a field or an exactly_one oneof.
type item struct {
	field *fieldPlan
	oneof *oneofPlan
}

// msgPlan is the compiled checks of a message type, in field number order
// (an exactly_one oneof is checked just before its lowest-numbered member).
type msgPlan struct {
	items    []item
	empty    bool // no checks here or in any nested message
	building bool // under construction: reached again through a cycle
}

var (
	plans   sync.Map // protoreflect.MessageDescriptor -> *planEntry
	buildMu sync.Mutex
)

type planEntry struct {
	plan *msgPlan
	err  error
}

// planFor returns the compiled plan of md, compiling it on first use.
func planFor(md protoreflect.MessageDescriptor) (*msgPlan, error) {
	if e, ok := plans.Load(md); ok {
		e := e.(*planEntry)
		return e.plan, e.err
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	b := builder{
		building: map[protoreflect.MessageDescriptor]*msgPlan{},
		done:     map[protoreflect.MessageDescriptor]*msgPlan{},
		regexps:  map[string]*regexp.Regexp{},
	}
	p, err := b.message(md)
	e := &planEntry{plan: p, err: err}
	if err == nil {
		// Publish every type built along the way, now that all are complete.
		for md, sub := range b.done {
			plans.LoadOrStore(md, &planEntry{plan: sub})
		}
	}
	actual, _ := plans.LoadOrStore(md, e)
	e = actual.(*planEntry)
	return e.plan, e.err
}

// builder compiles the plans of one message type and the types it reaches.
type builder struct {
	building map[protoreflect.MessageDescriptor]*msgPlan
	done     map[protoreflect.MessageDescriptor]*msgPlan
	regexps  map[string]*regexp.Regexp
}

func (b *builder) message(md protoreflect.MessageDescriptor) (*msgPlan, error) {
	if e, ok := plans.Load(md); ok {
		e := e.(*planEntry)
		return e.plan, e.err
	}
	if p, ok := b.building[md]; ok {
		return p, nil
	}
	if p, ok := b.done[md]; ok {
		return p, nil
	}
	p := &msgPlan{building: true}
	b.building[md] = p

	fields := md.Fields()
	ordered := make([]protoreflect.FieldDescriptor, fields.Len())
	for i := range ordered {
		ordered[i] = fields.Get(i)
	}
	slices.SortFunc(ordered, func(a, b protoreflect.FieldDescriptor) int { return int(a.Number() - b.Number()) })

	seenOneof := map[protoreflect.FullName]bool{}
	for _, fd := range ordered {
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() && !seenOneof[od.FullName()] {
			seenOneof[od.FullName()] = true
			if op := oneofRule(od); op != nil {
				p.items = append(p.items, item{oneof: op})
			}
		}
		fp, err := b.field(fd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", md.FullName(), err)
		}
		if fp != nil {
			p.items = append(p.items, item{field: fp})
		}
	}
	p.empty = len(p.items) == 0
	p.building = false
	delete(b.building, md)
	b.done[md] = p
	return p, nil
}

func oneofRule(od protoreflect.OneofDescriptor) *oneofPlan {
	if !proto.GetExtension(od.Options(), ycloud.E_ExactlyOne).(bool) {
		return nil
	}
	names := make([]string, od.Fields().Len())
	for i := range names {
		names[i] = string(od.Fields().Get(i).Name())
	}
	return &oneofPlan{od: od, members: strings.Join(names, ", ")}
}

// field compiles the checks of fd, or returns nil when there are none.
func (b *builder) field(fd protoreflect.FieldDescriptor) (*fieldPlan, error) {
	opts := fd.Options()
	fp := &fieldPlan{
		fd:       fd,
		required: proto.GetExtension(opts, ycloud.E_Required).(bool),
		unique:   proto.GetExtension(opts, ycloud.E_Unique).(bool),
	}
	var err error
	if fp.size, err = optSpec(opts, ycloud.E_Size, domInt); err != nil {
		return nil, fmt.Errorf("%s: size: %w", fd.Name(), err)
	}
	if fp.size != nil && !fd.IsList() && !fd.IsMap() {
		return nil, fmt.Errorf("%s: size on a singular field", fd.Name())
	}
	if fp.unique && !fd.IsList() {
		return nil, fmt.Errorf("%s: unique on a field that is not repeated", fd.Name())
	}

	valueFD := fd
	if fd.IsMap() {
		valueFD = fd.MapValue()
		if ks := proto.GetExtension(opts, ycloud.E_MapKey).(*ycloud.MapKeySpec); ks != nil {
			key, err := b.scalar(fd.MapKey(), annotations{length: ks.GetLength(), value: ks.GetValue(), pattern: ks.GetPattern()})
			if err != nil {
				return nil, fmt.Errorf("%s: map_key: %w", fd.Name(), err)
			}
			if !key.empty() {
				fp.key = &key
			}
		}
	}
	if fp.elem, err = b.scalar(valueFD, fieldAnnotations(opts)); err != nil {
		return nil, fmt.Errorf("%s: %w", fd.Name(), err)
	}
	if valueFD.Kind() == protoreflect.MessageKind || valueFD.Kind() == protoreflect.GroupKind {
		sub, err := b.message(valueFD.Message())
		if err != nil {
			return nil, err
		}
		if sub.building || !sub.empty {
			fp.sub = sub
		}
	}
	if !fp.required && fp.size == nil && !fp.unique && fp.elem.empty() && fp.key == nil && fp.sub == nil {
		return nil, nil
	}
	return fp, nil
}

// annotations are the option texts that make up a scalarRules.
type annotations struct {
	length, bytes, value, pattern string
}

func fieldAnnotations(opts proto.Message) annotations {
	return annotations{
		length:  proto.GetExtension(opts, ycloud.E_Length).(string),
		bytes:   proto.GetExtension(opts, ycloud.E_Bytes).(string),
		value:   proto.GetExtension(opts, ycloud.E_Value).(string),
		pattern: proto.GetExtension(opts, ycloud.E_Pattern).(string),
	}
}

// scalar compiles the checks a on values described by vd (the map value
// or key for a map field).
func (b *builder) scalar(vd protoreflect.FieldDescriptor, a annotations) (scalarRules, error) {
	var r scalarRules
	var err error
	isText := vd.Kind() == protoreflect.StringKind || vd.Kind() == protoreflect.BytesKind
	// bytes also bounds a message's encoded size (logging's json_payload).
	isMsg := vd.Kind() == protoreflect.MessageKind
	if (a.length != "" && !isText) || (a.bytes != "" && !isText && !isMsg) {
		return r, fmt.Errorf("length or bytes on a %s value", vd.Kind())
	}
	if a.length != "" {
		if r.length, err = parseSpec(a.length, domInt); err != nil {
			return r, fmt.Errorf("length: %w", err)
		}
	}
	if a.bytes != "" {
		if r.bytes, err = parseSpec(a.bytes, domInt); err != nil {
			return r, fmt.Errorf("bytes: %w", err)
		}
	}
	if a.value != "" {
		dom, ok := valueDomain(vd)
		if !ok {
			return r, fmt.Errorf("value on a %s value", vd.Kind())
		}
		if r.value, err = parseSpec(a.value, dom); err != nil {
			return r, fmt.Errorf("value: %w", err)
		}
	}
	if a.pattern != "" {
		if vd.Kind() != protoreflect.StringKind {
			return r, fmt.Errorf("pattern on a %s value", vd.Kind())
		}
		if r.pattern, err = b.regexp(a.pattern); err != nil {
			return r, err
		}
		r.patText = a.pattern
	}
	return r, nil
}

// regexp compiles an annotated pattern so that it must match the whole
// value. Patterns that already carry ^ and $ are unaffected.
func (b *builder) regexp(text string) (*regexp.Regexp, error) {
	if re, ok := b.regexps[text]; ok {
		return re, nil
	}
	re, err := regexp.Compile(`^(?:` + text + `)$`)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", text, err)
	}
	b.regexps[text] = re
	return re, nil
}

func optSpec(opts proto.Message, xt protoreflect.ExtensionType, dom domain) (*spec, error) {
	text := proto.GetExtension(opts, xt).(string)
	if text == "" {
		return nil, nil
	}
	return parseSpec(text, dom)
}

// valueDomain maps a value's kind to the domain of its value option.
func valueDomain(vd protoreflect.FieldDescriptor) (domain, bool) {
	switch vd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind, protoreflect.EnumKind:
		return domInt, true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return domFloat, true
	case protoreflect.MessageKind:
		switch vd.Message().FullName() {
		case durationName:
			return domDuration, true
		case timestampName:
			return domTime, true
		}
	}
	return 0, false
}
