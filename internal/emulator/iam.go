package emulator

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	iamv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// IAMAudience is the audience a JWT exchanged for an IAM token must name.
const IAMAudience = "https://iam.api.cloud.yandex.net/iam/v1/tokens"

// maxJWTLifetime is the longest exp - iat the IAM service accepts.
const maxJWTLifetime = time.Hour

// saKey is a service account key the emulator accepts (public half only).
type saKey struct {
	ID               string    `json:"id"`
	ServiceAccountID string    `json:"service_account_id"`
	PublicKey        string    `json:"public_key"` // PEM, PKIX
	CreatedAt        time.Time `json:"created_at"`
}

// issuedToken is an IAM token issued by IamTokenService.Create.
type issuedToken struct {
	Subject   string    `json:"subject"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AuthorizedKey is a service account authorized key in the JSON format of
// `yc iam key create --output key.json`. PrivateKey starts with Yandex's
// "PLEASE DO NOT REMOVE THIS LINE!" marker line, then a PKCS#8 PEM block.
type AuthorizedKey struct {
	ID               string    `json:"id"`
	ServiceAccountID string    `json:"service_account_id"`
	CreatedAt        time.Time `json:"created_at"`
	KeyAlgorithm     string    `json:"key_algorithm"`
	PublicKey        string    `json:"public_key"`
	PrivateKey       string    `json:"private_key"`
}

// String names the key without its private part.
func (k *AuthorizedKey) String() string {
	return fmt.Sprintf("authorized key %s of service account %s", k.ID, k.ServiceAccountID)
}

// WriteFile writes the key as JSON to path with mode 0600.
func (k *AuthorizedKey) WriteFile(path string) error {
	b, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return fmt.Errorf("write authorized key: %w", err)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write authorized key: %w", err)
	}
	return nil
}

// NewServiceAccountKey creates an RSA-2048 key pair for a new service
// account and registers its public key, so JWTs signed with it are
// exchanged for IAM tokens. The key is persisted with the state.
func (e *Emulator) NewServiceAccountKey() (*AuthorizedKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("emulator: generate key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("emulator: encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("emulator: encode public key: %w", err)
	}
	k := &saKey{
		ID:               newID("ajk"),
		ServiceAccountID: newID("ajs"),
		PublicKey:        string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
		CreatedAt:        e.now().UTC(),
	}
	e.mu.Lock()
	e.st.keys[k.ID] = k
	e.changed()
	e.mu.Unlock()
	return &AuthorizedKey{
		ID: k.ID, ServiceAccountID: k.ServiceAccountID, CreatedAt: k.CreatedAt, KeyAlgorithm: "RSA_2048",
		PublicKey: k.PublicKey,
		PrivateKey: "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <" + k.ID + ">\n" +
			string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
	}, nil
}

type iamServer struct {
	iamv1.UnimplementedIamTokenServiceServer
	e *Emulator
}

// Create exchanges a JWT signed with a registered service account key for
// an IAM token. Like the real IAM service it requires PS256, a known kid,
// iss = the key's service account, aud = IAMAudience, iat and exp with a
// lifetime of at most one hour. A JWT that cannot be parsed at all is
// INVALID_ARGUMENT; every other refusal is UNAUTHENTICATED.
func (s iamServer) Create(ctx context.Context, req *iamv1.CreateIamTokenRequest) (*iamv1.CreateIamTokenResponse, error) {
	e := s.e
	raw := req.GetJwt()
	if raw == "" {
		if req.GetYandexPassportOauthToken() != "" {
			return nil, status.Error(codes.Unauthenticated, "yandex passport oauth tokens are not accepted by the emulator; use a service account jwt")
		}
		return nil, status.Error(codes.InvalidArgument, "jwt is required")
	}
	var key *saKey
	var claims jwt.RegisteredClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodPS256.Alg()}),
		jwt.WithAudience(IAMAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(e.now),
		// The clocks of a client and a server differ a little: allow a
		// minute either way (the docs are silent; see README).
		jwt.WithLeeway(time.Minute),
	)
	_, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		e.mu.Lock()
		key = e.st.keys[kid]
		e.mu.Unlock()
		if key == nil {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		block, _ := pem.Decode([]byte(key.PublicKey))
		if block == nil {
			return nil, errors.New("stored public key is not PEM")
		}
		return x509.ParsePKIXPublicKey(block.Bytes)
	})
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, status.Errorf(codes.InvalidArgument, "malformed jwt: %v", err)
	case err != nil:
		return nil, status.Errorf(codes.Unauthenticated, "invalid jwt: %v", err)
	case claims.Issuer != key.ServiceAccountID:
		return nil, status.Errorf(codes.Unauthenticated, "invalid jwt: iss %q is not the service account of key %s", claims.Issuer, key.ID)
	case claims.IssuedAt == nil:
		return nil, status.Error(codes.Unauthenticated, "invalid jwt: iat is required")
	case claims.ExpiresAt.Sub(claims.IssuedAt.Time) > maxJWTLifetime:
		return nil, status.Errorf(codes.Unauthenticated, "invalid jwt: lifetime exceeds %s", maxJWTLifetime)
	}
	now := e.now()
	token := "t1." + rand.Text() + rand.Text()
	exp := now.Add(e.opts.TokenTTL)
	e.mu.Lock()
	for t, it := range e.st.issued {
		if !now.Before(it.ExpiresAt) {
			delete(e.st.issued, t)
		}
	}
	e.st.issued[token] = issuedToken{Subject: key.ServiceAccountID, ExpiresAt: exp}
	e.changed()
	e.mu.Unlock()
	return &iamv1.CreateIamTokenResponse{IamToken: token, ExpiresAt: timestamppb.New(exp)}, nil
}
