package emulator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultWritebackTTL is how long a password change waits for the agent's
// commit before its operation fails with DEADLINE_EXCEEDED.
const DefaultWritebackTTL = 2 * time.Minute

// doneLimit bounds how many finished writeback operations are remembered
// for repeated commits.
const doneLimit = 10000

// pwChange is a password change queued for password writeback. The
// plaintext is kept until the change is committed or expires: the agent
// must be able to read it again after a restart.
type pwChange struct {
	Offset      int64     `json:"offset"`
	UserID      string    `json:"user_id"`
	ExternalID  string    `json:"external_id"`
	Password    string    `json:"password"`
	OldPassword string    `json:"old_password,omitempty"`
	NeedChange  bool      `json:"need_change,omitempty"`
	Generated   bool      `json:"generated,omitempty"`
	Own         bool      `json:"own,omitempty"`
	OpID        string    `json:"operation_id"`
	CreatedAt   time.Time `json:"created_at"`
	OpExpiresAt time.Time `json:"operation_expires_at"`
	CreatedBy   string    `json:"created_by,omitempty"`
}

// wbDone is the outcome of a finished writeback operation.
type wbDone struct {
	OpID string `json:"operation_id"`
	// Code is the writeback error code name; empty for success; "EXPIRED"
	// when the operation timed out before a commit.
	Code string `json:"code,omitempty"`
}

// wbState is the writeback queue of the pool. It is guarded by Emulator.mu.
type wbState struct {
	Next    int64       `json:"next_offset"`
	Pending []*pwChange `json:"pending"`
	Done    []wbDone    `json:"done"`

	// notify is closed and replaced whenever the queue changes.
	notify chan struct{}
	// stream counts opened streams; only the newest one is served.
	stream int64
}

func (w *wbState) changedQueue() {
	if w.notify != nil {
		close(w.notify)
	}
	w.notify = make(chan struct{})
}

// wb returns the pool's writeback state, creating it on first use.
// The caller holds e.mu.
func (e *Emulator) wb() *wbState {
	if e.st.writeback == nil {
		e.st.writeback = &wbState{}
	}
	if e.st.writeback.notify == nil {
		e.st.writeback.notify = make(chan struct{})
	}
	return e.st.writeback
}

// restoreWriteback recreates the pending operations of a loaded state.
// The caller holds e.mu (or owns st).
func (st *state) restoreWriteback() {
	if st.writeback == nil {
		return
	}
	for _, c := range st.writeback.Pending {
		st.ops[c.OpID] = &opRec{op: pendingOp(c), doneAt: farFuture}
		st.opOrder = append(st.opOrder, c.OpID)
	}
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func pendingOp(c *pwChange) *operation.Operation {
	op := &operation.Operation{
		Id: c.OpID, CreatedAt: timestamppb.New(c.CreatedAt), ModifiedAt: timestamppb.New(c.CreatedAt),
		CreatedBy: c.CreatedBy,
	}
	var meta proto.Message = &idp.SetOthersPasswordMetadata{UserId: c.UserID}
	op.Description = "Set user password"
	if c.Own {
		meta = &idp.SetOwnPasswordMetadata{UserId: c.UserID}
		op.Description = "Set own password"
	}
	op.Metadata, _ = anypb.New(meta)
	return op
}

// writebackOn reports whether the pool's settings enable password writeback.
// The caller holds e.mu.
func (e *Emulator) writebackOn() bool {
	return e.st.settings.GetEnablePasswordWriteback()
}

// setPassword sets a user's password: at once, or, for an external user of
// a pool with password writeback, by queueing the change for the agent.
// The caller holds e.mu.
func (e *Emulator) setPassword(ctx context.Context, rec *userRec, spec *idp.PasswordSpec, oldPassword string, own bool) (*operation.Operation, error) {
	if spec.GetPassword() == "" {
		return nil, status.Error(codes.InvalidArgument, "password_spec.password is required")
	}
	generated := false
	if p := spec.GetGenerationProof(); p != "" {
		if !hmac.Equal([]byte(p), []byte(e.proof(spec.GetPassword()))) {
			return nil, status.Error(codes.InvalidArgument, "password_spec.generation_proof does not match the password")
		}
		generated = true
	}
	if own && rec.PasswordDigest != "" && !generated {
		sum := sha256.Sum256([]byte(oldPassword))
		if !hmac.Equal([]byte(hex.EncodeToString(sum[:])), []byte(rec.PasswordDigest)) {
			return nil, status.Error(codes.InvalidArgument, "the current password is wrong")
		}
	}
	u := rec.User
	if u.Status != idp.User_ACTIVE {
		return nil, status.Errorf(codes.FailedPrecondition, "user %s is %s", u.Id, u.Status)
	}
	if !e.writebackOn() || u.ExternalId == "" {
		e.applyPassword(rec, spec.GetPassword(), !own)
		if own {
			return e.newOp(ctx, "Set own password", &idp.SetOwnPasswordMetadata{UserId: u.Id}, &idp.SetOwnPasswordResponse{})
		}
		return e.newOp(ctx, "Set user password", &idp.SetOthersPasswordMetadata{UserId: u.Id}, &idp.SetOthersPasswordResponse{})
	}
	return e.queueChange(ctx, rec, spec.GetPassword(), oldPassword, !own, generated, own), nil
}

// queueChange queues a writeback change and records its pending
// operation. The caller holds e.mu.
func (e *Emulator) queueChange(ctx context.Context, rec *userRec, password, oldPassword string, needChange, generated, own bool) *operation.Operation {
	w := e.wb()
	now := e.now()
	w.Next++
	ttl := e.opts.WritebackTTL
	if ttl <= 0 {
		ttl = DefaultWritebackTTL
	}
	c := &pwChange{
		Offset: w.Next, UserID: rec.User.Id, ExternalID: rec.User.ExternalId, Password: password,
		NeedChange: needChange, Generated: generated, Own: own, OpID: newID("emo"),
		CreatedAt: now, OpExpiresAt: now.Add(ttl), CreatedBy: subjectFrom(ctx),
	}
	if own {
		c.OldPassword = oldPassword
	}
	w.Pending = append(w.Pending, c)
	w.changedQueue()
	e.st.ops[c.OpID] = &opRec{op: pendingOp(c), doneAt: farFuture}
	e.st.opOrder = append(e.st.opOrder, c.OpID)
	e.st.opsTotal++
	time.AfterFunc(ttl+time.Millisecond, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.expireWriteback()
	})
	e.changed()
	return proto.Clone(e.st.ops[c.OpID].op).(*operation.Operation)
}

