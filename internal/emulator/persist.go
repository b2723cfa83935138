package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// persistDelay coalesces bursts of mutations into one write of the state file.
const persistDelay = 200 * time.Millisecond

const stateFileVersion = 1

var errNoState = errors.New("no state file")

// pj stores a proto message in a JSON document using protojson.
type pj[T proto.Message] struct{ M T }

func (p pj[T]) MarshalJSON() ([]byte, error) { return protojson.Marshal(p.M) }

func (p *pj[T]) UnmarshalJSON(b []byte) error {
	m := p.M.ProtoReflect().New().Interface().(T)
	if err := protojson.Unmarshal(b, m); err != nil {
		return err
	}
	p.M = m
	return nil
}

// stateFile is the on-disk form of state.
type stateFile struct {
	Version        int                               `json:"version"`
	UserpoolID     string                            `json:"userpool_id"`
	OrganizationID string                            `json:"organization_id"`
	Domain         string                            `json:"domain"`
	CreatedAt      time.Time                         `json:"created_at"`
	Users          []userFile                        `json:"users"`
	Groups         []groupFile                       `json:"groups"`
	Sessions       []pj[*idp.SynchronizationSession] `json:"sessions"`
	Settings       *pj[*idp.SynchronizationSettings] `json:"settings,omitempty"`
	Tokens         map[string]string                 `json:"replication_tokens"`
	LastCompleted  map[string]time.Time              `json:"last_completed"`
	Keys           []*saKey                          `json:"service_account_keys"`
	Issued         map[string]issuedToken            `json:"issued_tokens"`
	Operations     int                               `json:"operations"`
	Writeback      *wbState                          `json:"password_writeback,omitempty"`
}

type userFile struct {
	User             pj[*idp.User] `json:"user"`
	PasswordHash     string        `json:"password_hash,omitempty"`
	PasswordHashType string        `json:"password_hash_type,omitempty"`
	PasswordDigest   string        `json:"password_digest,omitempty"`
	NeedChange       bool          `json:"need_change,omitempty"`
}

type groupFile struct {
	Group   pj[*orgv1.Group] `json:"group"`
	Members []string         `json:"members"`
}

// toFile snapshots st. The caller holds Emulator.mu; the result shares no
// mutable data with st.
func (st *state) toFile() *stateFile {
	f := &stateFile{
		Version: stateFileVersion, UserpoolID: st.UserpoolID, OrganizationID: st.OrganizationID,
		Domain: st.Domain, CreatedAt: st.CreatedAt,
		Tokens: map[string]string{}, LastCompleted: map[string]time.Time{},
		Issued: map[string]issuedToken{}, Operations: st.opsTotal,
	}
	for _, u := range st.users {
		f.Users = append(f.Users, userFile{
			User: pj[*idp.User]{proto.Clone(u.User).(*idp.User)}, PasswordHash: u.PasswordHash,
			PasswordHashType: hashTypeName(u), PasswordDigest: u.PasswordDigest, NeedChange: u.NeedChange,
		})
	}
	sort.Slice(f.Users, func(i, j int) bool { return f.Users[i].User.M.Id < f.Users[j].User.M.Id })
	for _, g := range st.groups {
		f.Groups = append(f.Groups, groupFile{Group: pj[*orgv1.Group]{proto.Clone(g.Group).(*orgv1.Group)}, Members: sortedKeys(g.Members)})
	}
	sort.Slice(f.Groups, func(i, j int) bool { return f.Groups[i].Group.M.Id < f.Groups[j].Group.M.Id })
	for _, s := range st.sessions {
		f.Sessions = append(f.Sessions, pj[*idp.SynchronizationSession]{proto.Clone(s).(*idp.SynchronizationSession)})
	}
	sort.Slice(f.Sessions, func(i, j int) bool { return f.Sessions[i].M.SessionId < f.Sessions[j].M.SessionId })
	if st.settings != nil {
		f.Settings = &pj[*idp.SynchronizationSettings]{proto.Clone(st.settings).(*idp.SynchronizationSettings)}
	}
	for t, v := range st.tokens {
		f.Tokens[t.String()] = v
	}
	for t, v := range st.lastCompleted {
		f.LastCompleted[t.String()] = v
	}
	for _, k := range st.keys {
		kc := *k
		f.Keys = append(f.Keys, &kc)
	}
	sort.Slice(f.Keys, func(i, j int) bool { return f.Keys[i].ID < f.Keys[j].ID })
	for t, v := range st.issued {
		f.Issued[t] = v
	}
	f.Writeback = st.writeback.clone()
	return f
}

