package state

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
)

// writeFormat1 writes snap as idsync wrote snapshot files before format 2:
// member lists as strings, the header checked without the id table.
func writeFormat1(w io.Writer, snap *directory.Snapshot, id string, level int) error {
	h := snapshotHeader{Format: 1, ID: id, Watermark: snap.Watermark, Users: len(snap.Users),
		Excluded: len(snap.Graph.Excluded), Links: len(snap.Graph.Links), Groups: len(snap.Groups)}
	h.Check = crc32.ChecksumIEEE(fmt.Appendf(nil, "%d/%d/%d/%d/%d", h.Format, h.Users, h.Excluded, h.Links, h.Groups))
	zw, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		return err
	}
	enc := gob.NewEncoder(zw)
	for _, err := range []error{enc.Encode(h), writeChunks(enc, snap.Users), writeChunks(enc, snap.Graph.Excluded),
		writeChunks(enc, snap.Graph.Links), writeChunks(enc, snap.Groups)} {
		if err != nil {
			return err
		}
	}
	return zw.Close()
}

// oddSnapshot has what bigSnapshot lacks: members from outside the scope,
// users sharing an id, a group whose id is a user's, empty groups with nil
// and with empty member lists, the empty id, and ids that share memory.
func oddSnapshot() *directory.Snapshot {
	s := memberSnapshot(1200, 60, 4)
	s.Users = append(s.Users, directory.User{ExternalID: s.Users[5].ExternalID, Username: "twin@corp.test"},
		directory.User{ExternalID: "", Username: "noid@corp.test"})
	s.Graph.Excluded = append(s.Graph.Excluded, directory.User{ExternalID: s.Users[7].ExternalID, Username: "also@corp.test"})
	s.Groups = append(s.Groups,
		directory.Group{ExternalID: "empty-nil", Name: "nil members"},
		directory.Group{ExternalID: "empty", Name: "no members", Members: []string{}},
		directory.Group{ExternalID: s.Users[9].ExternalID, Name: "a group with a user's id",
			Members: []string{"foreign-1", s.Users[5].ExternalID, "", "foreign-1", s.Graph.Excluded[0].ExternalID}})
	s.Graph.Links = append(s.Graph.Links,
		directory.Links{GroupID: "empty-nil"},
		directory.Links{GroupID: "empty", Direct: []string{}},
		directory.Links{GroupID: "outside", Direct: []string{"foreign-2", "empty", s.Users[0].ExternalID}},
		// An id that starts another's bytes: same memory, not the same id.
		directory.Links{GroupID: s.Users[11].ExternalID[:8], Direct: []string{s.Users[11].ExternalID, s.Users[11].ExternalID[:8], s.Users[11].ExternalID[:9]}})
	return s
}

func TestSnapshotFormat2RoundTrip(t *testing.T) {
	for name, want := range map[string]*directory.Snapshot{
		"odd":     oddSnapshot(),
		"members": memberSnapshot(3000, 150, 10),
		"big":     bigSnapshot(3000, 1200),
		"empty":   {},
	} {
		t.Run(name, func(t *testing.T) {
			s, dir := openTemp(t)
			got := saveAndLoad(t, s, want)
			b, err := os.ReadFile(filepath.Join(dir, "snapshot.AD_SYNC.gz"))
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			h, err := readHeader(gob.NewDecoder(zr))
			if err != nil || h.Format != 2 {
				t.Fatalf("header %+v, %v; want format 2", h, err)
			}
			// Every member that is a user's id shares the first such
			// user's string.
			first := map[string]*byte{}
			for _, us := range [][]directory.User{got.Users, got.Graph.Excluded} {
				for _, u := range us {
					if _, ok := first[u.ExternalID]; !ok {
						first[u.ExternalID] = unsafe.StringData(u.ExternalID)
					}
				}
			}
			lists := [][]string{}
			for _, g := range got.Groups {
				lists = append(lists, g.Members)
			}
			for _, l := range got.Graph.Links {
				lists = append(lists, l.Direct)
			}
			for _, list := range lists {
				for _, m := range list {
					if p, ok := first[m]; ok && m != "" && unsafe.StringData(m) != p {
						t.Fatalf("member %s has its own copy", m)
					}
				}
			}
		})
	}
}

