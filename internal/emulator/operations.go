package emulator

import (
	"context"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// opRec is a recorded operation in its final (done) form.
type opRec struct {
	op *operation.Operation
	// doneAt is when the operation starts reporting done (Options.OpDelay).
	doneAt time.Time
}

// newOp records an operation whose result was computed now and returns the
// view the caller sees. meta and resp may be nil (resp nil means Empty).
// The caller holds e.mu.
func (e *Emulator) newOp(ctx context.Context, desc string, meta, resp proto.Message) (*operation.Operation, error) {
	now := e.now()
	op := e.doneOp(ctx, desc, now)
	if meta != nil {
		m, err := anypb.New(meta)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "encode operation metadata: %v", err)
		}
		op.Metadata = m
	}
	if resp == nil {
		resp = &emptypb.Empty{}
	}
	r, err := anypb.New(resp)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode operation response: %v", err)
	}
	op.Result = &operation.Operation_Response{Response: r}
	return e.recordOp(op, now), nil
}

// doneOp returns a done operation created now by the caller, finished after
// Options.OpDelay, without a result.
func (e *Emulator) doneOp(ctx context.Context, desc string, now time.Time) *operation.Operation {
	return &operation.Operation{
		Id:          newID("emo"),
		Description: desc,
		CreatedAt:   timestamppb.New(now),
		CreatedBy:   subjectFrom(ctx),
		ModifiedAt:  timestamppb.New(now.Add(e.opts.OpDelay)),
		Done:        true,
	}
}

// recordOp keeps op for OperationService.Get, done at now + Options.OpDelay,
// and returns the view the caller sees. The caller holds e.mu.
func (e *Emulator) recordOp(op *operation.Operation, now time.Time) *operation.Operation {
	rec := &opRec{op: op, doneAt: now.Add(e.opts.OpDelay)}
	st := e.st
	st.ops[op.Id] = rec
	st.opOrder = append(st.opOrder, op.Id)
	st.opsTotal++
	if len(st.opOrder) > opsLimit+opsLimit/10 { // forget the oldest in batches
		drop := len(st.opOrder) - opsLimit
		for _, id := range st.opOrder[:drop] {
			delete(st.ops, id)
		}
		st.opOrder = append([]string(nil), st.opOrder[drop:]...)
	}
	return rec.view(now)
}

// view is the operation as seen at now: not done, without a result, until
// doneAt.
func (r *opRec) view(now time.Time) *operation.Operation {
	op := proto.Clone(r.op).(*operation.Operation)
	if now.Before(r.doneAt) {
		op.Done = false
		op.Result = nil
		op.ModifiedAt = op.CreatedAt
	}
	return op
}

type operationServer struct {
	operation.UnimplementedOperationServiceServer
	e *Emulator
}

// Get returns an operation by id.
func (s operationServer) Get(ctx context.Context, req *operation.GetOperationRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.st.ops[req.GetOperationId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "operation %s not found", req.GetOperationId())
	}
	return rec.view(e.now()), nil
}
