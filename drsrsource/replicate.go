package drsrsource

import (
	"context"
	"crypto/rand"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/oiweiwei/go-msrpc/msrpc/drsr/drsuapi/v4"
	"github.com/oiweiwei/go-msrpc/msrpc/dtyp"
	"go.uber.org/zap"
)

// Attribute ids in the default prefix table (prefix 9 is 1.2.840.113556.1.4).
const (
	attUnicodePwd = 0x0009005a
	attPwdLastSet = 0x00090060
	attObjectSid  = 0x00090092
)

var (
	oidUnicodePwd = asn1.ObjectIdentifier{1, 2, 840, 113556, 1, 4, 90}
	oidPwdLastSet = asn1.ObjectIdentifier{1, 2, 840, 113556, 1, 4, 96}
	oidObjectSid  = asn1.ObjectIdentifier{1, 2, 840, 113556, 1, 4, 146}
)

// Windows error codes the DC answers with.
const (
	werrAccessDenied       = 5    // ERROR_ACCESS_DENIED
	werrDRAAccessDenied    = 8453 // ERROR_DS_DRA_ACCESS_DENIED
	werrDRABadDN           = 8439 // ERROR_DS_DRA_BAD_DN
	werrDRASourceReinstall = 8455 // ERROR_DS_DRA_SOURCE_REINSTALLED
)

// ErrNoObject means the DC does not have the object (or naming context)
// asked for.
var ErrNoObject = errors.New("no such object on the domain controller")

// Rights the replication account needs, named as in Active Directory.
const (
	RightGetChanges    = "Replicating Directory Changes"
	RightGetChangesAll = "Replicating Directory Changes All"
)

// RightError means the DC refused replication for lack of a right.
type RightError struct {
	// Right is RightGetChanges or RightGetChangesAll.
	Right string
	// Account is the replication account.
	Account string
	// Err is the DC's answer.
	Err error
}

func (e *RightError) Error() string {
	return fmt.Sprintf("drsr: the account %s lacks the %q right on the domain (grant %q and %q on the domain root): %v",
		e.Account, e.Right, RightGetChanges, RightGetChangesAll, e.Err)
}

func (e *RightError) Unwrap() error { return e.Err }

// Changes replicates the domain naming context from cursor from (the zero
// Cursor means everything) and calls fn for each in-scope object whose
// password changed since. It asks only for pwdLastSet: no secret is
// replicated. It returns the cursor to resume from and whether it was a
// full pass (from was zero, or belonged to another DC or database). The new
// cursor should be kept only after the accounts were handled.
func (c *Client) Changes(ctx context.Context, from Cursor, fn func(Account) error) (Cursor, bool, error) {
	full := from.IsZero()
	for {
		next, restart, err := c.changes(ctx, from, fn)
		if restart {
			c.log.Info("replication cursor belongs to another DC or database; full pass")
			from, full = Cursor{}, true
			continue
		}
		return next, full, err
	}
}

// maxStalledRounds is how many "more data" replies in a row may leave the
// replication watermark where it was before Changes gives up.
const maxStalledRounds = 5

// ErrNoProgress means the DC kept answering a replication request with more
// data without moving its watermark (it restarted the pass each time); the
// session fails and the next one starts on a new connection.
var ErrNoProgress = errors.New("the domain controller restarted the replication pass repeatedly without progress")

