package ldapsource

import (
	"bytes"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeGUID(t *testing.T) {
	tests := []struct {
		name, raw, want string
		wantErr         bool
	}{
		{name: "samba DEL vector", raw: "df34d17dfeda9b4f8a6bb4d1e6c3e0a1", want: "7dd134df-dafe-4f9b-8a6b-b4d1e6c3e0a1"},
		{name: "zero", raw: "00000000000000000000000000000000", want: "00000000-0000-0000-0000-000000000000"},
		{name: "sequential", raw: "000102030405060708090a0b0c0d0e0f", want: "03020100-0504-0706-0809-0a0b0c0d0e0f"},
		{name: "short", raw: "0011", wantErr: true},
		{name: "long", raw: "000102030405060708090a0b0c0d0e0f10", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeGUID(mustHex(t, tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if tt.wantErr {
				return
			}
			back, err := EncodeGUID(got)
			if err != nil || !bytes.Equal(back, mustHex(t, tt.raw)) {
				t.Fatalf("EncodeGUID(%q) = %x, %v; want %s", got, back, err, tt.raw)
			}
		})
	}
}

func TestGUIDFilterValue(t *testing.T) {
	got, err := guidFilterValue("7dd134df-dafe-4f9b-8a6b-b4d1e6c3e0a1")
	if err != nil {
		t.Fatal(err)
	}
	want := `\df\34\d1\7d\fe\da\9b\4f\8a\6b\b4\d1\e6\c3\e0\a1`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if _, err := guidFilterValue("not-a-guid"); err == nil {
		t.Fatal("want error for bad GUID text")
	}
}

func TestDecodeSID(t *testing.T) {
	tests := []struct {
		name, raw, want string
		rid             uint32
		wantErr         bool
	}{
		{name: "domain user", raw: "010500000000000515000000a065cf7e784b9b5fe77c8770e8030000", want: "S-1-5-21-2127521184-1604012920-1887927527-1000", rid: 1000},
		{name: "builtin administrators", raw: "01020000000000052000000020020000", want: "S-1-5-32-544", rid: 544},
		{name: "everyone", raw: "010100000000000100000000", want: "S-1-1-0", rid: 0},
		{name: "no sub-authorities", raw: "0100000000000005", want: "S-1-5", rid: 0},
		{name: "big authority", raw: "0100ffffffffffff", want: "S-1-0xFFFFFFFFFFFF"},
		{name: "truncated", raw: "01050000000000051500", wantErr: true},
		{name: "count too large", raw: "010900000000000515000000", wantErr: true},
		{name: "too short", raw: "0105", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rid, err := DecodeSID(mustHex(t, tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want || rid != tt.rid {
				t.Fatalf("got %q rid %d, want %q rid %d", got, rid, tt.want, tt.rid)
			}
		})
	}
}

func TestParseFileTime(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Time
		wantErr  bool
	}{
		{name: "never zero", in: "0"},
		{name: "never max", in: strconv.FormatInt(math.MaxInt64, 10)},
		{name: "unix epoch", in: "116444736000000000", want: time.Unix(0, 0).UTC()},
		{name: "2024-01-01", in: "133485408000000000", want: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "sub-second", in: "116444736000000001", want: time.Unix(0, 100).UTC()},
		{name: "before 1970", in: "1", want: time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC)},
		{name: "negative", in: "-5", wantErr: true},
		{name: "garbage", in: "soon", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFileTime(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSplitExtendedDN(t *testing.T) {
	tests := []struct{ in, guid, dn string }{
		{"<GUID=7dd134df-dafe-4f9b-8a6b-b4d1e6c3e0a1>;<SID=S-1-5-21-1-2-3-1000>;CN=A,DC=x", "7dd134df-dafe-4f9b-8a6b-b4d1e6c3e0a1", "CN=A,DC=x"},
		{"<GUID=df34d17dfeda9b4f8a6bb4d1e6c3e0a1>;CN=B,DC=x", "7dd134df-dafe-4f9b-8a6b-b4d1e6c3e0a1", "CN=B,DC=x"},
		{"<GUID=7DD134DF-DAFE-4F9B-8A6B-B4D1E6C3E0A1>;CN=C,DC=x", "7dd134df-dafe-4f9b-8a6b-b4d1e6c3e0a1", "CN=C,DC=x"},
		{"CN=plain,DC=x", "", "CN=plain,DC=x"},
	}
	for _, tt := range tests {
		g, dn := splitExtendedDN(tt.in)
		if g != tt.guid || dn != tt.dn {
			t.Errorf("splitExtendedDN(%q) = %q, %q; want %q, %q", tt.in, g, dn, tt.guid, tt.dn)
		}
	}
}

func FuzzDecodeGUID(f *testing.F) {
	f.Add(mustHex(f, "df34d17dfeda9b4f8a6bb4d1e6c3e0a1"))
	f.Add(make([]byte, 16))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeGUID(b)
		if err != nil {
			return
		}
		// The text must be what uuid produces after the field swap.
		u, perr := uuid.Parse(s)
		if perr != nil {
			t.Fatalf("DecodeGUID(%x) = %q, not a UUID: %v", b, s, perr)
		}
		back, err := EncodeGUID(u.String())
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip %x -> %q -> %x (%v)", b, s, back, err)
		}
	})
}

func FuzzDecodeSID(f *testing.F) {
	f.Add(mustHex(f, "010500000000000515000000a065cf7e784b9b5fe77c8770e8030000"))
	f.Add(mustHex(f, "01020000000000052000000020020000"))
	f.Add([]byte{1, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, rid, err := DecodeSID(b)
		if err != nil {
			return
		}
		if len(s) < 5 || s[:2] != "S-" {
			t.Fatalf("DecodeSID(%x) = %q", b, s)
		}
		if n := int(b[1]); n > 0 && !bytes.HasSuffix([]byte(s), []byte("-"+strconv.FormatUint(uint64(rid), 10))) {
			t.Fatalf("DecodeSID(%x) = %q does not end in RID %d", b, s, rid)
		}
	})
}

func FuzzParseFileTime(f *testing.F) {
	f.Add("0")
	f.Add("9223372036854775807")
	f.Add("133485408000000000")
	f.Add("-1")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseFileTime(s)
		if err != nil {
			return
		}
		if tm.IsZero() {
			return
		}
		// Converting back must give the same count.
		v, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		back := tm.Unix()*1e7 + int64(tm.Nanosecond())/100 + fileTimeEpochDiff
		if back != v {
			t.Fatalf("ParseFileTime(%q) = %v, back %d", s, tm, back)
		}
	})
}

func BenchmarkDecodeGUID(b *testing.B) {
	raw := mustHex(b, "df34d17dfeda9b4f8a6bb4d1e6c3e0a1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeGUID(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSID(b *testing.B) {
	raw := mustHex(b, "010500000000000515000000a065cf7e784b9b5fe77c8770e8030000")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeSID(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFileTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFileTime("133485408000000000"); err != nil {
			b.Fatal(err)
		}
	}
}
