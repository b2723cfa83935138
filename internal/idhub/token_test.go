package idhub

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// testKey is generated once per test binary run (2048-bit keys take time).
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func keyJSON(t *testing.T, id, sa string, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pemText := "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <" + id + ">\n" +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b, err := json.Marshal(map[string]string{"id": id, "service_account_id": sa, "private_key": pemText, "key_algorithm": "RSA_2048"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// iamAudience is the audience the IAM token service requires of JWTs.
const iamAudience = "https://iam.api.cloud.yandex.net/iam/v1/tokens"

// mustKey parses an authorized key file made from k.
func mustKey(t *testing.T, id, sa string, k *rsa.PrivateKey) *AuthorizedKey {
	t.Helper()
	key, err := ParseAuthorizedKey(keyJSON(t, id, sa, k))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestParseAuthorizedKeyAndJWT checks the JWT the SDK signs with a parsed
// key, as the IAM token service receives it.
func TestParseAuthorizedKeyAndJWT(t *testing.T) {
	k := testKey()
	key := mustKey(t, "key-1", "sa-1", k)
	var signed string
	iam := &fakeIAM{create: func(jwt string) (*iampb.CreateIamTokenResponse, error) {
		signed = jwt
		return &iampb.CreateIamTokenResponse{IamToken: "t1.x", ExpiresAt: timestamppb.New(time.Now().Add(time.Hour))}, nil
	}}
	dial := startFake(t, &fakeAPI{ops: newFakeOps()}, iam)
	cc, err := grpc.NewClient("passthrough:///bufnet", dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	if _, err := NewKeyTokenSource(key, iampb.NewIamTokenServiceClient(cc), KeyTokenOptions{}).Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)
	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(signed, &claims, func(*jwt.Token) (any, error) { return &k.PublicKey, nil },
		jwt.WithValidMethods([]string{"PS256"}))
	if err != nil {
		t.Fatalf("parse jwt: %v", err)
	}
	if got := tok.Header["kid"]; got != "key-1" {
		t.Errorf("kid = %v, want key-1", got)
	}
	got := map[string]any{"iss": claims.Issuer, "aud": []string(claims.Audience), "lifetime": claims.ExpiresAt.Sub(claims.IssuedAt.Time)}
	want := map[string]any{"iss": "sa-1", "aud": []string{iamAudience}, "lifetime": time.Hour}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if iat := claims.IssuedAt.Time; iat.Before(before) || iat.After(after) {
		t.Errorf("iat %v not within [%v, %v]", iat, before, after)
	}
	// A different key must not verify it.
	other, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := jwt.Parse(signed, func(*jwt.Token) (any, error) { return &other.PublicKey, nil }); err == nil {
		t.Error("jwt verified with a foreign key")
	}
	if s := fmt.Sprintf("%v %+v %#v %s", key, key, key, key); strings.Contains(s, "PRIVATE") || !strings.Contains(s, "key-1") {
		t.Errorf("key printed as %q", s)
	}
}

func TestParseAuthorizedKeyErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"not json", `{"id": "x", "private_key": "-----BEGIN`, "invalid json"},
		{"missing fields", `{"id": "x"}`, "missing [service_account_id private_key]"},
		{"bad pem", `{"id": "x", "service_account_id": "s", "private_key": "garbage"}`, "private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAuthorizedKey([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

// iamServer starts a fake IAM token service checking JWTs with pub.
func iamServer(t *testing.T, pub *rsa.PublicKey, clock *fakeClock, fail *atomic.Bool, calls *atomic.Int32) iampb.IamTokenServiceClient {
	t.Helper()
	iam := &fakeIAM{create: func(signed string) (*iampb.CreateIamTokenResponse, error) {
		n := calls.Add(1)
		if fail.Load() {
			return nil, status.Error(codes.Unavailable, "iam down")
		}
		var claims jwt.RegisteredClaims
		if _, err := jwt.ParseWithClaims(signed, &claims, func(*jwt.Token) (any, error) { return pub, nil },
			jwt.WithValidMethods([]string{"PS256"}), jwt.WithAudience(iamAudience)); err != nil {
			return nil, status.Errorf(codes.Unauthenticated, "bad jwt: %v", err)
		}
		return &iampb.CreateIamTokenResponse{
			IamToken:  fmt.Sprintf("t1.secret-%d", n),
			ExpiresAt: timestamppb.New(clock.Now().Add(12 * time.Hour)),
		}, nil
	}}
	dial := startFake(t, &fakeAPI{ops: newFakeOps()}, iam)
	cc, err := grpc.NewClient("passthrough:///bufnet", dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return iampb.NewIamTokenServiceClient(cc)
}

func TestKeyTokenSourceRefresh(t *testing.T) {
	k := testKey()
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	var fail atomic.Bool
	var calls atomic.Int32
	iam := iamServer(t, &k.PublicKey, clock, &fail, &calls)
	src := NewKeyTokenSource(mustKey(t, "key-1", "sa-1", k), iam,
		KeyTokenOptions{Now: clock.Now, Logger: zaptest.NewLogger(t)})
	ctx := context.Background()

	type step struct {
		name      string
		advance   time.Duration
		fail      bool
		wantValue string
		wantCalls int32
		wantErr   bool
	}
	steps := []step{
		{name: "first", wantValue: "t1.secret-1", wantCalls: 1},
		{name: "cached", advance: 59 * time.Minute, wantValue: "t1.secret-1", wantCalls: 1},
		// 12h lifetime: refresh after min(6h, 1h) = 1h.
		{name: "refreshed after an hour", advance: 2 * time.Minute, wantValue: "t1.secret-2", wantCalls: 2},
		{name: "failed refresh keeps old token", advance: 61 * time.Minute, fail: true, wantValue: "t1.secret-2", wantCalls: 3},
		{name: "backoff: no new attempt yet", advance: 500 * time.Millisecond, fail: true, wantValue: "t1.secret-2", wantCalls: 3},
		{name: "retried after backoff", advance: time.Second, fail: true, wantValue: "t1.secret-2", wantCalls: 4},
		{name: "expired and failing is an error", advance: 12 * time.Hour, fail: true, wantErr: true, wantCalls: 5},
		{name: "recovers", advance: 0, fail: false, wantValue: "t1.secret-6", wantCalls: 6},
	}
	for _, s := range steps {
		clock.Add(s.advance)
		fail.Store(s.fail)
		tok, err := src.Token(ctx)
		if (err != nil) != s.wantErr {
			t.Fatalf("%s: err = %v, wantErr %v", s.name, err, s.wantErr)
		}
		if err != nil {
			if IsPermission(err) || !IsRetryable(err) {
				t.Errorf("%s: unavailable iam classified %v, want retryable", s.name, Classify(err))
			}
			if strings.Contains(err.Error(), "t1.") {
				t.Errorf("%s: error reveals a token: %v", s.name, err)
			}
		}
		if tok.Value() != s.wantValue {
			t.Errorf("%s: token %q, want %q", s.name, tok.Value(), s.wantValue)
		}
		if got := calls.Load(); got != s.wantCalls {
			t.Errorf("%s: iam calls = %d, want %d", s.name, got, s.wantCalls)
		}
	}
}

func TestKeyTokenSourceForeignKeyRefused(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	var fail atomic.Bool
	var calls atomic.Int32
	iam := iamServer(t, &testKey().PublicKey, clock, &fail, &calls)
	foreign, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	src := NewKeyTokenSource(mustKey(t, "key-2", "sa-1", foreign), iam, KeyTokenOptions{Now: clock.Now})
	_, err = src.Token(context.Background())
	if !IsPermission(err) {
		t.Fatalf("err = %v (class %v), want permission", err, Classify(err))
	}
}

func TestMetadataTokenSource(t *testing.T) {
	var hits atomic.Int32
	var code atomic.Int32
	code.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "missing header", http.StatusForbidden)
			return
		}
		if c := int(code.Load()); c != http.StatusOK {
			http.Error(w, "nope", c)
			return
		}
		fmt.Fprintf(w, `{"access_token":"t1.meta-%d","expires_in":3600,"token_type":"Bearer"}`, hits.Load())
	}))
	defer srv.Close()
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	src := NewMetadataTokenSource(MetadataTokenOptions{URL: srv.URL + "/token", HTTPClient: srv.Client(), Now: clock.Now})
	ctx := context.Background()

	tok, err := src.Token(ctx)
	if err != nil || tok.Value() != "t1.meta-1" || !tok.ExpiresAt.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("token = %q exp %v, err %v", tok.Value(), tok.ExpiresAt, err)
	}
	clock.Add(29 * time.Minute) // refresh at half of 1h
	if tok, _ := src.Token(ctx); tok.Value() != "t1.meta-1" || hits.Load() != 1 {
		t.Fatalf("token %q after %d hits, want cached", tok.Value(), hits.Load())
	}
	clock.Add(2 * time.Minute)
	if tok, _ := src.Token(ctx); tok.Value() != "t1.meta-2" {
		t.Fatalf("token %q, want refreshed t1.meta-2", tok.Value())
	}

	tests := []struct {
		code int
		want Class
	}{
		{http.StatusInternalServerError, ClassRetryable},
		{http.StatusNotFound, ClassPermission},
	}
	for _, tt := range tests {
		code.Store(int32(tt.code))
		fresh := NewMetadataTokenSource(MetadataTokenOptions{URL: srv.URL, HTTPClient: srv.Client()})
		_, err := fresh.Token(ctx)
		if got := Classify(err); got != tt.want {
			t.Errorf("http %d: class %v (err %v), want %v", tt.code, got, err, tt.want)
		}
	}
}

