package idhub

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// MethodCode keys error counters.
type MethodCode struct {
	// Method is "Service/Method", e.g. "UserService/Create".
	Method string
	Code   codes.Code
}

// CallStats is a snapshot of per-method counters. Every RPC attempt
// counts, retries included; failed operations count as errors of the
// method that started them.
type CallStats struct {
	// Calls counts RPC attempts per method.
	Calls map[string]int64
	// Errors counts failed attempts and failed operations per method and
	// code.
	Errors map[MethodCode]int64
}

type stats struct {
	mu     sync.Mutex
	calls  map[string]int64
	errors map[MethodCode]int64
}

func newStats() *stats {
	return &stats{calls: map[string]int64{}, errors: map[MethodCode]int64{}}
}

func (s *stats) call(method string) {
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
}

func (s *stats) fail(method string, code codes.Code) {
	s.mu.Lock()
	s.errors[MethodCode{Method: method, Code: code}]++
	s.mu.Unlock()
}

func (s *stats) snapshot() CallStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return CallStats{Calls: maps.Clone(s.calls), Errors: maps.Clone(s.errors)}
}

// ShortMethod turns "/yandex.cloud.organizationmanager.v1.idp.UserService/Create"
// into "UserService/Create", the name idsync's call statistics use.
func ShortMethod(full string) string {
	full = strings.TrimPrefix(full, "/")
	svc, m, ok := strings.Cut(full, "/")
	if !ok {
		return full
	}
	if i := strings.LastIndexByte(svc, '.'); i >= 0 {
		svc = svc[i+1:]
	}
	return svc + "/" + m
}

// interceptor counts calls and errors.
func (s *stats) interceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	m := ShortMethod(method)
	s.call(m)
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil {
		s.fail(m, Code(err))
	}
	return err
}

// timeoutInterceptor bounds each RPC attempt by d unless the context
// already has an earlier deadline.
func timeoutInterceptor(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if d <= 0 {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// rateInterceptor spaces calls to at most perSecond a second (evenly, no
// bursts), waiting before each one; zero means no limit. It counts every
// attempt, so retries and operation polls stay under the limit too.
func rateInterceptor(perSecond float64) grpc.UnaryClientInterceptor {
	if perSecond <= 0 {
		return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
	}
	lim := rate.NewLimiter(rate.Limit(perSecond), 1)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if err := lim.Wait(ctx); err != nil {
			return fmt.Errorf("waiting for the call rate limit: %w", err)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
