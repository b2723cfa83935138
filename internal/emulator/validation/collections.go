package validation

import (
	"cmp"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// firstDuplicate returns the indexes i < j of the first element j of l
// equal to an earlier element i, or -1, -1.
func firstDuplicate(fd protoreflect.FieldDescriptor, l protoreflect.List) (int, int) {
	n := l.Len()
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		for j := 1; j < n; j++ {
			for i := 0; i < j; i++ {
				if proto.Equal(l.Get(i).Message().Interface(), l.Get(j).Message().Interface()) {
					return i, j
				}
			}
		}
		return -1, -1
	}
	seen := make(map[any]int, n)
	for j := 0; j < n; j++ {
		var k any
		if fd.Kind() == protoreflect.BytesKind {
			k = string(l.Get(j).Bytes())
		} else {
			k = l.Get(j).Interface()
		}
		if i, ok := seen[k]; ok {
			return i, j
		}
		seen[k] = j
	}
	return -1, -1
}

// sortedKeys returns the keys of m in ascending order, so that violations
// are reported in a stable order.
func sortedKeys(m protoreflect.Map) []protoreflect.MapKey {
	keys := make([]protoreflect.MapKey, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, compareKeys)
	return keys
}

func compareKeys(a, b protoreflect.MapKey) int {
	switch x := a.Interface().(type) {
	case string:
		return cmp.Compare(x, b.Interface().(string))
	case bool:
		switch y := b.Interface().(bool); {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case uint32, uint64:
		return cmp.Compare(a.Value().Uint(), b.Value().Uint())
	default:
		return cmp.Compare(a.Value().Int(), b.Value().Int())
	}
}
