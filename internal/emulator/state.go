package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
)

// state is everything the emulator knows. It is guarded by Emulator.mu.
// Proto messages stored here are never handed out: readers get clones.
type state struct {
	UserpoolID, OrganizationID, Domain string
	CreatedAt                          time.Time

	users    map[string]*userRec  // by user id
	groups   map[string]*groupRec // by group id
	sessions map[string]*idp.SynchronizationSession
	settings *idp.SynchronizationSettings // nil: the pool has none
	tokens   map[idp.SessionType]string   // replication tokens
	// lastCompleted is when the last COMPLETED session of a type closed.
	lastCompleted map[idp.SessionType]time.Time
	keys          map[string]*saKey      // service account keys by key id
	issued        map[string]issuedToken // IAM tokens issued by IamTokenService.Create
	// writeback is the password writeback queue; nil until first used.
	writeback *wbState

	// transitions are the users in CREATING or DELETING status, by id;
	// not persisted (a loaded state settles them at once).
	transitions map[string]transition

	ops      map[string]*opRec
	opOrder  []string // ids in creation order, to bound memory
	opsTotal int      // operations ever created, including forgotten ones

	// Indexes, derived from users and groups.
	userByName   map[string]string // lower-case username -> id
	userByExt    map[string]string // external_id -> id
	groupByName  map[string]string // lower-case name -> id
	groupByExt   map[string]string // subject container + "\x00" + external_id -> id
	groupsOfUser map[string]map[string]struct{}
	expiring     map[string]struct{} // ids of users with an expires_at
}

// userRec is a user plus the credentials that reads never return.
type userRec struct {
	User *idp.User
	// PasswordHash is the SHA-256 (hex) of the hash given to SetPasswordHash
	// or a create with password_hash, and PasswordHashType its type: like the
	// real service (which derives its own Argon2 hash), the emulator does not
	// keep the hash itself. Never returned; the dump shows a fingerprint.
	PasswordHash     string
	PasswordHashType idp.PasswordHash_PasswordHashType
	// PasswordDigest is the SHA-256 of a password set through password_spec;
	// the password itself is not kept.
	PasswordDigest string
	NeedChange     bool
}

type groupRec struct {
	Group   *orgv1.Group
	Members map[string]struct{} // subject ids
}

// opsLimit bounds how many operations are kept for OperationService.Get.
const opsLimit = 100000

func newState(pool, org, domain string, now time.Time) *state {
	st := &state{UserpoolID: pool, OrganizationID: org, Domain: domain, CreatedAt: now}
	st.init()
	return st
}

// init allocates the maps and rebuilds the indexes from users and groups.
func (st *state) init() {
	if st.users == nil {
		st.users = map[string]*userRec{}
	}
	if st.groups == nil {
		st.groups = map[string]*groupRec{}
	}
	if st.sessions == nil {
		st.sessions = map[string]*idp.SynchronizationSession{}
	}
	if st.tokens == nil {
		st.tokens = map[idp.SessionType]string{}
	}
	if st.lastCompleted == nil {
		st.lastCompleted = map[idp.SessionType]time.Time{}
	}
	if st.keys == nil {
		st.keys = map[string]*saKey{}
	}
	if st.issued == nil {
		st.issued = map[string]issuedToken{}
	}
	st.ops = map[string]*opRec{}
	st.transitions = map[string]transition{}
	st.userByName = map[string]string{}
	st.userByExt = map[string]string{}
	st.groupByName = map[string]string{}
	st.groupByExt = map[string]string{}
	st.groupsOfUser = map[string]map[string]struct{}{}
	st.expiring = map[string]struct{}{}
	for _, u := range st.users {
		st.indexUser(u.User)
		// A transition that was under way when the state was written
		// ends at the first call.
		if s := u.User.Status; s == idp.User_CREATING || s == idp.User_DELETING {
			st.transitions[u.User.Id] = transition{to: idp.User_ACTIVE}
		}
	}
	for _, g := range st.groups {
		st.indexGroup(g.Group)
		for m := range g.Members {
			st.addGroupOfUser(m, g.Group.Id)
		}
	}
}

func userNameKey(username string) string { return strings.ToLower(username) }

func (st *state) indexUser(u *idp.User) {
	st.userByName[userNameKey(u.Username)] = u.Id
	if u.ExternalId != "" {
		st.userByExt[u.ExternalId] = u.Id
	}
	if u.ExpiresAt != nil {
		st.expiring[u.Id] = struct{}{}
	}
}

func (st *state) unindexUser(u *idp.User) {
	delete(st.userByName, userNameKey(u.Username))
	if u.ExternalId != "" {
		delete(st.userByExt, u.ExternalId)
	}
	delete(st.expiring, u.Id)
}

// groupNameKey is the key group names are unique by: case-insensitive.
func groupNameKey(name string) string { return strings.ToLower(name) }

func groupExtKey(container, externalID string) string { return container + "\x00" + externalID }

func (st *state) indexGroup(g *orgv1.Group) {
	st.groupByName[groupNameKey(g.Name)] = g.Id
	if g.ExternalId != "" {
		st.groupByExt[groupExtKey(g.SubjectContainerId, g.ExternalId)] = g.Id
	}
}

func (st *state) unindexGroup(g *orgv1.Group) {
	delete(st.groupByName, groupNameKey(g.Name))
	if g.ExternalId != "" {
		delete(st.groupByExt, groupExtKey(g.SubjectContainerId, g.ExternalId))
	}
}

func (st *state) addGroupOfUser(userID, groupID string) {
	set := st.groupsOfUser[userID]
	if set == nil {
		set = map[string]struct{}{}
		st.groupsOfUser[userID] = set
	}
	set[groupID] = struct{}{}
}

func (st *state) removeGroupOfUser(userID, groupID string) {
	if set := st.groupsOfUser[userID]; set != nil {
		delete(set, groupID)
		if len(set) == 0 {
			delete(st.groupsOfUser, userID)
		}
	}
}

// idAlphabet is the alphabet of Yandex Cloud resource ids.
const idAlphabet = "abcdefghijklmnopqrstuv0123456789"

// newID returns a 20-character id starting with prefix, like Yandex Cloud ids.
func newID(prefix string) string {
	const n = 20
	b := make([]byte, n-len(prefix))
	rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + string(b)
}

// digest is the SHA-256 of a secret, in hex.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// fingerprint is the short, non-reversible form of a secret shown in dumps.
func fingerprint(secret string) string {
	if secret == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:4])
}
