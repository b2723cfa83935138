package emulator

import (
	"context"
	"math/rand/v2"
	"strings"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// operationName is the full name of the message every mutating method
// returns.
const operationName protoreflect.FullName = "yandex.cloud.operation.Operation"

// operationMethods returns the full method names ("/pkg.Service/Method") of
// the emulated methods that start an operation, read from the generated
// descriptors. OperationService.Get returns an operation but starts none.
func (e *Emulator) operationMethods() map[string]bool {
	out := map[string]bool{}
	for _, svc := range e.services() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc.desc.ServiceName))
		if err != nil {
			continue
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok || sd.FullName() == "yandex.cloud.operation.OperationService" {
			continue
		}
		for i := 0; i < sd.Methods().Len(); i++ {
			m := sd.Methods().Get(i)
			if m.Output().FullName() == operationName {
				out["/"+svc.desc.ServiceName+"/"+string(m.Name())] = true
			}
		}
	}
	return out
}

// opErrorCodes are the codes of injected operation failures: failures a
// client is expected to retry.
var opErrorCodes = []codes.Code{codes.Unavailable, codes.Internal}

// opErrorInterceptor answers a call that starts an operation, with
// probability Options.OpErrorRate, with an operation that is done and
// failed, without running the handler: nothing changed. It runs after
// authentication and validation, so only a call the service accepted can
// fail this way.
func (e *Emulator) opErrorInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if e.opts.OpErrorRate <= 0 || !e.opMethods[info.FullMethod] || rand.Float64() >= e.opts.OpErrorRate {
		return h(ctx, req)
	}
	c := opErrorCodes[rand.IntN(len(opErrorCodes))]
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.newFailedOp(ctx, info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:],
		&status.Status{Code: int32(c), Message: "injected operation failure: " + strings.ToLower(c.String())}), nil
}

// newFailedOp records a failed operation, done after Options.OpDelay, and
// returns the view the caller sees. The caller holds e.mu.
func (e *Emulator) newFailedOp(ctx context.Context, desc string, st *status.Status) *operation.Operation {
	now := e.now()
	op := e.doneOp(ctx, desc, now)
	op.Result = &operation.Operation_Error{Error: st}
	return e.recordOp(op, now)
}
