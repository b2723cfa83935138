package idhub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	ycreds "github.com/yandex-cloud/go-sdk/v2/credentials"
	"github.com/yandex-cloud/go-sdk/v2/pkg/authentication"
	"github.com/yandex-cloud/go-sdk/v2/pkg/iamkey"
	"go.uber.org/zap"
)

// defaultIAMTokenLifetime is assumed when the IAM service returns no expiry.
const defaultIAMTokenLifetime = time.Hour

// AuthorizedKey is a service account authorized key, read by Yandex's
// go-sdk (iamkey) into the SDK's service account credentials, which sign
// the PS256 JWT (kid, iss, aud, iat, exp of one hour) exchanged for IAM
// tokens. String never reveals the private key.
type AuthorizedKey struct {
	// ID is the key id, sent as the JWT "kid" header.
	ID string
	// ServiceAccountID is the JWT issuer.
	ServiceAccountID string
	creds            ycreds.ExchangeableCredentials
}

// String describes the key without its private part.
func (k *AuthorizedKey) String() string {
	return fmt.Sprintf("authorized key %s of service account %s", k.ID, k.ServiceAccountID)
}

// GoString describes the key without its private part.
func (k *AuthorizedKey) GoString() string { return k.String() }

// ParseAuthorizedKey parses an authorized key JSON document as written by
// `yc iam key create` (id, service_account_id, private_key in PEM, and
// optionally created_at, key_algorithm, public_key).
func ParseAuthorizedKey(data []byte) (*AuthorizedKey, error) {
	key, err := iamkey.ReadFromJSONBytes(data)
	if err != nil {
		// The parser's error may quote parts of the key: keep only its kind.
		return nil, errors.New("idhub: parse authorized key: invalid json")
	}
	var missing []string
	if key.GetId() == "" {
		missing = append(missing, "id")
	}
	if key.GetServiceAccountId() == "" {
		missing = append(missing, "service_account_id")
	}
	if key.GetPrivateKey() == "" {
		missing = append(missing, "private_key")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("idhub: parse authorized key: missing %v", missing)
	}
	creds, err := ycreds.ServiceAccountKey(key)
	if err != nil {
		return nil, fmt.Errorf("idhub: parse authorized key %s: %w", key.GetId(), err)
	}
	return &AuthorizedKey{ID: key.GetId(), ServiceAccountID: key.GetServiceAccountId(), creds: creds}, nil
}

// ReadAuthorizedKey reads and parses an authorized key file.
func ReadAuthorizedKey(path string) (*AuthorizedKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("idhub: read authorized key: %w", err)
	}
	return ParseAuthorizedKey(data)
}

// KeyTokenOptions configures a KeyTokenSource.
type KeyTokenOptions struct {
	// AllowPlaintext lets the token be sent without TLS (emulator only).
	AllowPlaintext bool
	// Now is the clock of the refresh policy; nil means time.Now. (The
	// JWT itself is stamped by the SDK with the system clock.)
	Now func() time.Time
	// Logger; nil means no logging.
	Logger *zap.Logger
}

// KeyTokenSource exchanges JWTs signed with an authorized key for IAM
// tokens through the go-sdk's authenticator, caching them and refreshing
// at half their lifetime (see refresher). It implements TokenSource and
// credentials.PerRPCCredentials.
type KeyTokenSource struct {
	key        *AuthorizedKey
	auth       *authentication.AuthenticatorImpl
	now        func() time.Time
	requireTLS bool
	r          *refresher
}

// NewKeyTokenSource returns a token source for key using the IAM token
// service client iam (its calls to IamTokenService.Create carry no token).
func NewKeyTokenSource(key *AuthorizedKey, iam iampb.IamTokenServiceClient, opts KeyTokenOptions) *KeyTokenSource {
	// The SDK's authenticator logs every failure at error level; the
	// refresher logs the outcome once, so the SDK's log is not wired.
	s := &KeyTokenSource{key: key, auth: authentication.NewAuthenticator(zap.NewNop(), key.creds, iam),
		now: opts.Now, requireTLS: !opts.AllowPlaintext}
	if s.now == nil {
		s.now = time.Now
	}
	s.r = newRefresher("authorized key", s.exchange, s.now, opts.Logger)
	return s
}

func (s *KeyTokenSource) exchange(ctx context.Context) (Token, error) {
	now := s.now()
	tok, err := s.auth.CreateIAMToken(ctx)
	if err != nil {
		return Token{}, fmt.Errorf("IamTokenService.Create for key %s: %w", s.key.ID, err)
	}
	if tok.GetIamToken() == "" {
		return Token{}, fmt.Errorf("IamTokenService.Create for key %s: empty token", s.key.ID)
	}
	// The SDK turns a missing expires_at into the Unix epoch.
	exp := tok.GetExpiresAt()
	if exp.Unix() <= 0 {
		exp = now.Add(defaultIAMTokenLifetime)
	}
	return Token{value: tok.GetIamToken(), ExpiresAt: exp}, nil
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
