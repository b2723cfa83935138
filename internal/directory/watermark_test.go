package directory

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWatermarkRoundTrip(t *testing.T) {
	tests := []Watermark{
		{Mode: ModeUSN, DCHost: "dc1.example.com", InvocationID: "0b7bd2a4-8d43-4d1e-9a53-3f0c1b1e2a01", USN: 123456, TakenAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{Mode: ModeDirSync, DCHost: "dc1", InvocationID: "x", USN: 9, Cookie: make([]byte, 400), TakenAt: time.Unix(0, 0).UTC()},
	}
	for _, w := range tests {
		b, err := w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		// A replication token holds at most 1000 characters of base64.
		if n := len(base64.StdEncoding.EncodeToString(b)); n > 1000 {
			t.Errorf("%s watermark with a %d-byte cookie encodes to %d base64 characters", w.Mode, len(w.Cookie), n)
		}
		var got Watermark
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestWatermarkUnmarshalRejects(t *testing.T) {
	for _, in := range []string{"", "{", `{"m":"poll"}`, `{}`} {
		var w Watermark
		if err := w.UnmarshalBinary([]byte(in)); err == nil {
			t.Errorf("UnmarshalBinary(%q) accepted", in)
		}
	}
	if !(Watermark{}).IsZero() || (Watermark{USN: 1}).IsZero() {
		t.Error("IsZero wrong")
	}
}
