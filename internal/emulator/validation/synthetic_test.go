package validation

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ycloud "github.com/yandex-cloud/go-genproto/yandex/cloud"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The API messages exercise no unique, bytes, integer map keys, uint64 or
// double values, required bools, proto3 optional fields or recursive
// types, so a synthetic file covers those.

type opt func(*descriptorpb.FieldOptions)

func xset(xt protoreflect.ExtensionType, v any) opt {
	return func(o *descriptorpb.FieldOptions) { proto.SetExtension(o, xt, v) }
}

func field(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label, typeName string, opts ...opt) *descriptorpb.FieldDescriptorProto {
	f := &descriptorpb.FieldDescriptorProto{
		Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(), Label: label.Enum(),
		JsonName: proto.String(name),
	}
	if typeName != "" {
		f.TypeName = proto.String(typeName)
	}
	if len(opts) > 0 {
		f.Options = &descriptorpb.FieldOptions{}
		for _, o := range opts {
			o(f.Options)
		}
	}
	return f
}

const (
	optional = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
	repeated = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
	tString  = descriptorpb.FieldDescriptorProto_TYPE_STRING
	tBytes   = descriptorpb.FieldDescriptorProto_TYPE_BYTES
	tInt32   = descriptorpb.FieldDescriptorProto_TYPE_INT32
	tUint64  = descriptorpb.FieldDescriptorProto_TYPE_UINT64
	tDouble  = descriptorpb.FieldDescriptorProto_TYPE_DOUBLE
	tBool    = descriptorpb.FieldDescriptorProto_TYPE_BOOL
	tMessage = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
)

func syntheticFile(t *testing.T) protoreflect.FileDescriptor {
	t.Helper()
	optField := field("opt", 8, tString, optional, "", xset(ycloud.E_Pattern, "[a-z]+"))
	optField.Proto3Optional = proto.Bool(true)
	optField.OneofIndex = proto.Int32(0)
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("idsync/validation/synthetic.proto"),
		Package:    proto.String("idsync.validation.synthetic"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"yandex/cloud/validation.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{
				Name: proto.String("Probe"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("tags", 1, tString, repeated, "", xset(ycloud.E_Unique, true)),
					field("blob", 2, tBytes, optional, "", xset(ycloud.E_Bytes, "<=4")),
					field("codes", 3, tMessage, repeated, ".idsync.validation.synthetic.Probe.CodesEntry",
						xset(ycloud.E_MapKey, &ycloud.MapKeySpec{Value: "1-10"}), xset(ycloud.E_Length, "<=3")),
					field("big", 4, tUint64, optional, "", xset(ycloud.E_Value, "<=100")),
					field("ratio", 5, tDouble, optional, "", xset(ycloud.E_Value, "0.0-1.0")),
					field("ack", 6, tBool, optional, "", xset(ycloud.E_Required, true)),
					field("children", 7, tMessage, repeated, ".idsync.validation.synthetic.Probe"),
					optField,
					field("inners", 9, tMessage, repeated, ".idsync.validation.synthetic.Inner", xset(ycloud.E_Unique, true)),
					field("text", 10, tString, optional, "", xset(ycloud.E_Bytes, "<=4")),
				},
				NestedType: []*descriptorpb.DescriptorProto{{
					Name: proto.String("CodesEntry"),
					Field: []*descriptorpb.FieldDescriptorProto{
						field("key", 1, tInt32, optional, ""),
						field("value", 2, tString, optional, ""),
					},
					Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
				}},
				OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("_opt")}},
			},
			{Name: proto.String("Inner"), Field: []*descriptorpb.FieldDescriptorProto{field("v", 1, tString, optional, "")}},
			{Name: proto.String("BadRange"), Field: []*descriptorpb.FieldDescriptorProto{field("s", 1, tString, optional, "", xset(ycloud.E_Length, "9-1"))}},
			{Name: proto.String("BadPattern"), Field: []*descriptorpb.FieldDescriptorProto{field("s", 1, tString, optional, "", xset(ycloud.E_Pattern, "("))}},
			{Name: proto.String("BadKind"), Field: []*descriptorpb.FieldDescriptorProto{field("n", 1, tInt32, optional, "", xset(ycloud.E_Length, "<=3"))}},
			{Name: proto.String("BadNested"), Field: []*descriptorpb.FieldDescriptorProto{field("b", 1, tMessage, optional, ".idsync.validation.synthetic.BadRange")}},
		},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatalf("build synthetic descriptor: %v", err)
	}
	return fd
}

