package drsrsource

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []Cursor{
		{},
		{InvocationID: [16]byte{1, 2, 3}, HighObjUpdate: 42, HighPropUpdate: 43},
		{InvocationID: [16]byte{9}, HighObjUpdate: 1 << 40, HighPropUpdate: 7,
			UpToDate: []USNCursor{{InvocationID: [16]byte{9}, USN: 7}, {InvocationID: [16]byte{8, 8}, USN: 1 << 33}}},
	} {
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseCursor(b)
		if err != nil {
			t.Fatalf("ParseCursor: %v", err)
		}
		if diff := cmp.Diff(c, got, cmp.Comparer(func(a, b []USNCursor) bool { return len(a) == len(b) && (len(a) == 0 || cmp.Equal(a, b)) })); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	if c, err := ParseCursor(nil); err != nil || !c.IsZero() {
		t.Errorf("empty data = %+v, %v; want the zero cursor", c, err)
	}
	for _, bad := range [][]byte{{2}, {1, 0}, append(make([]byte, 35), 5, 0)} {
		bad[0] = max(bad[0], 1)
		if _, err := ParseCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Errorf("ParseCursor(%x) = %v; want ErrBadCursor", bad, err)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	b, _ := Cursor{HighObjUpdate: 5, UpToDate: []USNCursor{{USN: 5}}}.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCursor(data)
		if err != nil {
			return
		}
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && string(again) != string(data) {
			t.Errorf("re-encoding %x gave %x", data, again)
		}
	})
}

func TestNTHashNeverPrints(t *testing.T) {
	raw := []byte{0x10, 0xfb, 0xf8, 0x68, 0x46, 0x65, 0xfe, 0xbb, 0x34, 0x5c, 0xa7, 0x79, 0x4f, 0x6d, 0xfb, 0xfb}
	h, err := NewNTHash(raw)
	if err != nil {
		t.Fatal(err)
	}
	const hexHash = "10fbf8684665febb345ca7794f6dfbfb"
	if h.Hex() != hexHash {
		t.Fatalf("Hex = %s", h.Hex())
	}
	s := Secret{Account: Account{ExternalID: "x"}, Hash: h}
	js, _ := json.Marshal(s)
	var sb strings.Builder
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("m", "secret", s, "hash", h)
	for _, out := range []string{fmt.Sprint(h), fmt.Sprintf("%v %+v %#v %x %s %q", h, s, s, h, h, h), string(js), sb.String(), h.String()} {
		if strings.Contains(out, hexHash) || strings.Contains(out, "10 fb") || strings.Contains(out, "[16 251") {
			t.Errorf("the hash leaks: %s", out)
		}
	}
	h.Wipe()
	if !h.IsZero() {
		t.Error("Wipe left the hash")
	}
	if _, err := NewNTHash(raw[:15]); err == nil {
		t.Error("NewNTHash accepted 15 bytes")
	}
}

func TestInScope(t *testing.T) {
	c := &Client{}
	for _, s := range []string{"OU=Staff, DC=Corp,DC=test", "CN=Users,DC=corp,DC=test"} {
		c.scope = append(c.scope, normDN(s))
	}
	for dn, want := range map[string]bool{
		"CN=a,OU=Staff,DC=corp,DC=test":             true,
		"cn=b,ou=sub,ou=staff,dc=corp,dc=test":      true,
		"OU=Staff,DC=corp,DC=test":                  true,
		"CN=c,OU=NotStaff,DC=corp,DC=test":          false,
		"CN=d,OU=Staff2,DC=corp,DC=test":            false,
		"CN=Administrator,CN=Users,DC=corp,DC=test": true,
		"CN=e,DC=corp,DC=test":                      false,
	} {
		if got := c.inScope(dn); got != want {
			t.Errorf("inScope(%s) = %v, want %v", dn, got, want)
		}
	}
	if !(&Client{}).inScope("CN=x,DC=any") {
		t.Error("an empty scope is the whole domain")
	}
}

func TestAccountFor(t *testing.T) {
	const id = "a45d079d-cf60-45d7-8a80-4d9b5cda0d1a"
	a, err := AccountFor(id)
	if err != nil {
		t.Fatal(err)
	}
	// The wire layout has the first three fields little-endian.
	want := [16]byte{0x9d, 0x07, 0x5d, 0xa4, 0x60, 0xcf, 0xd7, 0x45, 0x8a, 0x80, 0x4d, 0x9b, 0x5c, 0xda, 0x0d, 0x1a}
	if a.guid != want || a.ExternalID != id {
		t.Errorf("AccountFor = %x %s", a.guid, a.ExternalID)
	}
	if _, err := AccountFor("not-a-guid"); err == nil {
		t.Error("AccountFor accepted garbage")
	}
}

func TestDialRequiresOptions(t *testing.T) {
	_, err := Dial(t.Context(), Options{Host: "dc"})
	if err == nil || !strings.Contains(err.Error(), "Password") || strings.Contains(err.Error(), "Host") {
		t.Errorf("Dial = %v; want the missing options named", err)
	}
}

func TestRightErrorNamesRights(t *testing.T) {
	err := error(&RightError{Right: RightGetChangesAll, Account: "svc-sync", Err: errors.New("denied")})
	for _, want := range []string{"svc-sync", `"Replicating Directory Changes All"`, "denied"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

// TestNoCloudImports fails if drsrsource depends on the cloud side or the
// engine, directly or through packages of this module.
func TestNoCloudImports(t *testing.T) {
	const module = "github.com/idsync/idsync"
	forbidden := []string{module + "/internal/idhub", module + "/internal/emulator", module + "/agent",
		"github.com/yandex-cloud/go-genproto", "google.golang.org/grpc"}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := build.ImportDir(filepath.Join(root, "drsrsource"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("no imports found; the check would pass vacuously")
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, module+"/") && imp != module+"/internal/directory" {
			t.Errorf("drsrsource imports %s; it should need nothing of this module but the neutral model", imp)
		}
		for _, f := range forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				t.Errorf("drsrsource imports %s", imp)
			}
		}
	}
}
