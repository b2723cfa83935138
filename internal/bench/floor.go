package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// Filters and attributes of ldapsource's snapshot (ldapsource/entry.go),
// with the default attribute mapping.
const (
	floorUserFilter  = "(&(objectCategory=person)(objectClass=user))"
	floorGroupFilter = "(objectClass=group)"
)

var (
	floorUserAttrs  = []string{"objectGUID", "objectSid", "objectClass", "sAMAccountName", "userAccountControl", "accountExpires", "pwdLastSet", "primaryGroupID", "isCriticalSystemObject"}
	floorGroupAttrs = []string{"objectGUID", "objectSid", "objectClass", "sAMAccountName", "cn", "isCriticalSystemObject", "member"}
)

// ldapFloor is the time ldapsearch takes to page through what a full
// snapshot reads: the users of the scope and the groups of the domain.
type ldapFloor struct {
	Users, Groups         time.Duration
	UserEntries           int
	GroupEntries          int
	UserBytes, GroupBytes int64
}

func (f ldapFloor) total() time.Duration { return f.Users + f.Groups }

func measureLDAPFloor(ctx context.Context, dc testdc.DC, scope string) (ldapFloor, error) {
	var f ldapFloor
	m := directory.DefaultMapping()
	var err error
	f.Users, f.UserEntries, f.UserBytes, err = ldapsearch(ctx, dc, scope, floorUserFilter, append(floorUserAttrs, m.UserAttributes()...))
	if err != nil {
		return f, err
	}
	f.Groups, f.GroupEntries, f.GroupBytes, err = ldapsearch(ctx, dc, dc.BaseDN, floorGroupFilter, append(floorGroupAttrs, m.GroupAttributes()...))
	return f, err
}

// ldapsearch pages through base with filter over LDAPS (1,000 per page) and
// returns the wall time, the entries and the bytes of LDIF received.
func ldapsearch(ctx context.Context, dc testdc.DC, base, filter string, attrs []string) (time.Duration, int, int64, error) {
	pw, err := os.CreateTemp("", "idsync-bench-pw")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("ldapsearch: %w", err)
	}
	defer os.Remove(pw.Name())
	if _, err := pw.WriteString(dc.Password); err != nil {
		pw.Close()
		return 0, 0, 0, fmt.Errorf("ldapsearch: %w", err)
	}
	pw.Close()
	args := append([]string{"-LLL", "-x", "-H", dc.LDAPSURL, "-D", dc.BindUPN, "-y", pw.Name(),
		"-E", "pr=1000/noprompt", "-b", base, filter}, attrs...)
	cmd := exec.CommandContext(ctx, "ldapsearch", args...)
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+dc.CAFile, "LDAPTLS_REQCERT=demand")
	var out countWriter
	var errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, 0, fmt.Errorf("ldapsearch %s: %w: %s", base, err, strings.TrimSpace(errb.String()))
	}
	return time.Since(start), out.entries, out.n, nil
}

// countWriter counts bytes and LDIF entries ("dn:" lines).
type countWriter struct {
	n       int64
	entries int
	partial []byte
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	for _, line := range strings.SplitAfter(string(append(w.partial, p...)), "\n") {
		if !strings.HasSuffix(line, "\n") {
			w.partial = []byte(line)
			break
		}
		w.partial = w.partial[:0]
		if strings.HasPrefix(line, "dn:") {
			w.entries++
		}
	}
	return len(p), nil
}

// emuThroughput measures the emulator's UserService.Create rate over
// loopback from conc parallel clients: n calls in total.
func emuThroughput(ctx context.Context, n, conc int) (float64, error) {
	e, err := startEmulator(ctx, 0, 0)
	if err != nil {
		return 0, err
	}
	defer e.stop() //nolint:errcheck // the measurement is taken; shutdown errors do not change it
	conn, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, fmt.Errorf("emulator throughput: %w", err)
	}
	defer conn.Close()
	users := idp.NewUserServiceClient(conn)
	callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+emuToken)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				_, err := users.Create(callCtx, &idp.CreateUserRequest{
					UserpoolId: emuPool, Username: fmt.Sprintf("floor%d@%s", i, emuDomain), FullName: "Floor User",
					ExternalId:  fmt.Sprintf("floor-%d", i),
					Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "Floor-Passw0rd-123"}},
				})
				if err != nil {
					errs <- fmt.Errorf("emulator throughput: create: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) / took.Seconds(), nil
}
