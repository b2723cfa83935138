package ldapsource

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// userAccountControl bits used by the source.
const (
	uacAccountDisable   = 0x2
	uacInterdomainTrust = 0x800
	uacWorkstationTrust = 0x1000
	uacServerTrust      = 0x2000
)

// DecodeGUID converts a raw 16-byte objectGUID to canonical UUID text. The
// first three fields are little-endian on the wire.
func DecodeGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("decode objectGUID: want 16 bytes, got %d", len(b))
	}
	var u [16]byte
	u[0], u[1], u[2], u[3] = b[3], b[2], b[1], b[0]
	u[4], u[5] = b[5], b[4]
	u[6], u[7] = b[7], b[6]
	copy(u[8:], b[8:])
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	return string(out[:]), nil
}

// EncodeGUID converts canonical UUID text back to the 16 raw bytes AD stores.
func EncodeGUID(s string) ([]byte, error) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, fmt.Errorf("encode objectGUID %q: not canonical UUID text", s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	u, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("encode objectGUID %q: %w", s, err)
	}
	b := make([]byte, 16)
	b[0], b[1], b[2], b[3] = u[3], u[2], u[1], u[0]
	b[4], b[5] = u[5], u[4]
	b[6], b[7] = u[7], u[6]
	copy(b[8:], u[8:])
	return b, nil
}

// guidFilterValue escapes every byte of a GUID for an LDAP filter
// ((objectGUID=\df\34…)).
func guidFilterValue(guid string) (string, error) {
	b, err := EncodeGUID(guid)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "\\%02x", c)
	}
	return sb.String(), nil
}

// DecodeSID converts a binary objectSid to its S-R-I-S… text form and returns
// the RID (last sub-authority, 0 when there is none).
func DecodeSID(b []byte) (sid string, rid uint32, err error) {
	if len(b) < 8 {
		return "", 0, fmt.Errorf("decode objectSid: want at least 8 bytes, got %d", len(b))
	}
	n := int(b[1])
	if len(b) != 8+4*n {
		return "", 0, fmt.Errorf("decode objectSid: %d sub-authorities need %d bytes, got %d", n, 8+4*n, len(b))
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	sb.WriteString("S-")
	sb.WriteString(strconv.Itoa(int(b[0])))
	sb.WriteByte('-')
	if auth < 1<<32 {
		sb.WriteString(strconv.FormatUint(auth, 10))
	} else {
		fmt.Fprintf(&sb, "0x%012X", auth)
	}
	for i := 0; i < n; i++ {
		rid = binary.LittleEndian.Uint32(b[8+4*i:])
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(rid), 10))
	}
	return sb.String(), rid, nil
}

// fileTimeEpochDiff is the number of 100 ns intervals between 1601-01-01 and
// 1970-01-01.
const fileTimeEpochDiff = 116444736000000000

// ParseFileTime converts a FILETIME attribute value (decimal count of 100 ns
// intervals since 1601-01-01 UTC) to a time. 0 and 2^63-1, the directory's
// "never" values, give the zero time. Negative values are errors.
func ParseFileTime(s string) (time.Time, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse FILETIME %q: %w", s, err)
	}
	if v == 0 || v == math.MaxInt64 {
		return time.Time{}, nil
	}
	if v < 0 {
		return time.Time{}, fmt.Errorf("parse FILETIME %q: %w", s, errors.New("negative value"))
	}
	d := v - fileTimeEpochDiff
	return time.Unix(d/1e7, (d%1e7)*100).UTC(), nil
}

// parseUAC parses userAccountControl; an absent value is 0.
func parseUAC(s string) (uint32, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse userAccountControl %q: %w", s, err)
	}
	return uint32(v), nil
}
