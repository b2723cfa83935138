package validation

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpecAllows(t *testing.T) {
	ts := func(y int) num {
		return nanos(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), 0)
	}
	tests := []struct {
		spec    string
		dom     domain
		allowed []num
		denied  []num
		desc    string
	}{
		{"<=50", domInt, []num{{i: 0}, {i: 50}}, []num{{i: 51}, {over: true}}, "at most 50"},
		{">=1", domInt, []num{{i: 1}, {over: true}}, []num{{i: 0}, {i: -5}}, "at least 1"},
		{"<128", domInt, []num{{i: 127}}, []num{{i: 128}}, "less than 128"},
		{">0", domInt, []num{{i: 1}}, []num{{i: 0}}, "greater than 0"},
		{"1-256", domInt, []num{{i: 1}, {i: 256}}, []num{{i: 0}, {i: 257}}, "between 1 and 256"},
		{"20", domInt, []num{{i: 20}}, []num{{i: 19}, {i: 21}}, "exactly 20"},
		{"-1-100", domInt, []num{{i: -1}, {i: 100}}, []num{{i: -2}, {i: 101}}, "between -1 and 100"},
		{"0,8,16", domInt, []num{{i: 0}, {i: 8}, {i: 16}}, []num{{i: 1}, {i: 9}}, "one of 0, 8, 16"},
		{"0, 3", domInt, []num{{i: 3}}, []num{{i: 2}}, "one of 0, 3"},
		{"1000-9223372036854775807", domInt, []num{{i: math.MaxInt64}}, []num{{i: 999}, {over: true}}, "between 1000 and 9223372036854775807"},
		{"0.0-10000000000.0", domFloat, []num{{f: 0}, {f: 1e10}}, []num{{f: -0.5}, {f: 1e10 + 1}}, "between 0.0 and 10000000000.0"},
		{"15m-6h", domDuration, []num{{i: int64(15 * time.Minute)}, {i: int64(6 * time.Hour)}}, []num{{i: int64(6*time.Hour) + 1}}, "between 15m and 6h"},
		{"<=12h", domDuration, []num{{i: 0}}, []num{{i: int64(13 * time.Hour)}}, "at most 12h"},
		{"19700101T000000.000000000-21051231T235959.999999999", domTime,
			[]num{ts(1970), ts(2105)}, []num{ts(1969), ts(2106), {over: true}},
			"between 19700101T000000.000000000 and 21051231T235959.999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := parseSpec(tt.spec, tt.dom)
			if err != nil {
				t.Fatalf("parseSpec(%q) = %v", tt.spec, err)
			}
			for _, v := range tt.allowed {
				if !s.allows(v) {
					t.Errorf("%q does not allow %+v", tt.spec, v)
				}
			}
			for _, v := range tt.denied {
				if s.allows(v) {
					t.Errorf("%q allows %+v", tt.spec, v)
				}
			}
			if diff := cmp.Diff(tt.desc, s.describe()); diff != "" {
				t.Errorf("describe (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		spec string
		dom  domain
	}{
		{"", domInt},
		{" ", domInt},
		{"abc", domInt},
		{"<=", domInt},
		{"1-", domInt},
		{"5-1", domInt},
		{"1,,2", domInt},
		{"<=1.5", domInt},
		{"5x-1h", domDuration},
		{"2105-12-31", domTime},
		{"one-two", domFloat},
	}
	for _, tt := range tests {
		if s, err := parseSpec(tt.spec, tt.dom); err == nil {
			t.Errorf("parseSpec(%q) = %+v, want an error", tt.spec, s)
		}
	}
}

func TestNanosSaturates(t *testing.T) {
	tests := []struct {
		sec, nsec int64
		want      num
	}{
		{1, 5, num{i: 1_000_000_005}},
		{-1, 0, num{i: -1_000_000_000}},
		{math.MaxInt64, 0, num{i: math.MaxInt64, over: true}},
		{math.MinInt64, 0, num{i: math.MinInt64}},
	}
	for _, tt := range tests {
		if got := nanos(tt.sec, tt.nsec); got != tt.want {
			t.Errorf("nanos(%d, %d) = %+v, want %+v", tt.sec, tt.nsec, got, tt.want)
		}
	}
}
