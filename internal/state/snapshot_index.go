package state

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/idsync/idsync/internal/directory"
)

// In format 2 a member list is a list of indices into the ids of the file:
// 0..Users-1 are the users' ExternalIDs, then the excluded users', then
// the id table (the groups' ids and the members from outside the scope).
// See the comment at the top of snapshot.go.

// linksRecord is directory.Links in a format 2 file.
type linksRecord struct {
	Group   uint32
	RID     uint32
	InScope bool
	Direct  []uint32
	// EmptyDirect marks a Direct that is empty but not nil: gob sends
	// neither, and a snapshot reads back exactly as it was saved.
	EmptyDirect bool
}

// groupRecord is directory.Group in a format 2 file.
type groupRecord struct {
	ID             uint32
	DN             string
	SID            string
	SAMAccountName string
	Name           string
	Description    string
	RID            uint32
	Members        []uint32
	EmptyMembers   bool
}

// snapshotIndex numbers the ids of a snapshot being written.
type snapshotIndex struct {
	pos map[string]uint32
	// same finds an id by where its bytes are: member lists share the
	// users' strings (ldapsource interns them, decoding shares them), and
	// that lookup hashes a pointer where pos reads and hashes the id. An
	// entry holds when the id found there has the same length.
	same  map[*byte]uint32
	ids   []string // by index, to check the length of an id found in same
	table []string // ids that are no user's, in the order first met
	// refs holds the indices of the links' and the groups' ids and member
	// lists in the order they are written (each group's id, then its
	// members), so that each id is looked up once.
	refs []uint32
}

// next returns the next n indices of ix.refs.
func (ix *snapshotIndex) next(n int) []uint32 {
	r := ix.refs[:n:n]
	ix.refs = ix.refs[n:]
	return r
}

// index returns id's index and whether it had one; an id without one gets
// the next (the caller appends it to ids).
func (ix *snapshotIndex) index(id string) (uint32, bool) {
	p, ok := ix.pos[id]
	if !ok {
		p = uint32(len(ix.ids))
		ix.pos[id] = p
	}
	return p, ok
}

// note lets same find index p by where id's bytes are.
func (ix *snapshotIndex) note(id string, p uint32) {
	if id != "" {
		ix.same[unsafe.StringData(id)] = p
	}
}

// indexSnapshot numbers every id snap refers to. A user's id is its
// position (the first of users sharing one); the others go in the table.
func indexSnapshot(snap *directory.Snapshot) *snapshotIndex {
	users := len(snap.Users) + len(snap.Graph.Excluded)
	ix := &snapshotIndex{pos: make(map[string]uint32, users+len(snap.Graph.Links)),
		same: make(map[*byte]uint32, users+len(snap.Graph.Links)),
		ids:  make([]string, 0, users+len(snap.Graph.Links))}
	for _, us := range [][]directory.User{snap.Users, snap.Graph.Excluded} {
		for i := range us {
			id := us[i].ExternalID
			p, _ := ix.index(id)
			ix.note(id, p)
			ix.ids = append(ix.ids, id) // a user's position, even a repeated one
		}
	}
	refs := len(snap.Graph.Links) + len(snap.Groups)
	for i := range snap.Graph.Links {
		refs += len(snap.Graph.Links[i].Direct)
	}
	for i := range snap.Groups {
		refs += len(snap.Groups[i].Members)
	}
	ix.refs = make([]uint32, 0, refs)
	add := func(id string) {
		if id != "" {
			if p, ok := ix.same[unsafe.StringData(id)]; ok && len(ix.ids[p]) == len(id) {
				ix.refs = append(ix.refs, p)
				return
			}
		}
		p, ok := ix.index(id)
		if !ok {
			ix.note(id, p)
			ix.ids = append(ix.ids, id)
			ix.table = append(ix.table, id)
		}
		ix.refs = append(ix.refs, p)
	}
	for i := range snap.Graph.Links {
		add(snap.Graph.Links[i].GroupID)
		for _, id := range snap.Graph.Links[i].Direct {
			add(id)
		}
	}
	for i := range snap.Groups {
		add(snap.Groups[i].ExternalID)
		for _, id := range snap.Groups[i].Members {
			add(id)
		}
	}
	return ix
}

