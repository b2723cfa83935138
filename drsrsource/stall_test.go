package drsrsource

import (
	"context"
	"errors"
	"testing"

	"github.com/oiweiwei/go-msrpc/dcerpc"
	drsuapi "github.com/oiweiwei/go-msrpc/msrpc/drsr/drsuapi/v4"
	"go.uber.org/zap"
)

// restartingDC answers every GetNCChanges with "more data" from the start
// of the pass, as a DC does that restarts the pass on each request.
type restartingDC struct {
	drsuapi.DrsuapiClient
	calls int
}

func (d *restartingDC) GetNCChanges(context.Context, *drsuapi.GetNCChangesRequest, ...dcerpc.CallOption) (*drsuapi.GetNCChangesResponse, error) {
	d.calls++
	return &drsuapi.GetNCChangesResponse{OutVersion: 6, Out: &drsuapi.MessageGetNCChangesReply{
		Value: &drsuapi.MessageGetNCChangesReply_V6{V6: &drsuapi.MessageGetNCChangesReplyV6{
			To: &drsuapi.Vector{HighObjectUpdate: 10}, MoreData: true,
		}},
	}}, nil
}

// TestChangesStopsWhenTheDCMakesNoProgress: a DC that keeps restarting the
// pass must not keep Changes looping forever.
func TestChangesStopsWhenTheDCMakesNoProgress(t *testing.T) {
	dc := &restartingDC{}
	c := &Client{opts: Options{BaseDN: "DC=example,DC=com", PageObjects: 10}, log: zap.NewNop(), ctx: t.Context(), cli: dc}
	_, _, err := c.Changes(t.Context(), Cursor{}, func(Account) error { return nil })
	if !errors.Is(err, ErrNoProgress) {
		t.Fatalf("Changes: %v, want ErrNoProgress", err)
	}
	// The first reply moves from 0 to 10; then five replies stay at 10.
	if dc.calls != 1+maxStalledRounds {
		t.Errorf("%d GetNCChanges calls, want %d", dc.calls, 1+maxStalledRounds)
	}
}