func TestTokenRedaction(t *testing.T) {
	const secret = "t1.very-secret-value"
	tok := NewToken(secret, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	static := NewStaticTokenSource(secret, false)
	js, _ := json.Marshal(struct{ T Token }{tok})
	outputs := []string{
		fmt.Sprint(tok), fmt.Sprintf("%+v", tok), fmt.Sprintf("%#v", tok), string(js),
		fmt.Sprint(static), fmt.Sprintf("%+v", static),
	}
	for _, o := range outputs {
		if strings.Contains(o, "secret") {
			t.Errorf("token revealed: %q", o)
		}
	}
	md, err := static.GetRequestMetadata(context.Background())
	if err != nil || md["authorization"] != "Bearer "+secret {
		t.Fatalf("metadata = %v, err %v", md, err)
	}
	if !static.RequireTransportSecurity() || NewStaticTokenSource(secret, true).RequireTransportSecurity() {
		t.Error("RequireTransportSecurity must follow allowPlaintext")
	}
	if _, err := NewStaticTokenSource("", true).Token(context.Background()); !IsPermission(err) {
		t.Errorf("empty static token: err %v, want permission", err)
	}
}

func TestRefresherConcurrentSingleFetch(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	r := newRefresher("test", func(ctx context.Context) (Token, error) {
		fetches.Add(1)
		<-release
		return NewToken("v", time.Now().Add(time.Hour)), nil
	}, nil, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Token(context.Background()); err != nil {
				errs <- err
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}
