package drsrsource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/oiweiwei/go-msrpc/midl/uuid"
	"github.com/oiweiwei/go-msrpc/msrpc/drsr/drsuapi/v4"
	"github.com/oiweiwei/go-msrpc/msrpc/dtyp"
)

// errNoAccount means CrackNames did not find the replication account.
var errNoAccount = errors.New("drsr: the replication account was not found")

// CheckRights verifies that the replication account holds both rights: it
// replicates one object of the domain (Replicating Directory Changes), then
// the account's own password hash (Replicating Directory Changes All),
// which it wipes at once. A missing right is a *RightError naming it.
func (c *Client) CheckRights(ctx context.Context) error {
	_, err := c.getNCChanges(ctx, &drsuapi.MessageGetNCChangesRequestV8{
		DSAObjectDestination: c.destination(),
		NC:                   &drsuapi.DSName{StringName: c.opts.BaseDN},
		From:                 &drsuapi.Vector{},
		Flags:                drsuapi.WritableReplica | drsuapi.InitSync,
		MaxObjectsCount:      1,
		PartialAttributeSet:  pas(attPwdLastSet),
	}, RightGetChanges)
	if err != nil {
		return fmt.Errorf("drsr: check rights: %w", err)
	}
	guid, err := c.self(ctx)
	if err != nil {
		return fmt.Errorf("drsr: check rights: %w", err)
	}
	s, ok, err := c.secret(ctx, c.destination(), Account{ExternalID: "the replication account", guid: guid})
	if err != nil {
		return fmt.Errorf("drsr: check rights: %w", err)
	}
	if !ok {
		return &RightError{Right: RightGetChangesAll, Account: c.opts.Username,
			Err: errors.New("the domain controller returned no password hash for the account itself")}
	}
	s.Hash.Wipe()
	return nil
}

// self finds the replication account's objectGUID with DRSCrackNames.
func (c *Client) self(ctx context.Context) ([16]byte, error) {
	name, format := c.opts.Username, drsuapi.DSNameFormatNT4AccountName
	switch {
	case strings.Contains(name, `\`):
	case strings.Contains(name, "@"):
		format = drsuapi.DSNameFormatUserPrincipalName
	case c.opts.Domain != "" && !strings.Contains(c.opts.Domain, "."):
		name = c.opts.Domain + `\` + name
	case c.opts.Domain != "":
		name, format = name+"@"+c.opts.Domain, drsuapi.DSNameFormatUserPrincipalName
	default:
		return [16]byte{}, fmt.Errorf("%w: give the user name as DOMAIN\\name or name@domain", errNoAccount)
	}
	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	resp, err := c.cli.CrackNames(cctx, &drsuapi.CrackNamesRequest{
		Handle: c.handle, InVersion: 1,
		In: &drsuapi.MessageCrackNamesRequest{Value: &drsuapi.MessageCrackNamesRequest_V1{V1: &drsuapi.MessageCrackNamesRequestV1{
			FormatOffered: uint32(format), Names: []string{name}, FormatDesired: uint32(drsuapi.DSNameFormatUniqueIDName),
		}}},
	})
	if err != nil {
		return [16]byte{}, fmt.Errorf("crack name %s: %w", name, err)
	}
	r, ok := resp.Out.GetValue().(*drsuapi.MessageCrackNamesReplyV1)
	if !ok || r.Result == nil || len(r.Result.Items) != 1 || r.Result.Items[0].Status != 0 {
		return [16]byte{}, fmt.Errorf("%w: %s", errNoAccount, name)
	}
	u, err := uuid.Parse(strings.Trim(r.Result.Items[0].Name, "{}"))
	if err != nil {
		return [16]byte{}, fmt.Errorf("crack name %s: %w", name, err)
	}
	return guidBytes(dtyp.GUIDFromUUID(u)), nil
}
