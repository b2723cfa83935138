//go:build chaos

package chaos

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/adseed"
)

// TestWritebackFaults runs the daemon with password writeback through two
// proxies, one in front of the emulator and one in front of the DC: the
// stream is cut while changes are queued (every change must still reach AD
// and the pool, once), and the DC is stopped (the change must fail with
// DEADLINE_EXCEEDED at operation_expires_at, changing nothing, and the
// next one must go through when the DC is back). Then no password may
// appear in anything idsync wrote or printed.
func TestWritebackFaults(t *testing.T) {
	w := newWorld(t, "writeback")
	w.startEmulator(emulator.Options{WritebackTTL: 4 * time.Second})
	dcAddr := strings.TrimPrefix(w.dc.LDAPSURL, "ldaps://")
	host, _, err := net.SplitHostPort(dcAddr)
	if err != nil {
		t.Fatal(err)
	}
	dcp := newProxy(t, host, dcAddr)
	cloud := newProxy(t, "127.0.0.1", w.addr)
	logFile := filepath.Join(w.dir, "logs", "idsync.log")
	path := w.config(cfg{LDAPURL: dcp.url(), Extra: "enable_password_writeback: true\nschedule: \"@every 1h\"\n" +
		"logger:\n  level: debug\n  file:\n    filename: " + logFile + "\n"})
	rewrite(t, path, func(s string) string { return strings.ReplaceAll(s, w.addr, cloud.lis.Addr().String()) })
	if res := w.run(path, "sync", "--full"); res.code != 0 {
		t.Fatalf("first sync: %s", res)
	}
	daemon := w.start(path, "run")

	cc, err := grpc.NewClient(w.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	users, ops := idp.NewUserServiceClient(cc), operation.NewOperationServiceClient(cc)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+iamToken)
	var active []adseed.User
	for _, u := range w.set.Before.ScopedUsers() {
		if u.Enabled {
			active = append(active, u)
		}
	}
	ids := map[string]string{}
	for _, u := range w.emu.Dump().Users {
		ids[u.Username] = u.ID
	}
	var used []string
	reset := func(u adseed.User, pw string) string {
		used = append(used, pw)
		op, err := users.SetOthersPassword(ctx, &idp.SetOthersPasswordRequest{UserId: ids[username(u.UPN)], PasswordSpec: &idp.PasswordSpec{Password: pw}})
		if err != nil {
			t.Fatalf("SetOthersPassword: %v", err)
		}
		return op.GetId()
	}
	wait := func(id string) *operation.Operation {
		var op *operation.Operation
		waitFor(60*time.Second, func() bool {
			op, err = ops.Get(ctx, &operation.GetOperationRequest{OperationId: id})
			return err == nil && op.GetDone()
		})
		return op
	}
	inAD := func(u adseed.User, pw string) bool {
		pem, _ := os.ReadFile(w.dc.CAFile)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		c, err := ldap.DialURL(w.dc.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: w.dc.Host, MinVersion: tls.VersionTLS12}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Bind(u.DN, pw)
		return err == nil || strings.Contains(err.Error(), "data 773")
	}

	t.Run("stream cut", func(t *testing.T) {
		sc := begin(t, "writeback: stream cut while changes are queued")
		for trial := range trials(1, 3) {
			sc.trial()
			var opIDs []string
			var pws []string
			for i := range 3 {
				pw := fmt.Sprintf("Chaos-Cut-%d-%d", trial, i)
				pws = append(pws, pw)
				opIDs = append(opIDs, reset(active[i], pw))
				if i == 0 {
					cloud.cutAll()
				}
			}
			for i, id := range opIDs {
				op := wait(id)
				switch {
				case op == nil || !op.GetDone():
					sc.fail("trial %d: change %d not done", trial, i)
				case op.GetError() != nil:
					sc.fail("trial %d: change %d failed: %v", trial, i, op.GetError())
				case !inAD(active[i], pws[i]) || !w.emu.PasswordDigestMatches(ids[username(active[i].UPN)], pws[i]):
					sc.fail("trial %d: change %d is not in AD and the pool", trial, i)
				}
			}
		}
	})

	t.Run("DC down past operation_expires_at", func(t *testing.T) {
		sc := begin(t, "writeback: DC down until the operation expires")
		sc.trial()
		u := active[3]
		dcp.stop()
		op := wait(reset(u, "Chaos-Down-0001"))
		var det idp.PasswordWritebackErrorDetails
		if op.GetError() == nil || len(op.GetError().GetDetails()) == 0 || op.GetError().GetDetails()[0].UnmarshalTo(&det) != nil ||
			det.GetErrorCode() != idp.PasswordWritebackErrorDetails_DEADLINE_EXCEEDED || op.GetError().GetCode() != int32(codes.DeadlineExceeded) {
			sc.fail("with the DC down: %v, want DEADLINE_EXCEEDED committed by the agent", op)
		} else {
			t.Logf("with the DC down: %s", det.GetErrorMessage())
		}
		dcp.reset()
		if inAD(u, "Chaos-Down-0001") || w.emu.PasswordDigestMatches(ids[username(u.UPN)], "Chaos-Down-0001") {
			sc.fail("an expired change reached AD or the pool")
		}
		sc.trial()
		if op := wait(reset(u, "Chaos-Back-0002")); op.GetError() != nil || !inAD(u, "Chaos-Back-0002") {
			sc.fail("after the DC returned: %v", op.GetError())
		}
	})

	t.Run("no plaintext written", func(t *testing.T) {
		sc := begin(t, "writeback: no password in state, jobs, logs or output")
		sc.trial()
		_ = daemon.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = daemon.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = daemon.Process.Kill()
			<-done
		}
		printed := daemon.Stdout.(*strings.Builder).String() + daemon.Stderr.(*strings.Builder).String()
		if !strings.Contains(printed+readAll(t, w.dir), "password written back") {
			sc.fail("the logs do not show the writeback: the check would be vacuous")
		}
		for _, pw := range used {
			if strings.Contains(printed, pw) {
				sc.fail("the daemon printed a password")
			}
		}
		_ = filepath.Walk(w.dir, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, pw := range used {
				if strings.Contains(string(b), pw) {
					sc.fail("%s holds a password", p)
				}
			}
			return nil
		})
	})
}

func readAll(t testing.TB, dir string) string {
	var b strings.Builder
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		return nil
	})
	return b.String()
}
