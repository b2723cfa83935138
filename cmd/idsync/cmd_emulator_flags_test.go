package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/idsync/idsync/internal/emulator"
)

// runEmulatorCmd starts `idsync emulator args...` until the test ends and
// returns its gRPC address and its stderr.
func runEmulatorCmd(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- cmdEmulator(ctx, args, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("emulator returned %v on cancel", err)
		}
	})
	listening := regexp.MustCompile(`listening on (\S+:\d+)`)
	deadline := time.Now().Add(30 * time.Second)
	for !listening.MatchString(stdout.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no listening line; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	addr := listening.FindStringSubmatch(stdout.String())[1]
	if host, port, err := net.SplitHostPort(addr); err == nil && net.ParseIP(host).IsUnspecified() {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return addr, &stderr
}

// callWithToken reads the user pool with token and returns the call's code.
func callWithToken(t *testing.T, addr, token string) codes.Code {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	_, err = idp.NewUserpoolServiceClient(conn).Get(ctx, &idp.GetUserpoolRequest{UserpoolId: emulatorDefaultPool})
	return status.Code(err)
}

func TestEmulatorStaticTokenFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("file-secret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, stderr := runEmulatorCmd(t, "--listen", "127.0.0.1:0", "--static-token-file", path)
	if c := callWithToken(t, addr, "file-secret-token"); c != codes.OK {
		t.Errorf("token from the file: %v", c)
	}
	if c := callWithToken(t, addr, "file-secret-tokex"); c != codes.Unauthenticated {
		t.Errorf("wrong token: %v, want Unauthenticated", c)
	}
	if strings.Contains(stderr.String(), "warning") {
		t.Errorf("unexpected warning: %q", stderr.String())
	}
}

func TestEmulatorStaticTokenFromEnv(t *testing.T) {
	t.Setenv(emulatorTokenEnv, "env-secret-token")
	addr, _ := runEmulatorCmd(t, "--listen", "127.0.0.1:0")
	if c := callWithToken(t, addr, "env-secret-token"); c != codes.OK {
		t.Errorf("token from $%s: %v", emulatorTokenEnv, c)
	}
}

func TestEmulatorWarnings(t *testing.T) {
	t.Setenv(emulatorTokenEnv, "")
	_, stderr := runEmulatorCmd(t, "--listen", "127.0.0.1:0", "--static-token", "argv-token")
	if !strings.Contains(stderr.String(), "--static-token is visible in the process list") {
		t.Errorf("no warning about a command-line token: %q", stderr.String())
	}
	if strings.Contains(stderr.String(), "reachable from other hosts") {
		t.Errorf("loopback listener warned: %q", stderr.String())
	}
	_, stderr = runEmulatorCmd(t, "--listen", "0.0.0.0:0")
	if !strings.Contains(stderr.String(), "gRPC listener on") || !strings.Contains(stderr.String(), "reachable from other hosts") {
		t.Errorf("no warning for a listener off loopback: %q", stderr.String())
	}
}

func TestEmulatorFlagUsage(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--static-token", "a", "--static-token-file", empty},
		{"--static-token-file", empty},
		{"--static-token-file", filepath.Join(t.TempDir(), "missing")},
		{"--op-error-rate", "1.5"},
		{"--max-sessions", "-1"},
		{"--user-transition", "-1s"},
		{"--session-max-age", "-1s"},
		{"--heartbeat-error", "NOT_A_CODE"},
		{"--heartbeat-error", "17"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			err := cmdEmulator(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
			if code := exitCode(err); code != exitUsage {
				t.Errorf("exit code %d (%v), want %d", code, err, exitUsage)
			}
		})
	}
}

// Users in transition (--user-transition) are neither active nor suspended.
func TestDumpSummaryCountsTransitionalUsersApart(t *testing.T) {
	var out bytes.Buffer
	printDumpSummary(&out, emulator.Dump{Users: []emulator.DumpUser{
		{Username: "a", Status: "ACTIVE"}, {Username: "b", Status: "SUSPENDED"}, {Username: "c", Status: "CREATING"},
	}})
	if want := "users     3 (1 active, 1 suspended;"; !strings.Contains(out.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, out.String())
	}
}

// --heartbeat-error makes every heartbeat answer the code;
// --session-max-age caps the expires_at of a new session.
func TestEmulatorSessionFaultFlags(t *testing.T) {
	for _, code := range []string{"PERMISSION_DENIED", "permissionDenied", "7"} {
		t.Run(code, func(t *testing.T) {
			addr, _ := runEmulatorCmd(t, "--listen", "127.0.0.1:0", "--static-token", "tok", "--min-interval", "0",
				"--heartbeat-error", code, "--session-max-age", "1m")
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer tok")
			sc := idp.NewSynchronizationSessionServiceClient(conn)
			op, err := sc.OpenSession(ctx, &idp.OpenSessionRequest{SubjectContainerId: emulatorDefaultPool, AgentId: "a", SessionType: idp.SessionType_AD_SYNC})
			if err != nil {
				t.Fatal(err)
			}
			var resp idp.OpenSessionResponse
			if err := op.GetResponse().UnmarshalTo(&resp); err != nil {
				t.Fatal(err)
			}
			s := resp.GetOpenedSession()
			if life := s.GetExpiresAt().AsTime().Sub(s.GetCreatedAt().AsTime()); life != time.Minute {
				t.Errorf("session lifetime %v, want the maximum age 1m", life)
			}
			_, err = sc.Heartbeat(ctx, &idp.HeartbeatRequest{SessionId: s.GetSessionId()})
			if c := status.Code(err); c != codes.PermissionDenied {
				t.Errorf("heartbeat: %v, want PermissionDenied", err)
			}
		})
	}
}
