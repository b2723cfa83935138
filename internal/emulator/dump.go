package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
)

// Stats counts calls per full gRPC method name (for example
// idp.UserService_Create_FullMethodName) and failed calls per status code.
type Stats struct {
	Calls  map[string]int64     `json:"calls"`
	Errors map[codes.Code]int64 `json:"-"`
	// ErrorsByCode is Errors keyed by the code's name, for JSON.
	ErrorsByCode map[string]int64 `json:"errors"`
}

type statsCounter struct {
	mu     sync.Mutex
	calls  map[string]int64
	errors map[codes.Code]int64
}

func (c *statsCounter) add(method string, code codes.Code) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int64{}
		c.errors = map[codes.Code]int64{}
	}
	c.calls[method]++
	if code != codes.OK {
		c.errors[code]++
	}
}

// Stats returns a copy of the call counters since New.
func (e *Emulator) Stats() Stats {
	c := &e.stats
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Calls: map[string]int64{}, Errors: map[codes.Code]int64{}, ErrorsByCode: map[string]int64{}}
	for k, v := range c.calls {
		s.Calls[k] = v
	}
	for k, v := range c.errors {
		s.Errors[k] = v
		s.ErrorsByCode[k.String()] = v
	}
	return s
}

// Dump is a read-only, JSON-friendly view of the emulator state. It never
// contains passwords or password hashes, only short fingerprints.
type Dump struct {
	UserpoolID        string            `json:"userpool_id"`
	OrganizationID    string            `json:"organization_id"`
	Domain            string            `json:"domain"`
	Users             []DumpUser        `json:"users"`
	Groups            []DumpGroup       `json:"groups"`
	Sessions          []DumpSession     `json:"sessions"`
	Settings          json.RawMessage   `json:"settings,omitempty"` // protojson of SynchronizationSettings
	ReplicationTokens map[string]string `json:"replication_tokens"` // by session type name
	Operations        int               `json:"operations"`
	ServiceAccountKey []string          `json:"service_account_keys"` // key ids
}

// DumpUser is one user in a Dump.
type DumpUser struct {
	ID                  string     `json:"id"`
	Username            string     `json:"username"`
	ExternalID          string     `json:"external_id,omitempty"`
	FullName            string     `json:"full_name"`
	Email               string     `json:"email,omitempty"`
	Status              string     `json:"status"`
	ExpiresAt           *time.Time `json:"expires_at,omitempty"`
	PasswordHashType    string     `json:"password_hash_type,omitempty"`
	PasswordFingerprint string     `json:"password_fingerprint,omitempty"` // first 8 hex of sha256
	// NeedChange is true when the user must change the password at the
	// next sign-in (password_change_required or need_change).
	NeedChange bool     `json:"need_change,omitempty"`
	Groups     []string `json:"groups,omitempty"` // group ids
}

// DumpGroup is one group in a Dump.
type DumpGroup struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Description        string   `json:"description,omitempty"`
	SubjectContainerID string   `json:"subject_container_id,omitempty"`
	ExternalID         string   `json:"external_id,omitempty"`
	Members            []string `json:"members"` // subject ids
}

// DumpSession is one synchronization session in a Dump.
type DumpSession struct {
	ID         string         `json:"id"`
	AgentID    string         `json:"agent_id"`
	Type       string         `json:"type"`
	Status     string         `json:"status"`
	Mode       string         `json:"mode"`
	CreatedAt  time.Time      `json:"created_at"`
	ExpiresAt  time.Time      `json:"expires_at"`
	ClosedAt   *time.Time     `json:"closed_at,omitempty"`
	FailReason string         `json:"fail_reason,omitempty"`
	Progress   []DumpProgress `json:"progress,omitempty"`
}

// DumpProgress is one reported counter of a session.
type DumpProgress struct {
	Object     string `json:"object"`
	Change     string `json:"change"`
	Successful int64  `json:"successful"`
	Failed     int64  `json:"failed"`
}

