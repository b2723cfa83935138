//go:build chaos

package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	iamv1 "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/idsync/idsync/internal/emulator"
)

// TestEmulatorTokens: the emulator refuses calls without a token, with a
// forged one and with an IAM token past its lifetime, and the binary given a
// forged token fails with a clear message.
func TestEmulatorTokens(t *testing.T) {
	sc := begin(t, "security: emulator refuses missing/forged/expired tokens")
	w := newWorld(t, "tokens")
	w.startEmulator(emulator.Options{TokenTTL: time.Hour})
	conn, err := grpc.NewClient(w.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	get := func(token string) codes.Code {
		c := ctx
		if token != "" {
			c = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		_, err := idp.NewUserpoolServiceClient(conn).Get(c, &idp.GetUserpoolRequest{UserpoolId: poolID})
		return status.Code(err)
	}

	// An IAM token issued for a service account key.
	key, err := w.emu.NewServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(key.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	now := w.clock.now()
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.RegisteredClaims{
		Issuer: key.ServiceAccountID, Audience: jwt.ClaimStrings{emulator.IAMAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	})
	tok.Header["kid"] = key.ID
	signed, err := tok.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := iamv1.NewIamTokenServiceClient(conn).Create(ctx, &iamv1.CreateIamTokenRequest{
		Identity: &iamv1.CreateIamTokenRequest_Jwt{Jwt: signed}})
	if err != nil {
		t.Fatal(err)
	}
	issued := resp.GetIamToken()

	for _, tc := range []struct {
		name  string
		token string
		jump  time.Duration
		want  codes.Code
	}{
		{"static token", iamToken, 0, codes.OK},
		{"issued token", issued, 0, codes.OK},
		{"no token", "", 0, codes.Unauthenticated},
		{"forged token", "t1.forged-" + strings.Repeat("x", 20), 0, codes.Unauthenticated},
		{"forged by editing an issued token", issued[:len(issued)-2] + "zz", 0, codes.Unauthenticated},
		{"issued token past its lifetime", issued, time.Hour + time.Minute, codes.Unauthenticated},
	} {
		sc.trial()
		w.clock.jump(tc.jump)
		if got := get(tc.token); got != tc.want {
			sc.fail("%s: code %v, want %v", tc.name, got, tc.want)
		}
	}

	sc.trial()
	path := w.config(cfg{})
	res := runBin(t, append(w.env(), "IDSYNC_CHAOS_TOKEN=t1.forged"), "sync", "--config", path)
	if res.code != 1 || !strings.Contains(res.stderr, "Unauthenticated") {
		sc.fail("sync with a forged token: want exit 1 naming Unauthenticated, got %s", res)
	}
}
