package idhub

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"go.uber.org/zap"
)

// IAMTokenAudience is the audience of JWTs exchanged for IAM tokens.
const IAMTokenAudience = "https://iam.api.cloud.yandex.net/iam/v1/tokens"

// jwtLifetime is the lifetime of the signed JWT (the API allows at most 1h).
const jwtLifetime = time.Hour

// defaultIAMTokenLifetime is assumed when the IAM service returns no expiry.
const defaultIAMTokenLifetime = time.Hour

// AuthorizedKey is a service account authorized key. String never reveals
// the private key.
type AuthorizedKey struct {
	// ID is the key id, sent as the JWT "kid" header.
	ID string
	// ServiceAccountID is the JWT issuer.
	ServiceAccountID string
	private          *rsa.PrivateKey
}

// String describes the key without its private part.
func (k *AuthorizedKey) String() string {
	return fmt.Sprintf("authorized key %s of service account %s", k.ID, k.ServiceAccountID)
}

// GoString describes the key without its private part.
func (k *AuthorizedKey) GoString() string { return k.String() }

// keyFile is the JSON layout of an authorized key file.
type keyFile struct {
	ID               string `json:"id"`
	ServiceAccountID string `json:"service_account_id"`
	PrivateKey       string `json:"private_key"`
}

// ParseAuthorizedKey parses an authorized key JSON document (fields id,
// service_account_id and private_key, a PEM PKCS#8 RSA key).
func ParseAuthorizedKey(data []byte) (*AuthorizedKey, error) {
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		// The JSON error may quote parts of the key: keep only its kind.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("idhub: parse authorized key: invalid json at offset %d", se.Offset)
		}
		return nil, errors.New("idhub: parse authorized key: invalid json")
	}
	var missing []string
	if kf.ID == "" {
		missing = append(missing, "id")
	}
	if kf.ServiceAccountID == "" {
		missing = append(missing, "service_account_id")
	}
	if kf.PrivateKey == "" {
		missing = append(missing, "private_key")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("idhub: parse authorized key: missing %v", missing)
	}
	priv, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(kf.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("idhub: parse authorized key %s: private key: %w", kf.ID, err)
	}
	return &AuthorizedKey{ID: kf.ID, ServiceAccountID: kf.ServiceAccountID, private: priv}, nil
}

// ReadAuthorizedKey reads and parses an authorized key file.
func ReadAuthorizedKey(path string) (*AuthorizedKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("idhub: read authorized key: %w", err)
	}
	return ParseAuthorizedKey(data)
}

// NewAuthorizedKey builds a key from its parts (used by tests and tools).
func NewAuthorizedKey(id, serviceAccountID string, private *rsa.PrivateKey) *AuthorizedKey {
	return &AuthorizedKey{ID: id, ServiceAccountID: serviceAccountID, private: private}
}

// SignJWT returns a PS256 JWT for exchange at the IAM token service, issued
// at now and valid for one hour.
func (k *AuthorizedKey) SignJWT(now time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    k.ServiceAccountID,
		Audience:  jwt.ClaimStrings{IAMTokenAudience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodPS256, claims)
	t.Header["kid"] = k.ID
	s, err := t.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("idhub: sign jwt with key %s: %w", k.ID, err)
	}
	return s, nil
}

// KeyTokenOptions configures a KeyTokenSource.
type KeyTokenOptions struct {
	// AllowPlaintext lets the token be sent without TLS (emulator only).
	AllowPlaintext bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means no logging.
	Logger *zap.Logger
}

// KeyTokenSource exchanges JWTs signed with an authorized key for IAM
// tokens at the IAM token service, caching them and refreshing early. It
// implements TokenSource and credentials.PerRPCCredentials.
type KeyTokenSource struct {
	key        *AuthorizedKey
	iam        iampb.IamTokenServiceClient
	now        func() time.Time
	requireTLS bool
	r          *refresher
}

// NewKeyTokenSource returns a token source for key using the IAM token
// service client iam (whose connection carries no per-RPC credentials).
func NewKeyTokenSource(key *AuthorizedKey, iam iampb.IamTokenServiceClient, opts KeyTokenOptions) *KeyTokenSource {
	s := &KeyTokenSource{key: key, iam: iam, now: opts.Now, requireTLS: !opts.AllowPlaintext}
	if s.now == nil {
		s.now = time.Now
	}
	s.r = newRefresher("authorized key", s.exchange, s.now, opts.Logger)
	return s
}

func (s *KeyTokenSource) exchange(ctx context.Context) (Token, error) {
	now := s.now()
	signed, err := s.key.SignJWT(now)
	if err != nil {
		return Token{}, err
	}
	resp, err := s.iam.Create(ctx, &iampb.CreateIamTokenRequest{
		Identity: &iampb.CreateIamTokenRequest_Jwt{Jwt: signed},
	})
	if err != nil {
		return Token{}, fmt.Errorf("IamTokenService.Create for key %s: %w", s.key.ID, err)
	}
	if resp.GetIamToken() == "" {
		return Token{}, fmt.Errorf("IamTokenService.Create for key %s: empty token", s.key.ID)
	}
	exp := now.Add(defaultIAMTokenLifetime)
	if resp.GetExpiresAt() != nil {
		exp = resp.GetExpiresAt().AsTime()
	}
	return Token{value: resp.GetIamToken(), ExpiresAt: exp}, nil
}

// Token returns a valid IAM token, exchanging a new JWT when due.
func (s *KeyTokenSource) Token(ctx context.Context) (Token, error) { return s.r.Token(ctx) }

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (s *KeyTokenSource) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	return bearer{src: s}.GetRequestMetadata(ctx, uri...)
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (s *KeyTokenSource) RequireTransportSecurity() bool { return s.requireTLS }

// String describes the source without secrets.
func (s *KeyTokenSource) String() string { return "iam token source for " + s.key.String() }
