package idhub

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	endpointpb "github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc/credentials"
)

// TokenSource returns IAM tokens. Implementations cache and refresh tokens
// and are safe for concurrent use.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// Token is an IAM token. Its String, GoString and MarshalJSON never reveal
// the value.
type Token struct {
	value string
	// ExpiresAt is when the token stops being accepted; zero if unknown.
	ExpiresAt time.Time
}

// NewToken returns a token with the given value and expiry.
func NewToken(value string, expiresAt time.Time) Token {
	return Token{value: value, ExpiresAt: expiresAt}
}

// Value returns the secret token value, for use in request headers only.
func (t Token) Value() string { return t.value }

// String redacts the value.
func (t Token) String() string {
	if t.value == "" {
		return "<no token>"
	}
	if t.ExpiresAt.IsZero() {
		return "<redacted token>"
	}
	return "<redacted token, expires " + t.ExpiresAt.UTC().Format(time.RFC3339) + ">"
}

// GoString redacts the value.
func (t Token) GoString() string { return t.String() }

// MarshalJSON redacts the value.
func (t Token) MarshalJSON() ([]byte, error) { return []byte(`"` + t.String() + `"`), nil }

// tokenError marks failures to obtain a token; Classify reports them as
// ClassPermission.
type tokenError struct {
	source string
	err    error
}

func (e *tokenError) Error() string { return "idhub: " + e.source + " token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// bearer turns a TokenSource into gRPC per-RPC credentials.
type bearer struct {
	src        TokenSource
	requireTLS bool
}

// PerRPCCredentials returns gRPC credentials sending "authorization:
// Bearer <token>" from src. With allowPlaintext false, gRPC refuses to send
// them over a connection without TLS.
func PerRPCCredentials(src TokenSource, allowPlaintext bool) credentials.PerRPCCredentials {
	return bearer{src: src, requireTLS: !allowPlaintext}
}

func (b bearer) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if ri, ok := credentials.RequestInfoFromContext(ctx); ok && !needsToken(ri.Method) {
		return nil, nil
	}
	tok, err := b.src.Token(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok.value}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.requireTLS }

// needsToken reports whether a call to method ("/package.Service/Method")
// carries a token: every call does except the token exchange and endpoint
// discovery (as in the go-sdk's IAM token middleware). All connections of
// a Client share one set of dial options, so the connection to the IAM
// service has these credentials too.
func needsToken(method string) bool {
	return method != iampb.IamTokenService_Create_FullMethodName &&
		!strings.HasPrefix(method, "/"+endpointpb.ApiEndpointService_ServiceDesc.ServiceName+"/")
}

// StaticTokenSource always returns the same token. It also implements
// credentials.PerRPCCredentials.
type StaticTokenSource struct {
	tok        Token
	requireTLS bool
}

// NewStaticTokenSource returns a source of a fixed token. allowPlaintext
// permits sending it without TLS (local emulator only).
func NewStaticTokenSource(value string, allowPlaintext bool) *StaticTokenSource {
	return &StaticTokenSource{tok: Token{value: value}, requireTLS: !allowPlaintext}
}

// Token returns the static token.
func (s *StaticTokenSource) Token(context.Context) (Token, error) {
	if s.tok.value == "" {
		return Token{}, &tokenError{source: "static", err: fmt.Errorf("empty token")}
	}
	return s.tok, nil
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (s *StaticTokenSource) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	return bearer{src: s}.GetRequestMetadata(ctx, uri...)
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (s *StaticTokenSource) RequireTransportSecurity() bool { return s.requireTLS }

// String redacts the token.
func (s *StaticTokenSource) String() string { return "static token source " + s.tok.String() }

// fetchFunc obtains a fresh token.
type fetchFunc func(ctx context.Context) (Token, error)

// Refresh policy of cached tokens.
const (
	// maxRefreshAfter caps how long a token is used before refreshing.
	maxRefreshAfter = time.Hour
	// expirySkew: a token is treated as expired this long before its
	// expiry, to cover clock skew and request latency.
	expirySkew = 30 * time.Second
	// Backoff between failed refreshes while the old token is valid.
	minRefreshBackoff = time.Second
	maxRefreshBackoff = time.Minute
)

// refresher caches a token and refreshes it at half its lifetime (at most
// every hour). While a refresh fails and the old token is still valid, the
// old token is used and refreshes are retried with exponential backoff.
// Only one refresh runs at a time; callers holding a valid token do not
// wait for it.
type refresher struct {
	name  string
	fetch fetchFunc
	now   func() time.Time
	log   *zap.Logger

	mu        sync.Mutex
	tok       Token
	refreshAt time.Time
	failures  int
	inflight  chan struct{}
}

func newRefresher(name string, fetch fetchFunc, now func() time.Time, log *zap.Logger) *refresher {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &refresher{name: name, fetch: fetch, now: now, log: log}
}

func (r *refresher) validAt(t time.Time) bool {
	return r.tok.value != "" && (r.tok.ExpiresAt.IsZero() || t.Before(r.tok.ExpiresAt.Add(-expirySkew)))
}

// Token returns the cached token, refreshing it when due.
func (r *refresher) Token(ctx context.Context) (Token, error) {
	for {
		r.mu.Lock()
		now := r.now()
		valid := r.validAt(now)
		if valid && now.Before(r.refreshAt) {
			tok := r.tok
			r.mu.Unlock()
			return tok, nil
		}
		if ch := r.inflight; ch != nil {
			if valid {
				tok := r.tok
				r.mu.Unlock()
				return tok, nil
			}
			r.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return Token{}, &tokenError{source: r.name, err: ctx.Err()}
			}
		}
		ch := make(chan struct{})
		r.inflight = ch
		r.mu.Unlock()

		tok, err := r.fetch(ctx)

		r.mu.Lock()
		r.inflight = nil
		close(ch)
		now = r.now()
		if err == nil {
			r.tok = tok
			r.failures = 0
			after := maxRefreshAfter
			if !tok.ExpiresAt.IsZero() {
				after = min(tok.ExpiresAt.Sub(now)/2, maxRefreshAfter)
			}
			r.refreshAt = now.Add(after)
			r.mu.Unlock()
			r.log.Debug("iam token obtained", zap.String("source", r.name), zap.Time("expires_at", tok.ExpiresAt))
			return tok, nil
		}
		r.failures++
		backoff := min(minRefreshBackoff<<min(r.failures-1, 10), maxRefreshBackoff)
		r.refreshAt = now.Add(backoff)
		if r.validAt(now) {
			old := r.tok
			r.mu.Unlock()
			r.log.Warn("iam token refresh failed, using current token",
				zap.String("source", r.name), zap.Error(err), zap.Duration("retry_in", backoff), zap.Time("expires_at", old.ExpiresAt))
			return old, nil
		}
		r.mu.Unlock()
		return Token{}, &tokenError{source: r.name, err: err}
	}
}
