package emulator

import (
	"encoding/base64"
	"slices"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// defaultPageSize is the page size of list calls that give none.
const defaultPageSize = 100

// maxPageSize is the largest page a list call returns.
const maxPageSize = 1000

// paginate returns the page of items (sorted by key) after the position in
// pageToken, and the token of the next page ("" on the last page). Tokens
// hold the key of the last item returned, so pages stay consistent while
// items are added or removed between calls.
func paginate[T any](items []T, key func(T) string, pageSize int64, pageToken string) ([]T, string, error) {
	size := int(pageSize)
	if size <= 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)
	start := 0
	if pageToken != "" {
		after, err := base64.RawURLEncoding.DecodeString(pageToken)
		if err != nil || len(after) == 0 {
			return nil, "", status.Error(codes.InvalidArgument, "invalid page_token")
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > string(after) })
	}
	end := min(start+size, len(items))
	page := items[start:end]
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return page, next, nil
}

// parseFilter parses a list filter of the form
//
//	field="value" [AND field="value" ...]
//
// where each field must be one of allowed. It returns the value per field.
func parseFilter(filter string, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	rest := strings.TrimSpace(filter)
	bad := func(why string) error {
		return status.Errorf(codes.InvalidArgument, "invalid filter %q: %s", filter, why)
	}
	for rest != "" {
		i := strings.IndexAny(rest, "= ")
		if i <= 0 {
			return nil, bad("expected field=\"value\"")
		}
		field := rest[:i]
		known := false
		for _, a := range allowed {
			known = known || a == field
		}
		if !known {
			return nil, bad("unsupported field " + field + "; use one of " + strings.Join(allowed, ", "))
		}
		rest = strings.TrimSpace(rest[i:])
		if !strings.HasPrefix(rest, "=") {
			return nil, bad("expected = after " + field)
		}
		rest = strings.TrimSpace(rest[1:])
		quoted, err := strconv.QuotedPrefix(rest)
		if err != nil || !strings.HasPrefix(quoted, `"`) {
			return nil, bad("the value of " + field + " must be in double quotes")
		}
		value, err := strconv.Unquote(quoted)
		if err != nil {
			return nil, bad("the value of " + field + " is not a valid string")
		}
		if prev, dup := out[field]; dup && prev != value {
			out[field] = "\x00" // two different values for one field: nothing matches
		} else {
			out[field] = value
		}
		rest = strings.TrimSpace(rest[len(quoted):])
		if rest == "" {
			break
		}
		if len(rest) < 4 || !strings.EqualFold(rest[:4], "and ") {
			return nil, bad("conditions must be joined with AND")
		}
		rest = strings.TrimSpace(rest[4:])
		if rest == "" {
			return nil, bad("condition expected after AND")
		}
	}
	return out, nil
}

// matches reports whether every filter field has the value get returns.
func matches(f map[string]string, get func(field string) string) bool {
	for k, v := range f {
		if get(k) != v {
			return false
		}
	}
	return true
}

// maskPaths returns the paths of an update mask, each of which must be one of
// allowed. An empty mask is an error: clients name what they change.
func maskPaths(mask *fieldmaskpb.FieldMask, allowed []string) ([]string, error) {
	paths := mask.GetPaths()
	if len(paths) == 0 {
		return nil, status.Error(codes.InvalidArgument, "update_mask must name at least one field")
	}
	for _, p := range paths {
		if !slices.Contains(allowed, p) {
			return nil, status.Errorf(codes.InvalidArgument, "update_mask: unknown field %q; updatable fields are %s",
				p, strings.Join(allowed, ", "))
		}
	}
	return paths, nil
}

// copyMasked copies the fields named by paths from src to dst, which name
// them alike (an update request and the stored message): each field is set
// to a copy of src's value, or cleared when src does not have it.
func copyMasked(dst, src proto.Message, paths []string) error {
	// A clone of the whole source, so copied values are not shared with it.
	d, sr := dst.ProtoReflect(), proto.Clone(src).ProtoReflect()
	for _, p := range paths {
		df := d.Descriptor().Fields().ByName(protoreflect.Name(p))
		sf := sr.Descriptor().Fields().ByName(protoreflect.Name(p))
		if df == nil || sf == nil || df.Kind() != sf.Kind() || df.Cardinality() != sf.Cardinality() ||
			(df.Message() != nil && df.Message().FullName() != sf.Message().FullName()) {
			return status.Errorf(codes.Internal, "update_mask: %s cannot be copied from %T to %T", p, src, dst)
		}
		if !sr.Has(sf) {
			d.Clear(df)
			continue
		}
		d.Set(df, sr.Get(sf))
	}
	return nil
}
