package emulator

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	iamv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

func TestBearerToken(t *testing.T) {
	v := newEnv(t, Options{})
	req := &idp.GetUserpoolRequest{UserpoolId: testPool}
	tests := []struct {
		name string
		md   []string
		code codes.Code
	}{
		{"none", nil, codes.Unauthenticated},
		{"not bearer", []string{"authorization", "Basic " + testToken}, codes.Unauthenticated},
		{"unknown", []string{"authorization", "Bearer t1.forged"}, codes.Unauthenticated},
		{"static", []string{"authorization", "Bearer " + testToken}, codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.md != nil {
				ctx = metadata.AppendToOutgoingContext(ctx, tc.md...)
			}
			_, err := v.pools.Get(ctx, req)
			wantCode(t, err, tc.code)
		})
	}
}

// signJWT signs claims as the Yandex SDKs do: PS256 with the key id in kid.
func signJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims jwt.RegisteredClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIAMTokenFromJWT(t *testing.T) {
	v := newEnv(t, Options{TokenTTL: time.Hour})
	ak, err := v.emu.NewServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.json")
	if err := ak.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk AuthorizedKey
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.ID != ak.ID || onDisk.ServiceAccountID != ak.ServiceAccountID || onDisk.KeyAlgorithm != "RSA_2048" {
		t.Errorf("key file: %+v", onDisk)
	}
	priv, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(onDisk.PrivateKey))
	if err != nil {
		t.Fatalf("private key of the key file: %v", err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	now := v.clock.Now()
	good := jwt.RegisteredClaims{
		Issuer: ak.ServiceAccountID, Audience: jwt.ClaimStrings{IAMAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}
	with := func(f func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := good
		f(&c)
		return c
	}
	tests := []struct {
		name string
		jwt  string
		code codes.Code
	}{
		{"good", signJWT(t, priv, ak.ID, good), codes.OK},
		{"expired", signJWT(t, priv, ak.ID, with(func(c *jwt.RegisteredClaims) {
			c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now.Add(-2*time.Hour)), jwt.NewNumericDate(now.Add(-time.Hour))
		})), codes.Unauthenticated},
		{"wrong audience", signJWT(t, priv, ak.ID, with(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"https://example.com"} })), codes.Unauthenticated},
		{"wrong issuer", signJWT(t, priv, ak.ID, with(func(c *jwt.RegisteredClaims) { c.Issuer = "someoneelse" })), codes.Unauthenticated},
		{"lifetime over an hour", signJWT(t, priv, ak.ID, with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(2 * time.Hour)) })), codes.Unauthenticated},
		{"no exp", signJWT(t, priv, ak.ID, with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })), codes.Unauthenticated},
		{"issued 30 s ahead (clock skew)", signJWT(t, priv, ak.ID, with(func(c *jwt.RegisteredClaims) {
			c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now.Add(30*time.Second)), jwt.NewNumericDate(now.Add(time.Hour))
		})), codes.OK},
		{"issued 5 min ahead", signJWT(t, priv, ak.ID, with(func(c *jwt.RegisteredClaims) {
			c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now.Add(5*time.Minute)), jwt.NewNumericDate(now.Add(time.Hour))
		})), codes.Unauthenticated},
		{"unknown kid", signJWT(t, priv, "ajkunknown0000000000", good), codes.Unauthenticated},
		{"wrong signature", signJWT(t, other, ak.ID, good), codes.Unauthenticated},
		{"malformed", "not-a-jwt", codes.InvalidArgument},
	}
	var token string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := v.iam.Create(context.Background(), &iamv1.CreateIamTokenRequest{Identity: &iamv1.CreateIamTokenRequest_Jwt{Jwt: tc.jwt}})
			wantCode(t, err, tc.code)
			if err == nil {
				token = resp.IamToken
				if !resp.ExpiresAt.AsTime().Equal(now.Add(time.Hour)) {
					t.Errorf("expires_at %v", resp.ExpiresAt.AsTime())
				}
			}
		})
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	op, err := v.users.Create(ctx, &idp.CreateUserRequest{
		UserpoolId: testPool, Username: "sa-made@" + testDomain, FullName: "By SA",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Secret-123456"}},
	})
	if err != nil {
		t.Fatalf("call with the issued token: %v", err)
	}
	if op.CreatedBy != ak.ServiceAccountID {
		t.Errorf("created_by %q, want %q", op.CreatedBy, ak.ServiceAccountID)
	}
	v.clock.Advance(time.Hour)
	_, err = v.pools.Get(ctx, &idp.GetUserpoolRequest{UserpoolId: testPool})
	wantCode(t, err, codes.Unauthenticated)
}
