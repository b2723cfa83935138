package drsrsource

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/oiweiwei/go-msrpc/msrpc/drsr/drsuapi/v4"
	"github.com/oiweiwei/go-msrpc/msrpc/dtyp"
)

// Cursor is where a replication pass stopped: the source DC's invocation
// id, its USN high-water mark and the up-to-dateness vector (the highest USN
// seen per originating DC). It holds no secret. The zero Cursor means a
// full pass.
type Cursor struct {
	// InvocationID identifies the DC (and database) the high-water mark
	// belongs to.
	InvocationID [16]byte
	// HighObjUpdate and HighPropUpdate are the USN high-water mark.
	HighObjUpdate  int64
	HighPropUpdate int64
	// UpToDate is the up-to-dateness vector.
	UpToDate []USNCursor
}

// USNCursor says that all changes originated by the DC with InvocationID
// at USNs up to USN have been seen.
type USNCursor struct {
	InvocationID [16]byte
	USN          int64
}

// IsZero reports whether c is the zero Cursor (a full pass).
func (c Cursor) IsZero() bool {
	return c.InvocationID == [16]byte{} && c.HighObjUpdate == 0 && c.HighPropUpdate == 0 && len(c.UpToDate) == 0
}

const cursorVersion = 1

// ErrBadCursor is returned by ParseCursor for data that is not a cursor.
var ErrBadCursor = errors.New("drsr: malformed replication cursor")

// MarshalBinary encodes the cursor: a version byte, the invocation id, the
// high-water mark, and the vector (at most 65535 entries).
func (c Cursor) MarshalBinary() ([]byte, error) {
	if len(c.UpToDate) > 0xffff {
		return nil, fmt.Errorf("drsr: encode cursor: %d up-to-dateness entries", len(c.UpToDate))
	}
	var b bytes.Buffer
	b.WriteByte(cursorVersion)
	b.Write(c.InvocationID[:])
	_ = binary.Write(&b, binary.LittleEndian, [2]int64{c.HighObjUpdate, c.HighPropUpdate})
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(c.UpToDate)))
	for _, u := range c.UpToDate {
		b.Write(u.InvocationID[:])
		_ = binary.Write(&b, binary.LittleEndian, u.USN)
	}
	return b.Bytes(), nil
}

// ParseCursor decodes what MarshalBinary wrote. Empty data is the zero
// Cursor.
func ParseCursor(data []byte) (Cursor, error) {
	var c Cursor
	if len(data) == 0 {
		return c, nil
	}
	r := bytes.NewReader(data)
	v, _ := r.ReadByte()
	if v != cursorVersion {
		return Cursor{}, fmt.Errorf("%w: version %d", ErrBadCursor, v)
	}
	var hw [2]int64
	var n uint16
	if _, err := r.Read(c.InvocationID[:]); err != nil {
		return Cursor{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if err := binary.Read(r, binary.LittleEndian, &hw); err != nil {
		return Cursor{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return Cursor{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if r.Len() != int(n)*24 {
		return Cursor{}, fmt.Errorf("%w: %d bytes for %d entries", ErrBadCursor, r.Len(), n)
	}
	c.HighObjUpdate, c.HighPropUpdate = hw[0], hw[1]
	c.UpToDate = make([]USNCursor, n)
	for i := range c.UpToDate {
		_, _ = r.Read(c.UpToDate[i].InvocationID[:])
		_ = binary.Read(r, binary.LittleEndian, &c.UpToDate[i].USN)
	}
	return c, nil
}

// guidBytes returns the GUID in its wire layout (first three fields
// little-endian).
func guidBytes(g *dtyp.GUID) [16]byte {
	var b [16]byte
	if g == nil {
		return b
	}
	binary.LittleEndian.PutUint32(b[0:], g.Data1)
	binary.LittleEndian.PutUint16(b[4:], g.Data2)
	binary.LittleEndian.PutUint16(b[6:], g.Data3)
	copy(b[8:], g.Data4)
	return b
}

func guidFromBytes(b [16]byte) *dtyp.UUID {
	g := &dtyp.GUID{
		Data1: binary.LittleEndian.Uint32(b[0:]),
		Data2: binary.LittleEndian.Uint16(b[4:]),
		Data3: binary.LittleEndian.Uint16(b[6:]),
		Data4: append([]byte(nil), b[8:]...),
	}
	return (*dtyp.UUID)(g)
}

// utdVector turns the cursor's vector into the request's form.
func (c Cursor) utdVector() *drsuapi.UpToDateVectorV1Ext {
	if len(c.UpToDate) == 0 {
		return nil
	}
	v := &drsuapi.UpToDateVectorV1Ext{Version: 1, CursorsCount: uint32(len(c.UpToDate))}
	for _, u := range c.UpToDate {
		v.Cursors = append(v.Cursors, &drsuapi.UpToDateCursorV1{DSA: guidFromBytes(u.InvocationID), HighPropertyUpdate: u.USN})
	}
	return v
}
