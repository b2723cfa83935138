package emulator

import (
	"context"
	"strings"
	"sync"

	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// objectFaults makes every change of chosen objects fail (a test hook; see
// SetFailObjects).
type objectFaults struct {
	mu    sync.Mutex
	names map[string]bool // lower-case usernames, group names, external ids
	hits  int
}

// SetFailObjects makes every call that starts an operation on one of the
// named objects fail: it is answered with a done operation whose error is
// FAILED_PRECONDITION, and nothing changes. An object is named by its
// username, group name or external id (case-insensitively), matched against
// the request's string fields and, for a request by user_id or group_id,
// against that object in the pool. Nil or empty heals them. The initial set
// is Options.FailObjects.
func (e *Emulator) SetFailObjects(names []string) {
	e.objFaults.mu.Lock()
	defer e.objFaults.mu.Unlock()
	e.objFaults.names = map[string]bool{}
	for _, n := range names {
		e.objFaults.names[strings.ToLower(n)] = true
	}
}

// FailedObjectCalls returns how many calls SetFailObjects made fail.
func (e *Emulator) FailedObjectCalls() int {
	e.objFaults.mu.Lock()
	defer e.objFaults.mu.Unlock()
	return e.objFaults.hits
}

func (e *Emulator) objectFaultInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	e.objFaults.mu.Lock()
	names := e.objFaults.names
	e.objFaults.mu.Unlock()
	m, ok := req.(proto.Message)
	if len(names) == 0 || !ok || !e.opMethods[info.FullMethod] {
		return h(ctx, req)
	}
	e.mu.Lock()
	hit := e.namesObject(m.ProtoReflect(), names)
	e.mu.Unlock()
	if !hit {
		return h(ctx, req)
	}
	e.objFaults.mu.Lock()
	e.objFaults.hits++
	e.objFaults.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.newFailedOp(ctx, info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:],
		&status.Status{Code: int32(codes.FailedPrecondition), Message: "injected failure for this object"}), nil
}

// namesObject reports whether a request names one of names. The caller
// holds e.mu.
func (e *Emulator) namesObject(r protoreflect.Message, names map[string]bool) bool {
	found := false
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.StringKind || fd.IsList() || fd.IsMap() {
			return true
		}
		s := v.String()
		if names[strings.ToLower(s)] {
			found = true
			return false
		}
		switch fd.Name() {
		case "user_id":
			if u := e.st.users[s]; u != nil && (names[strings.ToLower(u.User.GetUsername())] || names[strings.ToLower(u.User.GetExternalId())]) {
				found = true
			}
		case "group_id":
			if g := e.st.groups[s]; g != nil && (names[strings.ToLower(g.Group.GetName())] || names[strings.ToLower(g.Group.GetExternalId())]) {
				found = true
			}
		}
		return !found
	})
	return found
}