// Files written before format 2 still read, and their watermark is read
// from the header alone when the database recorded the file.
func TestSnapshotFormat1FileReads(t *testing.T) {
	for _, level := range []int{gzip.NoCompression, gzip.BestSpeed} {
		want := oddSnapshot()
		for i := range want.Groups { // format 1 reads an empty list back as nil
			if len(want.Groups[i].Members) == 0 {
				want.Groups[i].Members = nil
			}
		}
		for i := range want.Graph.Links {
			if len(want.Graph.Links[i].Direct) == 0 {
				want.Graph.Links[i].Direct = nil
			}
		}
		s, dir := openTemp(t)
		sw := &summingWriter{crc: crc32.NewIEEE()}
		err := writeAtomic(filepath.Join(dir, "snapshot.AD_SYNC.gz"), 0o600, func(w io.Writer) error {
			sw.w = w
			return writeFormat1(sw, want, "f1", level)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.putRecord("AD_SYNC", &snapshotRecord{Snapshot: "f1", Size: sw.n, CRC: sw.crc.Sum32()}); err != nil {
			t.Fatal(err)
		}
		if wm, err := s.Watermark("AD_SYNC"); err != nil || !cmp.Equal(wm, want.Watermark) {
			t.Fatalf("level %d: watermark %+v, %v; want %+v", level, wm, err, want.Watermark)
		}
		got, err := s.Snapshot("AD_SYNC")
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("level %d: format 1 file (-want +got):\n%s", level, diff)
		}
		// Saved again, it becomes format 2 and reads the same.
		saveAndLoad(t, s, got)
	}
}

func TestSnapshotFormat2DamagedIsAnError(t *testing.T) {
	snap := oddSnapshot()
	encode := func(h snapshotHeader, ix *snapshotIndex) []byte {
		var buf bytes.Buffer
		if err := encodeSnapshot(&buf, h, snap, ix); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	header := func() (snapshotHeader, *snapshotIndex) {
		ix := indexSnapshot(snap)
		return snapshotHeader{Format: snapshotFormat, ID: "x", Watermark: snap.Watermark, Users: len(snap.Users),
			Excluded: len(snap.Graph.Excluded), Links: len(snap.Graph.Links), Groups: len(snap.Groups), IDs: len(ix.table)}, ix
	}
	outOfRange := func(id string) []byte {
		h, ix := header()
		for i, p := range ix.refs {
			if p == ix.pos[id] {
				ix.refs[i] = uint32(len(snap.Users) + len(snap.Graph.Excluded) + len(ix.table))
			}
		}
		return encode(h, ix)
	}
	recount := func(f func(h *snapshotHeader)) []byte {
		h, ix := header()
		f(&h)
		return encode(h, ix)
	}
	good := encode(header())
	forged := func() []byte { // IDs changed after the check was made
		h, _ := header()
		h.Check = h.check()
		h.IDs++
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_ = gob.NewEncoder(zw).Encode(h)
		zw.Close()
		return buf.Bytes()
	}()
	s, dir := openTemp(t)
	path := filepath.Join(dir, "snapshot.AD_SYNC.gz")
	for name, c := range map[string]struct {
		file []byte
		why  string
	}{
		"direct member index":   {outOfRange("foreign-2"), "id index"},
		"group member index":    {outOfRange("foreign-1"), "id index"},
		"group id index":        {outOfRange("empty"), "id index"},
		"user member index":     {outOfRange(snap.Users[3].ExternalID), "id index"},
		"more ids than table":   {recount(func(h *snapshotHeader) { h.IDs++ }), "id table"},
		"fewer ids than table":  {recount(func(h *snapshotHeader) { h.IDs-- }), ""},
		"no id table":           {recount(func(h *snapshotHeader) { h.IDs = 0 }), ""},
		"more links":            {recount(func(h *snapshotHeader) { h.Links++ }), "group links"},
		"fewer groups":          {recount(func(h *snapshotHeader) { h.Groups-- }), ""},
		"format 1 with a table": {recount(func(h *snapshotHeader) { h.Format = 1 }), "damaged counts"},
		"ids not checked":       {forged, "damaged counts"},
		"truncated":             {good[:len(good)/2], ""},
		"truncated in groups":   {good[:len(good)-200], ""},
	} {
		if err := os.WriteFile(path, c.file, 0o600); err != nil {
			t.Fatal(err)
		}
		snap, err := s.Snapshot("AD_SYNC")
		if !errors.Is(err, ErrDamagedSnapshot) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: snapshot %v, err %v; want ErrDamagedSnapshot (%s)", name, snap != nil, err, c.why)
		}
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Snapshot("AD_SYNC"); err != nil {
		t.Fatalf("the file the damaged ones come from: %v", err)
	}
}

// FuzzSnapshotDecode: no input makes decoding panic, and what decodes
// saves and reads back the same.
func FuzzSnapshotDecode(f *testing.F) {
	small := &directory.Snapshot{
		Users:  []directory.User{{ExternalID: "u1"}, {ExternalID: "u2"}, {ExternalID: "u1"}},
		Groups: []directory.Group{{ExternalID: "g1", Members: []string{"u1", "x"}}, {ExternalID: "g2", Members: []string{}}},
		Graph: directory.Graph{Excluded: []directory.User{{ExternalID: "e"}},
			Links: []directory.Links{{GroupID: "g1", Direct: []string{"e", "g2", "u2"}}, {GroupID: "g2"}}},
	}
	var f2, f1 bytes.Buffer
	if err := writeSnapshot(&f2, small, "id"); err != nil {
		f.Fatal(err)
	}
	if err := writeFormat1(&f1, small, "id", gzip.NoCompression); err != nil {
		f.Fatal(err)
	}
	f.Add(f2.Bytes())
	f.Add(f1.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		snap, _, err := readSnapshot(bytes.NewReader(b))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := writeSnapshot(&buf, snap, "again"); err != nil {
			t.Fatal(err)
		}
		again, _, err := readSnapshot(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(snap, again); diff != "" {
			t.Fatalf("decoded snapshot saved again (-first +again):\n%s", diff)
		}
	})
}