func (c *Client) changes(ctx context.Context, from Cursor, fn func(Account) error) (Cursor, bool, error) {
	dest := c.destination()
	hw := &drsuapi.Vector{HighObjectUpdate: from.HighObjUpdate, HighPropertyUpdate: from.HighPropUpdate}
	utd := from.utdVector()
	flags := uint32(drsuapi.WritableReplica)
	if from.IsZero() {
		flags |= drsuapi.InitSync
	}
	first := true
	stalled := 0
	for {
		r, err := c.getNCChanges(ctx, &drsuapi.MessageGetNCChangesRequestV8{
			DSAObjectDestination:      dest,
			NC:                        &drsuapi.DSName{StringName: c.opts.BaseDN},
			From:                      hw,
			UpToDateVectorDestination: utd,
			Flags:                     flags,
			MaxObjectsCount:           c.opts.PageObjects,
			MaxBytesCount:             8 << 20,
			PartialAttributeSet:       pas(attPwdLastSet),
		}, RightGetChanges)
		if err != nil {
			return Cursor{}, false, err
		}
		if first && !from.IsZero() && guidBytes((*dtyp.GUID)(r.InvocationIDSource)) != from.InvocationID {
			return Cursor{}, true, nil
		}
		first = false
		prefixes := r.PrefixTableSource.Build()
		for o := r.Objects; o != nil; o = o.NextEntityInfo {
			acc, ok := c.account(o.EntityInfo, prefixes)
			if !ok {
				continue
			}
			if err := fn(acc); err != nil {
				return Cursor{}, false, err
			}
		}
		// A DC that answers "more data" without moving past the request's
		// watermark has restarted the pass; one that keeps doing so would
		// make this loop run forever, so stop after a few such rounds.
		if r.MoreData && (r.To == nil || hw == nil || r.To.HighObjectUpdate <= hw.HighObjectUpdate) {
			if stalled++; stalled >= maxStalledRounds {
				return Cursor{}, false, fmt.Errorf("drsr: GetNCChanges: %w", ErrNoProgress)
			}
		} else {
			stalled = 0
		}
		hw = r.To
		if !r.MoreData {
			next := Cursor{InvocationID: guidBytes((*dtyp.GUID)(r.InvocationIDSource))}
			if r.To != nil {
				next.HighObjUpdate, next.HighPropUpdate = r.To.HighObjectUpdate, r.To.HighPropertyUpdate
			}
			if v := r.UpToDateVectorSource; v != nil {
				for _, u := range v.Cursors {
					next.UpToDate = append(next.UpToDate, USNCursor{InvocationID: guidBytes((*dtyp.GUID)(u.DSA)), USN: u.HighPropertyUpdate})
				}
			}
			return next, false, nil
		}
	}
}

// account turns a replicated object into an Account when it is in scope and
// its pwdLastSet was replicated (the password changed).
func (c *Client) account(e *drsuapi.EntityInfo, prefixes drsuapi.PrefixTable) (Account, bool) {
	if e == nil || e.Name == nil || !c.inScope(e.Name.StringName) {
		return Account{}, false
	}
	acc := Account{DN: e.Name.StringName, guid: guidBytes(e.Name.GUID), ExternalID: e.Name.GUID.String()}
	seen := false
	for _, a := range attrs(e) {
		oid, err := prefixes.AttributeToOID(a.AttributeType)
		if err != nil || !oid.Equal(oidPwdLastSet) {
			continue // attributes the library does not know are skipped
		}
		if v := firstValue(a); len(v) == 8 {
			seen = true
			acc.MustChange = binary.LittleEndian.Uint64(v) == 0
		}
	}
	return acc, seen && acc.guid != [16]byte{}
}

// Hashes fetches, one object at a time, the NT hash of each account and
// calls fn with it. The hash is wiped when fn returns: fn must not keep it.
// Accounts without a password (no unicodePwd) are skipped. The first error
// from fn or from the DC stops the loop.
func (c *Client) Hashes(ctx context.Context, accounts []Account, fn func(*Secret) error) error {
	dest := c.destination()
	for _, acc := range accounts {
		s, ok, err := c.secret(ctx, dest, acc)
		if err != nil {
			return err
		}
		if !ok {
			c.log.Debug("account has no password hash", zap.String("external_id", acc.ExternalID))
			continue
		}
		err = fn(s)
		s.Hash.Wipe()
		if err != nil {
			return err
		}
	}
	return nil
}

