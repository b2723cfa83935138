package emulator

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	endpointpb "github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	iamv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	loggingv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/logging/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	orgv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/idsync/idsync/internal/emulator/validation"
)

// service is one emulated gRPC service: its generated description and the
// emulator's implementation of it.
type service struct {
	desc *grpc.ServiceDesc
	impl any
}

// services lists every emulated service.
func (e *Emulator) services() []service {
	return []service{
		{&idp.SynchronizationSessionService_ServiceDesc, sessionServer{e: e}},
		{&idp.SynchronizationService_ServiceDesc, syncServer{e: e}},
		{&idp.UserService_ServiceDesc, userServer{e: e}},
		{&idp.UserpoolService_ServiceDesc, userpoolServer{e: e}},
		{&orgv1.GroupService_ServiceDesc, groupServer{e: e}},
		{&operation.OperationService_ServiceDesc, operationServer{e: e}},
		{&iamv1.IamTokenService_ServiceDesc, iamServer{e: e}},
		{&endpointpb.ApiEndpointService_ServiceDesc, endpointServer{}},
		{&loggingv1.LogIngestionService_ServiceDesc, logIngestionServer{e: e}},
	}
}

// Register registers every emulated service on s.
func (e *Emulator) Register(s *grpc.Server) {
	for _, svc := range e.services() {
		s.RegisterService(svc.desc, svc.impl)
	}
}

// ServerOptions returns the interceptors that give the emulator its
// behaviour around the handlers, outermost first: call statistics, faults
// (latency, rate limit, random errors), authentication and request
// validation. The keepalive policy admits the go-sdk's client keepalive.
func (e *Emulator) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.KeepaliveEnforcementPolicy(keepalivePolicy), grpc.ChainUnaryInterceptor(e.statsInterceptor, e.faultInterceptor, e.authInterceptor, validateInterceptor, e.transitionInterceptor, e.opErrorInterceptor, e.objectFaultInterceptor)}
}

// Serve serves the emulator on lis until ctx is done, then stops gracefully
// and writes pending state.
func (e *Emulator) Serve(ctx context.Context, lis net.Listener) error {
	s := grpc.NewServer(e.ServerOptions()...)
	e.Register(s)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		e.stopStreams()
		stopped := make(chan struct{})
		go func() { s.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			s.Stop()
		}
	}()
	err := s.Serve(lis)
	wg.Wait()
	if ferr := e.Close(); ferr != nil {
		return fmt.Errorf("emulator: %w", ferr)
	}
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("emulator: serve: %w", err)
	}
	return nil
}

// validateInterceptor checks every request against the proto annotations.
func validateInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if err := validation.Check(m); err != nil {
			return nil, err
		}
	}
	return h(ctx, req)
}

// faultInterceptor injects latency (every call), then rate limiting and
// random errors (every call, including OperationService.Get). Injected
// errors happen before the handler runs, so a failed call changed nothing.
func (e *Emulator) faultInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if d := e.latency(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if e.limiter != nil && !e.limiter.Allow() {
		return nil, status.Errorf(codes.ResourceExhausted, "rate limit of %g requests per second exceeded", e.opts.RPS)
	}
	if e.opts.ErrorRate > 0 && rand.Float64() < e.opts.ErrorRate {
		return nil, injectedError()
	}
	return h(ctx, req)
}

func (e *Emulator) latency() time.Duration {
	d := e.opts.Latency
	if j := e.opts.Jitter; j > 0 {
		d += time.Duration(rand.Int64N(int64(2*j)+1)) - j
	}
	return max(d, 0)
}

var injectedCodes = []codes.Code{codes.Unavailable, codes.Internal, codes.DeadlineExceeded}

func injectedError() error {
	c := injectedCodes[rand.IntN(len(injectedCodes))]
	return status.Errorf(c, "injected fault: %s", strings.ToLower(c.String()))
}

type subjectKey struct{}

// subjectFrom returns the authenticated subject (service account id) of ctx.
func subjectFrom(ctx context.Context) string {
	s, _ := ctx.Value(subjectKey{}).(string)
	return s
}

// staticSubject is the subject of calls made with Options.StaticToken.
const staticSubject = "static-token"

// authInterceptor requires a bearer token on every call except
// IamTokenService.Create and the endpoint discovery service, which the real
// API serves without one.
func (e *Emulator) authInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if info.FullMethod == iamv1.IamTokenService_Create_FullMethodName ||
		strings.HasPrefix(info.FullMethod, "/"+endpointpb.ApiEndpointService_ServiceDesc.ServiceName+"/") {
		return h(ctx, req)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var token string
	for _, v := range md.Get("authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok {
			token = strings.TrimSpace(t)
		}
	}
	if token == "" {
		return nil, status.Error(codes.Unauthenticated, "authorization header with a bearer token is required")
	}
	subject, err := e.authenticate(token)
	if err != nil {
		return nil, err
	}
	return h(context.WithValue(ctx, subjectKey{}, subject), req)
}

// authenticate maps a bearer token to its subject.
func (e *Emulator) authenticate(token string) (string, error) {
	if e.opts.StaticToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(e.opts.StaticToken)) == 1 {
		return staticSubject, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	it, ok := e.st.issued[token]
	if !ok {
		return "", status.Error(codes.Unauthenticated, "the iam token is invalid")
	}
	if !e.now().Before(it.ExpiresAt) {
		return "", status.Error(codes.Unauthenticated, "the iam token has expired")
	}
	return it.Subject, nil
}

// statsInterceptor counts calls and errors and logs each call at debug level.
func (e *Emulator) statsInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	code := status.Code(err)
	e.stats.add(info.FullMethod, code)
	if ce := e.log.Check(zap.DebugLevel, "call"); ce != nil {
		ce.Write(zap.String("method", info.FullMethod), zap.Stringer("code", code))
	}
	return resp, err
}