// writeRecords writes items as records (rec converts one) in chunks, as
// writeChunks does.
func writeRecords[T, R any](enc *gob.Encoder, items []T, rec func(*T) R) error {
	recs := make([]R, 0, min(len(items), snapshotChunk))
	for len(items) > 0 {
		n := min(len(items), snapshotChunk)
		recs = recs[:0]
		for i := range items[:n] {
			recs = append(recs, rec(&items[i]))
		}
		if err := enc.Encode(recs); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// writeLinks writes links as linksRecords.
func writeLinks(enc *gob.Encoder, links []directory.Links, ix *snapshotIndex) error {
	return writeRecords(enc, links, func(l *directory.Links) linksRecord {
		return linksRecord{Group: ix.next(1)[0], RID: l.RID, InScope: l.InScope,
			Direct: ix.next(len(l.Direct)), EmptyDirect: l.Direct != nil && len(l.Direct) == 0}
	})
}

// writeGroups writes groups as groupRecords.
func writeGroups(enc *gob.Encoder, groups []directory.Group, ix *snapshotIndex) error {
	return writeRecords(enc, groups, func(g *directory.Group) groupRecord {
		return groupRecord{ID: ix.next(1)[0], DN: g.DN, SID: g.SID, SAMAccountName: g.SAMAccountName,
			Name: g.Name, Description: g.Description, RID: g.RID,
			Members: ix.next(len(g.Members)), EmptyMembers: g.Members != nil && len(g.Members) == 0}
	})
}

// readGraph2 reads the id table, links and groups of a format 2 stream
// into snap, whose users are read.
func readGraph2(dec *gob.Decoder, h snapshotHeader, snap *directory.Snapshot) error {
	table, err := readChunks[string](dec, h.IDs, nil)
	if err != nil {
		return fmt.Errorf("id table: %w", err)
	}
	ids := make([]string, 0, len(snap.Users)+len(snap.Graph.Excluded)+len(table))
	for _, us := range [][]directory.User{snap.Users, snap.Graph.Excluded} {
		for i := range us {
			ids = append(ids, us[i].ExternalID)
		}
	}
	ids = append(ids, table...)
	r := resolver{ids: ids}
	if h.Links > 0 {
		snap.Graph.Links = make([]directory.Links, 0, h.Links)
	}
	err = readRecords(dec, h.Links, func(recs []linksRecord) error {
		reserve(&r, recs, func(l *linksRecord) int { return len(l.Direct) })
		for i := range recs {
			l := &recs[i]
			group, direct := r.id(l.Group), r.list(l.Direct, l.EmptyDirect)
			if r.err != nil {
				return r.err
			}
			snap.Graph.Links = append(snap.Graph.Links, directory.Links{GroupID: group, RID: l.RID, InScope: l.InScope, Direct: direct})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("group links: %w", err)
	}
	if h.Groups > 0 {
		snap.Groups = make([]directory.Group, 0, h.Groups)
	}
	err = readRecords(dec, h.Groups, func(recs []groupRecord) error {
		reserve(&r, recs, func(g *groupRecord) int { return len(g.Members) })
		for i := range recs {
			g := &recs[i]
			id, members := r.id(g.ID), r.list(g.Members, g.EmptyMembers)
			if r.err != nil {
				return r.err
			}
			snap.Groups = append(snap.Groups, directory.Group{ExternalID: id, DN: g.DN, SID: g.SID, SAMAccountName: g.SAMAccountName,
				Name: g.Name, Description: g.Description, RID: g.RID, Members: members})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("groups: %w", err)
	}
	return nil
}

// resolver turns indices into the shared id strings; member lists of one
// chunk share one allocation. The first index out of range is kept in err.
type resolver struct {
	ids   []string
	arena []string
	err   error
}

// reserve allocates the member lists of a chunk of records at once.
func reserve[R any](r *resolver, recs []R, size func(*R) int) {
	n := 0
	for i := range recs {
		n += size(&recs[i])
	}
	r.arena = make([]string, n)
}

func (r *resolver) id(i uint32) string {
	if int64(i) >= int64(len(r.ids)) {
		if r.err == nil {
			r.err = fmt.Errorf("id index %d out of %d ids", i, len(r.ids))
		}
		return ""
	}
	return r.ids[i]
}

func (r *resolver) list(idx []uint32, empty bool) []string {
	if len(idx) == 0 {
		if empty {
			return []string{}
		}
		return nil
	}
	out := r.arena[:len(idx):len(idx)]
	r.arena = r.arena[len(idx):]
	for j, i := range idx {
		out[j] = r.id(i)
	}
	return out
}

// readRecords decodes n records written in chunks, passing each chunk to
// each; one chunk's records are kept at a time.
func readRecords[R any](dec *gob.Decoder, n int, each func([]R) error) error {
	if n == 0 {
		return nil
	}
	buf := make([]R, min(n, snapshotChunk))
	for done := 0; done < n; {
		// gob leaves the fields a record omits (zero values) as they are.
		clear(buf)
		view := buf[:0]
		if err := dec.Decode(&view); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(view) == 0 || done+len(view) > n {
			return fmt.Errorf("chunk of %d elements after %d of %d", len(view), done, n)
		}
		if err := each(view); err != nil {
			return err
		}
		done += len(view)
	}
	return nil
}