// secret replicates one object's password attributes and decrypts its hash.
func (c *Client) secret(ctx context.Context, dest *dtyp.UUID, acc Account) (*Secret, bool, error) {
	r, err := c.getNCChanges(ctx, &drsuapi.MessageGetNCChangesRequestV8{
		DSAObjectDestination: dest,
		NC:                   &drsuapi.DSName{GUID: (*dtyp.GUID)(guidFromBytes(acc.guid))},
		From:                 &drsuapi.Vector{},
		Flags:                drsuapi.WritableReplica,
		MaxObjectsCount:      1,
		ExtendedOperation:    drsuapi.ExtendedOperationReplicationObject,
		PartialAttributeSet:  pas(attUnicodePwd, attObjectSid, attPwdLastSet),
	}, RightGetChangesAll)
	if errors.Is(err, ErrNoObject) {
		return nil, false, nil // deleted since it was listed
	}
	if err != nil {
		return nil, false, fmt.Errorf("drsr: replicate %s: %w", acc.ExternalID, err)
	}
	prefixes := r.PrefixTableSource.Build()
	for o := r.Objects; o != nil; o = o.NextEntityInfo {
		e := o.EntityInfo
		if e == nil || e.Name == nil || guidBytes(e.Name.GUID) != acc.guid {
			continue
		}
		var enc, sid []byte
		for _, a := range attrs(e) {
			oid, err := prefixes.AttributeToOID(a.AttributeType)
			if err != nil {
				continue
			}
			switch {
			case oid.Equal(oidUnicodePwd):
				enc = firstValue(a)
			case oid.Equal(oidObjectSid):
				sid = firstValue(a)
			case oid.Equal(oidPwdLastSet):
				if v := firstValue(a); len(v) == 8 {
					acc.MustChange = binary.LittleEndian.Uint64(v) == 0
				}
			}
		}
		if len(sid) < 12 && e.Name.SID != nil {
			sid = e.Name.SID.Data
		}
		if len(enc) == 0 || len(sid) < 12 {
			return nil, false, nil
		}
		acc.rid = binary.LittleEndian.Uint32(sid[len(sid)-4:])
		plain, err := drsuapi.DecryptHash(c.cli.Conn().Context(), acc.rid, enc)
		if err != nil {
			return nil, false, fmt.Errorf("drsr: decrypt the hash of %s: %w", acc.ExternalID, err)
		}
		s := &Secret{Account: acc}
		if len(plain) != len(s.Hash.b) {
			clear(plain)
			return nil, false, fmt.Errorf("drsr: the hash of %s has %d bytes, want 16", acc.ExternalID, len(plain))
		}
		copy(s.Hash.b[:], plain)
		clear(plain)
		return s, true, nil
	}
	return nil, false, nil
}

// getNCChanges sends one V8 request and returns the V6 reply. Access
// denials become a *RightError naming right.
func (c *Client) getNCChanges(ctx context.Context, req *drsuapi.MessageGetNCChangesRequestV8, right string) (*drsuapi.MessageGetNCChangesReplyV6, error) {
	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	resp, err := c.cli.GetNCChanges(cctx, &drsuapi.GetNCChangesRequest{
		Handle: c.handle, InVersion: 8,
		In: &drsuapi.MessageGetNCChangesRequest{Value: &drsuapi.MessageGetNCChangesRequest_V8{V8: req}},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("drsr: GetNCChanges: %w", ctx.Err())
		}
		if resp != nil && (resp.Return == werrDRAAccessDenied || resp.Return == werrAccessDenied) {
			return nil, &RightError{Right: right, Account: c.opts.Username, Err: err}
		}
		if resp != nil && resp.Return == werrDRABadDN {
			return nil, fmt.Errorf("drsr: GetNCChanges: %w: %w", ErrNoObject, err)
		}
		return nil, fmt.Errorf("drsr: GetNCChanges: %w", err)
	}
	r, ok := resp.Out.GetValue().(*drsuapi.MessageGetNCChangesReplyV6)
	if !ok {
		return nil, fmt.Errorf("drsr: GetNCChanges: unexpected reply version %d", resp.OutVersion)
	}
	switch r.ExtendedReturn {
	case 0, 1: // none, success
	default:
		return nil, fmt.Errorf("drsr: GetNCChanges: extended operation result %d", r.ExtendedReturn)
	}
	if r.DRSError == werrDRAAccessDenied || r.DRSError == werrAccessDenied {
		return nil, &RightError{Right: right, Account: c.opts.Username, Err: fmt.Errorf("DRS error %d", r.DRSError)}
	}
	if r.DRSError != 0 {
		return nil, fmt.Errorf("drsr: GetNCChanges: DRS error %d", r.DRSError)
	}
	return r, nil
}

// destination is a random DSA id for this client's requests (the DC keeps
// per-destination continuation state).
func (c *Client) destination() *dtyp.UUID {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return guidFromBytes(b)
}

func pas(ids ...uint32) *drsuapi.PartialAttributeVectorV1Ext {
	return &drsuapi.PartialAttributeVectorV1Ext{Version: 1, AttrsCount: uint32(len(ids)), PartialAttribute: ids}
}

func attrs(e *drsuapi.EntityInfo) []*drsuapi.Attribute {
	if e.AttributeBlock == nil {
		return nil
	}
	return e.AttributeBlock.Attribute
}

func firstValue(a *drsuapi.Attribute) []byte {
	if a.AttributeValue == nil || len(a.AttributeValue.Values) == 0 || a.AttributeValue.Values[0] == nil {
		return nil
	}
	return a.AttributeValue.Values[0].Value
}
