package validation

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
)

// usernameOK is a hand-written reading of the CreateUserRequest.username
// annotations (required, length <=254, pattern
// [a-z0-9A-Z\._-]{1,64}@.{1,256}), independent of the regexp engine.
func usernameOK(u string) bool {
	if u == "" || utf8.RuneCountInString(u) > 254 {
		return false
	}
	at := strings.IndexByte(u, '@')
	if at < 1 || at > 64 {
		return false
	}
	for _, r := range u[:at] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	domain := u[at+1:]
	n := utf8.RuneCountInString(domain)
	return n >= 1 && n <= 256 && !strings.Contains(domain, "\n")
}

// emailOK reads CreateUserRequest.email: length <=254, pattern |(.{3,254}).
func emailOK(e string) bool {
	n := utf8.RuneCountInString(e)
	return e == "" || n >= 3 && n <= 254 && !strings.Contains(e, "\n")
}

func FuzzCheck(f *testing.F) {
	f.Add("j.doe@example.com", "John Doe", "", uint8(1), uint8(1), int32(1))
	f.Add("", "", "a@b", uint8(0), uint8(0), int32(0))
	f.Add("a@\n", "x", "ab", uint8(4), uint8(7), int32(-3))
	f.Add(strings.Repeat("a", 64)+"@"+strings.Repeat("я", 189), strings.Repeat("я", 257), "\xff\xfe\xfd", uint8(3), uint8(6), int32(2))
	f.Add("bad@x@y", "\x00", strings.Repeat("e", 255), uint8(2), uint8(5), int32(3))

	f.Fuzz(func(t *testing.T, username, fullName, email string, entries, infos uint8, objectType int32) {
		// CreateUserRequest: the fuzzed fields next to valid others.
		u := createUser()
		u.Username, u.FullName, u.Email = username, fullName, email
		var want []string
		if !usernameOK(username) {
			want = append(want, "username")
		}
		if fullName == "" || utf8.RuneCountInString(fullName) > 256 {
			want = append(want, "full_name")
		}
		if !emailOK(email) {
			want = append(want, "email")
		}
		if diff := cmp.Diff(want, fieldViolations(t, Check(u))); diff != "" {
			t.Errorf("CreateUserRequest{username: %q, full_name: %q, email: %q} violations (-want +got):\n%s", username, fullName, email, diff)
		}

		// ReportSessionProgressRequest: sizes and the required object type.
		ne, ni := int(entries%8), int(infos%10)
		p := progress(ne, ni)
		for _, e := range p.ProgressEntries {
			e.ObjectType = idp.RelatedObjectType(objectType)
		}
		want = nil
		switch {
		case ne < 1 || ne > 3:
			want = []string{"progress_entries"}
		default:
			for i := range ne {
				if objectType == 0 {
					want = append(want, fmt.Sprintf("progress_entries[%d].object_type", i))
				}
				if ni < 1 || ni > 6 {
					want = append(want, fmt.Sprintf("progress_entries[%d].change_info", i))
				}
			}
		}
		if diff := cmp.Diff(want, fieldViolations(t, Check(p))); diff != "" {
			t.Errorf("progress(%d, %d) object type %d violations (-want +got):\n%s", ne, ni, objectType, diff)
		}
	})
}