// applyPassword stores a new password of rec. The caller holds e.mu.
func (e *Emulator) applyPassword(rec *userRec, password string, needChange bool) {
	sum := sha256.Sum256([]byte(password))
	rec.PasswordDigest = hex.EncodeToString(sum[:])
	rec.PasswordHash, rec.PasswordHashType = "", 0
	rec.NeedChange = needChange
	rec.User.PasswordCreatedAt = timestamppb.New(e.now())
	e.changed()
}

// expireWriteback fails the pending changes whose operation expired.
// The caller holds e.mu.
func (e *Emulator) expireWriteback() {
	w := e.st.writeback
	if w == nil {
		return
	}
	now := e.now()
	kept := w.Pending[:0]
	for _, c := range w.Pending {
		if now.Before(c.OpExpiresAt) {
			kept = append(kept, c)
			continue
		}
		e.finishChange(c, "EXPIRED", status.New(codes.DeadlineExceeded,
			"password writeback: the directory did not confirm the change in time"))
	}
	if len(kept) != len(w.Pending) {
		clear(w.Pending[len(kept):])
		w.Pending = kept
		w.changedQueue()
		e.changed()
	}
}

// finishChange completes c's operation: success when st is nil.
// The caller holds e.mu and removes c from the queue.
func (e *Emulator) finishChange(c *pwChange, code string, st *status.Status) {
	w := e.wb()
	now := e.now()
	op := pendingOp(c)
	op.Done, op.ModifiedAt = true, timestamppb.New(now)
	if st == nil {
		var resp proto.Message = &idp.SetOthersPasswordResponse{}
		if c.Own {
			resp = &idp.SetOwnPasswordResponse{}
		}
		r, _ := anypb.New(resp)
		op.Result = &operation.Operation_Response{Response: r}
	} else {
		op.Result = &operation.Operation_Error{Error: st.Proto()}
	}
	if rec, ok := e.st.ops[c.OpID]; ok {
		rec.op, rec.doneAt = op, now
	} else {
		e.recordOp(op, now)
	}
	w.Done = append(w.Done, wbDone{OpID: c.OpID, Code: code})
	if len(w.Done) > doneLimit {
		w.Done = append([]wbDone(nil), w.Done[len(w.Done)-doneLimit:]...)
	}
}

// SetOthersPassword sets another user's password (an administrator's
// reset; the user must change it at the next login). With password
// writeback on and an external user, the operation waits for the agent.
func (s userServer) SetOthersPassword(ctx context.Context, req *idp.SetOthersPasswordRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, err := e.user(req.GetUserId())
	if err != nil {
		return nil, err
	}
	return e.setPassword(ctx, rec, req.GetPasswordSpec(), "", false)
}

// SetOwnPassword sets the calling user's password. Only a pool user may
// call it (see UserToken).
func (s userServer) SetOwnPassword(ctx context.Context, req *idp.SetOwnPasswordRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.st.users[subjectFrom(ctx)]
	if !ok {
		return nil, status.Error(codes.PermissionDenied, "SetOwnPassword is for pool users; the caller is not one")
	}
	return e.setPassword(ctx, rec, req.GetPasswordSpec(), req.GetOldPassword(), true)
}

// UserToken issues an IAM token that authenticates as the pool user id, so
// tests can call SetOwnPassword as that user would.
func (e *Emulator) UserToken(userID string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.st.users[userID]; !ok {
		return "", status.Errorf(codes.NotFound, "user %s not found", userID)
	}
	token := "t1.user." + newID("tok")
	e.st.issued[token] = issuedToken{Subject: userID, ExpiresAt: e.now().Add(e.opts.TokenTTL)}
	e.changed()
	return token, nil
}

// PasswordDigestMatches reports whether the cloud password of user id is
// password (for tests; the emulator keeps only a digest).
func (e *Emulator) PasswordDigestMatches(id, password string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.st.users[id]
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(password))
	return rec.PasswordDigest == hex.EncodeToString(sum[:])
}

// PendingPasswordChanges returns how many writeback changes wait for a
// commit.
func (e *Emulator) PendingPasswordChanges() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireWriteback()
	if e.st.writeback == nil {
		return 0
	}
	return len(e.st.writeback.Pending)
}

// clone copies w for the state file. The caller holds e.mu.
func (w *wbState) clone() *wbState {
	if w == nil || (w.Next == 0 && len(w.Pending) == 0) {
		return nil
	}
	out := &wbState{Next: w.Next, Done: append([]wbDone(nil), w.Done...)}
	for _, c := range w.Pending {
		cc := *c
		out.Pending = append(out.Pending, &cc)
	}
	return out
}