// Dump returns the current state. Expired sessions are shown as EXPIRED,
// due user transitions are settled and users past their expires_at are
// deactivated.
func (e *Emulator) Dump() Dump {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireSessions()
	e.settleUsers()
	return e.st.dump()
}

// LoadDump reads a state file written by an emulator (Options.StatePath)
// and returns its dump.
func LoadDump(path string) (Dump, error) {
	st, err := loadStateFile(path)
	if err != nil {
		return Dump{}, fmt.Errorf("emulator: %w", err)
	}
	return st.dump(), nil
}

func (st *state) dump() Dump {
	d := Dump{
		UserpoolID: st.UserpoolID, OrganizationID: st.OrganizationID, Domain: st.Domain,
		Users: []DumpUser{}, Groups: []DumpGroup{}, Sessions: []DumpSession{},
		ReplicationTokens: map[string]string{}, Operations: st.opsTotal, ServiceAccountKey: []string{},
	}
	for _, r := range st.users {
		u := r.User
		du := DumpUser{
			ID: u.Id, Username: u.Username, ExternalID: u.ExternalId, FullName: u.FullName, Email: u.Email,
			Status: u.Status.String(), PasswordHashType: hashTypeName(r), Groups: sortedKeys(st.groupsOfUser[u.Id]),
			NeedChange: r.NeedChange,
		}
		if u.ExpiresAt != nil {
			t := u.ExpiresAt.AsTime()
			du.ExpiresAt = &t
		}
		switch {
		case r.PasswordHash != "":
			du.PasswordFingerprint = r.PasswordHash[:8] // the first 8 hex of sha256(hash)
		case r.PasswordDigest != "":
			du.PasswordFingerprint = fingerprint(r.PasswordDigest)
		}
		d.Users = append(d.Users, du)
	}
	sort.Slice(d.Users, func(i, j int) bool { return d.Users[i].Username < d.Users[j].Username })
	for _, r := range st.groups {
		g := r.Group
		d.Groups = append(d.Groups, DumpGroup{
			ID: g.Id, Name: g.Name, Description: g.Description, SubjectContainerID: g.SubjectContainerId,
			ExternalID: g.ExternalId, Members: sortedKeys(r.Members),
		})
	}
	sort.Slice(d.Groups, func(i, j int) bool { return d.Groups[i].Name < d.Groups[j].Name })
	for _, s := range st.sessions {
		ds := DumpSession{
			ID: s.SessionId, AgentID: s.AgentId, Type: s.SessionType.String(), Status: s.Status.String(),
			Mode: s.SyncMode.String(), CreatedAt: s.CreatedAt.AsTime(), ExpiresAt: s.ExpiresAt.AsTime(),
			FailReason: s.FailReason,
		}
		if s.ClosedAt != nil {
			t := s.ClosedAt.AsTime()
			ds.ClosedAt = &t
		}
		for _, p := range s.ProgressEntries {
			for _, c := range p.ChangeInfo {
				ds.Progress = append(ds.Progress, DumpProgress{
					Object: p.ObjectType.String(), Change: c.ChangeType.String(), Successful: c.Successful, Failed: c.Failed,
				})
			}
		}
		d.Sessions = append(d.Sessions, ds)
	}
	sort.Slice(d.Sessions, func(i, j int) bool {
		a, b := d.Sessions[i], d.Sessions[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	if st.settings != nil {
		if b, err := protojson.Marshal(st.settings); err == nil {
			d.Settings = b
		}
	}
	for t, v := range st.tokens {
		d.ReplicationTokens[t.String()] = v
	}
	for id := range st.keys {
		d.ServiceAccountKey = append(d.ServiceAccountKey, id)
	}
	sort.Strings(d.ServiceAccountKey)
	return d
}

// HTTPHandler serves the dump at /dump and the call statistics at /stats,
// as JSON. It is not subject to faults or authentication: bind it to a
// trusted address.
func (e *Emulator) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dump", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, e.Dump()) })
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, e.Stats()) })
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

// sortedKeys returns the keys of a set in order.
func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