func TestCheckSynthetic(t *testing.T) {
	fd := syntheticFile(t)
	probeMD := fd.Messages().ByName("Probe")
	innerMD := fd.Messages().ByName("Inner")
	newProbe := func() *dynamicpb.Message {
		m := dynamicpb.NewMessage(probeMD)
		m.Set(probeMD.Fields().ByName("ack"), protoreflect.ValueOfBool(true))
		return m
	}
	set := func(m *dynamicpb.Message, name string, v any) {
		m.Set(m.Descriptor().Fields().ByName(protoreflect.Name(name)), protoreflect.ValueOf(v))
	}
	appendTo := func(m *dynamicpb.Message, name string, vs ...protoreflect.Value) {
		l := m.Mutable(m.Descriptor().Fields().ByName(protoreflect.Name(name))).List()
		for _, v := range vs {
			l.Append(v)
		}
	}
	inner := func(s string) protoreflect.Value {
		m := dynamicpb.NewMessage(innerMD)
		m.Set(innerMD.Fields().ByName("v"), protoreflect.ValueOfString(s))
		return protoreflect.ValueOfMessage(m)
	}
	str := protoreflect.ValueOfString
	putCode := func(m *dynamicpb.Message, k int32, v string) {
		m.Mutable(probeMD.Fields().ByName("codes")).Map().Set(protoreflect.ValueOfInt32(k).MapKey(), str(v))
	}

	tests := []struct {
		name   string
		mutate func(m *dynamicpb.Message)
		want   []string
	}{
		{"valid", func(m *dynamicpb.Message) {}, nil},
		{"required bool", func(m *dynamicpb.Message) { m.Clear(probeMD.Fields().ByName("ack")) }, []string{"ack"}},
		{"unique strings", func(m *dynamicpb.Message) { appendTo(m, "tags", str("a"), str("b"), str("a")) }, []string{"tags"}},
		{"distinct strings", func(m *dynamicpb.Message) { appendTo(m, "tags", str("a"), str("b")) }, nil},
		{"unique messages", func(m *dynamicpb.Message) { appendTo(m, "inners", inner("x"), inner("y"), inner("x")) }, []string{"inners"}},
		{"bytes 4", func(m *dynamicpb.Message) { set(m, "blob", []byte("abcd")) }, nil},
		{"bytes 5", func(m *dynamicpb.Message) { set(m, "blob", []byte("abcde")) }, []string{"blob"}},
		{"string bytes counts bytes", func(m *dynamicpb.Message) { set(m, "text", "яя") }, nil},
		{"string bytes 6", func(m *dynamicpb.Message) { set(m, "text", "яяя") }, []string{"text"}},
		{"uint64 huge", func(m *dynamicpb.Message) { set(m, "big", uint64(math.MaxUint64)) }, []string{"big"}},
		{"uint64 ok", func(m *dynamicpb.Message) { set(m, "big", uint64(100)) }, nil},
		{"double out of range", func(m *dynamicpb.Message) { set(m, "ratio", 1.5) }, []string{"ratio"}},
		{"int map keys in order", func(m *dynamicpb.Message) {
			putCode(m, 11, "a")
			putCode(m, 2, "long")
			putCode(m, 0, "b")
			putCode(m, 5, "ok")
		}, []string{"codes[0]", "codes[2]", "codes[11]"}},
		{"unset optional is not checked", func(m *dynamicpb.Message) {}, nil},
		{"set optional empty is checked", func(m *dynamicpb.Message) { set(m, "opt", "") }, []string{"opt"}},
		{"recursive children", func(m *dynamicpb.Message) {
			child := newProbe()
			grandchild := dynamicpb.NewMessage(probeMD) // lacks ack
			appendTo(child, "children", protoreflect.ValueOfMessage(grandchild))
			appendTo(m, "children", protoreflect.ValueOfMessage(newProbe()), protoreflect.ValueOfMessage(child))
		}, []string{"children[1].children[0].ack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newProbe()
			tt.mutate(m)
			got := fieldViolations(t, Check(m))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckBadAnnotations(t *testing.T) {
	fd := syntheticFile(t)
	tests := []struct {
		msg  protoreflect.Name
		want string
	}{
		{"BadRange", "lower bound above upper bound"},
		{"BadPattern", "pattern"},
		{"BadKind", "length or bytes on a int32 value"},
		{"BadNested", "BadRange"},
	}
	for _, tt := range tests {
		t.Run(string(tt.msg), func(t *testing.T) {
			err := Check(dynamicpb.NewMessage(fd.Messages().ByName(tt.msg)))
			if status.Code(err) != codes.Internal {
				t.Fatalf("Check() = %v, want an Internal status", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check() = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
