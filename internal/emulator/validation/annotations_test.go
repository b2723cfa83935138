package validation

import (
	"slices"
	"testing"

	ycloud "github.com/yandex-cloud/go-genproto/yandex/cloud"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// apiPackages are the proto packages the emulator serves.
var apiPackages = map[protoreflect.FullName]bool{
	"yandex.cloud.organizationmanager.v1.idp": true,
	"yandex.cloud.organizationmanager.v1":     true,
	"yandex.cloud.iam.v1":                     true,
	"yandex.cloud.operation":                  true,
}

// apiMessages returns every message type, nested ones included, declared
// in apiPackages.
func apiMessages(t *testing.T) []protoreflect.MessageDescriptor {
	t.Helper()
	// Make sure the packages are linked and their files registered.
	_ = idp.File_yandex_cloud_organizationmanager_v1_idp_user_service_proto
	_ = om.File_yandex_cloud_organizationmanager_v1_group_service_proto
	_ = iam.File_yandex_cloud_iam_v1_iam_token_service_proto
	_ = operation.File_yandex_cloud_operation_operation_service_proto

	var out []protoreflect.MessageDescriptor
	var walk func(protoreflect.MessageDescriptors)
	walk = func(mds protoreflect.MessageDescriptors) {
		for i := range mds.Len() {
			md := mds.Get(i)
			if md.IsMapEntry() {
				continue
			}
			out = append(out, md)
			walk(md.Messages())
		}
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if apiPackages[fd.Package()] {
			walk(fd.Messages())
		}
		return true
	})
	if len(out) < 100 {
		t.Fatalf("found only %d messages in the API packages", len(out))
	}
	return out
}

// TestAnnotationsCompile collects every distinct annotation value in the
// API packages and requires that it parses, and that the rules of every
// message compile, so that no unknown format reaches Check.
func TestAnnotationsCompile(t *testing.T) {
	seen := map[string]map[string]bool{}
	note := func(kind, v string) {
		if v == "" {
			return
		}
		if seen[kind] == nil {
			seen[kind] = map[string]bool{}
		}
		seen[kind][v] = true
	}
	for _, md := range apiMessages(t) {
		for i := range md.Fields().Len() {
			opts := md.Fields().Get(i).Options()
			note("length", proto.GetExtension(opts, ycloud.E_Length).(string))
			note("size", proto.GetExtension(opts, ycloud.E_Size).(string))
			note("value", proto.GetExtension(opts, ycloud.E_Value).(string))
			note("pattern", proto.GetExtension(opts, ycloud.E_Pattern).(string))
			note("bytes", proto.GetExtension(opts, ycloud.E_Bytes).(string))
			if ks := proto.GetExtension(opts, ycloud.E_MapKey).(*ycloud.MapKeySpec); ks != nil {
				note("map_key.length", ks.GetLength())
				note("map_key.pattern", ks.GetPattern())
				note("map_key.value", ks.GetValue())
			}
		}
		if _, err := planFor(md); err != nil {
			t.Errorf("rules of %s: %v", md.FullName(), err)
		}
	}

	// The specs of lengths and sizes are integers whatever the field.
	for _, kind := range []string{"length", "size", "bytes", "map_key.length"} {
		for v := range seen[kind] {
			if _, err := parseSpec(v, domInt); err != nil {
				t.Errorf("%s %q: %v", kind, v, err)
			}
		}
	}
	// Values and patterns were compiled with their fields by planFor above;
	// check that the collection saw the formats it must have seen.
	wants := map[string][]string{
		"length":  {"<=50", "<=256", "1-256", "0-253", "1-253", "<=1000", "<=254"},
		"size":    {"1-3", "1-6", "1-1000", "<=10", "<=50", "<=64", "0-10"},
		"value":   {"0-1000", "<=1000", "15m-6h", "5m-8760h", "19700101T000000.000000000-21051231T235959.999999999"},
		"pattern": {"|(.{3,254})", `[a-z0-9A-Z\._-]{1,64}@.{1,256}`, "[a-zA-Z]([-a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?"},
	}
	for kind, want := range wants {
		for _, v := range want {
			if !seen[kind][v] {
				t.Errorf("%s %q not found among the annotations %v", kind, v, sortedSet(seen[kind]))
			}
		}
	}
	t.Logf("distinct annotation values: %d lengths, %d sizes, %d values, %d patterns",
		len(seen["length"]), len(seen["size"]), len(seen["value"]), len(seen["pattern"]))
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