func hashTypeName(u *userRec) string {
	if u.PasswordHash == "" {
		return ""
	}
	return u.PasswordHashType.String()
}

func sessionTypeOf(name string) (idp.SessionType, error) {
	v, ok := idp.SessionType_value[name]
	if !ok {
		return 0, fmt.Errorf("unknown session type %q", name)
	}
	return idp.SessionType(v), nil
}

// toState rebuilds the in-memory state from its file form.
func (f *stateFile) toState() (*state, error) {
	if f.Version != stateFileVersion {
		return nil, fmt.Errorf("unsupported state file version %d", f.Version)
	}
	st := &state{
		UserpoolID: f.UserpoolID, OrganizationID: f.OrganizationID, Domain: f.Domain, CreatedAt: f.CreatedAt,
		users: map[string]*userRec{}, groups: map[string]*groupRec{}, sessions: map[string]*idp.SynchronizationSession{},
		tokens: map[idp.SessionType]string{}, lastCompleted: map[idp.SessionType]time.Time{},
		keys: map[string]*saKey{}, issued: map[string]issuedToken{}, opsTotal: f.Operations,
	}
	for _, u := range f.Users {
		rec := &userRec{User: u.User.M, PasswordHash: u.PasswordHash, PasswordDigest: u.PasswordDigest, NeedChange: u.NeedChange}
		if u.PasswordHashType != "" {
			rec.PasswordHashType = idp.PasswordHash_PasswordHashType(idp.PasswordHash_PasswordHashType_value[u.PasswordHashType])
		}
		st.users[rec.User.Id] = rec
	}
	for _, g := range f.Groups {
		rec := &groupRec{Group: g.Group.M, Members: map[string]struct{}{}}
		for _, m := range g.Members {
			rec.Members[m] = struct{}{}
		}
		st.groups[rec.Group.Id] = rec
	}
	for _, s := range f.Sessions {
		st.sessions[s.M.SessionId] = s.M
	}
	if f.Settings != nil {
		st.settings = f.Settings.M
	}
	for name, v := range f.Tokens {
		t, err := sessionTypeOf(name)
		if err != nil {
			return nil, err
		}
		st.tokens[t] = v
	}
	for name, v := range f.LastCompleted {
		t, err := sessionTypeOf(name)
		if err != nil {
			return nil, err
		}
		st.lastCompleted[t] = v
	}
	for _, k := range f.Keys {
		st.keys[k.ID] = k
	}
	for t, v := range f.Issued {
		st.issued[t] = v
	}
	st.writeback = f.Writeback
	st.init()
	st.restoreWriteback()
	return st, nil
}

// loadStateFile reads a state file; errNoState if it does not exist.
func loadStateFile(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoState
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decode state %s: %w", path, err)
	}
	st, err := f.toState()
	if err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	return st, nil
}

// writeFileAtomic writes data to path through a synced temporary file and a
// rename, so readers see the old or the new content, never a mix.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// persister writes the state file shortly after mutations.
type persister struct {
	path string

	mu      sync.Mutex // guards timer and dirty
	timer   *time.Timer
	dirty   bool
	writeMu sync.Mutex // serializes writes
}

// changed records a mutation; the state is written within persistDelay.
// The caller holds Emulator.mu.
func (e *Emulator) changed() {
	if e.pers.path == "" {
		return
	}
	p := &e.pers
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dirty = true
	if p.timer == nil {
		p.timer = time.AfterFunc(persistDelay, func() {
			if err := e.flush(); err != nil {
				e.log.Error("persist emulator state", zap.String("path", p.path), zap.Error(err))
			}
		})
	}
}

// flush writes the state file now if anything changed since the last write.
func (e *Emulator) flush() error {
	p := &e.pers
	if p.path == "" {
		return nil
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	dirty := p.dirty
	p.dirty = false
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
	if !dirty {
		return nil
	}
	e.mu.Lock()
	f := e.st.toFile()
	e.mu.Unlock()
	data, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return writeFileAtomic(p.path, data)
}
