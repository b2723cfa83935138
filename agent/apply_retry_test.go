package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
)

// attemptCounter counts, per change, the calls that reach the server: a
// change is a mutating method and the object it names.
type attemptCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *attemptCounter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if key, ok := changeKey(method, req); ok {
		c.mu.Lock()
		c.n[key]++
		c.mu.Unlock()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// take returns the counts so far and starts again.
func (c *attemptCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// changeKey names the change a call makes: its method and the first of
// external_id, user_id and group_id the request has (a retried create
// may carry a new generated password, so the whole request will not do).
func changeKey(method string, req any) (string, bool) {
	if strings.Contains(method, "Synchronization") {
		return "", false
	}
	mutating := false
	for _, verb := range []string{"/Create", "/Update", "/Delete", "/Suspend", "/Reactivate", "/ConvertToExternal", "/CreateExternal", "/UpdateMembers"} {
		mutating = mutating || strings.HasSuffix(method, verb)
	}
	m, ok := req.(proto.Message)
	if !mutating || !ok {
		return "", false
	}
	r := m.ProtoReflect()
	for _, name := range []protoreflect.Name{"external_id", "user_id", "group_id"} {
		if fd := r.Descriptor().Fields().ByName(name); fd != nil && r.Get(fd).String() != "" {
			return method + " " + r.Get(fd).String(), true
		}
	}
	return "", false
}

// TestAttemptsPerChangeFollowTheRetryLayer runs cycles against an
// emulator that fails a quarter of all calls and checks that no change is
// attempted more often than the client's retry layer allows: the applier
// adds no retries of its own.
func TestAttemptsPerChangeFollowTheRetryLayer(t *testing.T) {
	for _, maxRetries := range []int{0, 2} {
		t.Run(fmt.Sprintf("max_retries=%d", maxRetries), func(t *testing.T) {
			attempts := maxRetries + 1
			counter := &attemptCounter{n: map[string]int{}}
			// A failed CloseSession leaves the session open until it
			// expires: the emulator's clock moves an hour between cycles.
			var clockMu sync.Mutex
			now := time.Now()
			clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
			r := newRigClient(t, emulator.Options{NoMinInterval: true, ErrorRate: 0.25, Now: clock}, func(o *idhub.Options) {
				o.Retry = idhub.RetryOptions{MaxAttempts: attempts, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
				o.DialOptions = append(o.DialOptions, grpc.WithChainUnaryInterceptor(counter.intercept))
			}, nil)
			ctx := t.Context()

			var users []directory.User
			for i := 1; i <= 30; i++ {
				users = append(users, dirUser(i))
			}
			group := directory.Group{ExternalID: "g-all", Name: "All Staff"}
			for _, u := range users {
				group.Members = append(group.Members, u.ExternalID)
			}
			phases := []func(d *fakeDir){
				func(d *fakeDir) { d.users, d.groups = users, []directory.Group{group} },
				func(d *fakeDir) {
					for i := range d.users {
						d.users[i].FullName += " Jr"
						d.users[i].Enabled = i%3 != 0
					}
				},
				func(d *fakeDir) {
					for _, u := range d.users[20:] {
						d.deleted[u.ExternalID] = true
					}
					d.users = d.users[:20]
					d.groups = nil
				},
			}
			total, multi := 0, 0
			for _, phase := range phases {
				r.dir.set(phase)
				// Run until a cycle converges (bounded): at this error
				// rate many cycles fail before they reach any change.
				for done, i := false, 0; !done && i < 60; i++ {
					_, err := r.agent.RunCycle(ctx, CycleOptions{Full: true})
					done = err == nil
					clockMu.Lock()
					now = now.Add(time.Hour)
					clockMu.Unlock()
					for key, n := range counter.take() {
						total += n
						if n > 1 {
							multi++
						}
						if n > attempts {
							t.Errorf("%s: %d attempts in one cycle, want at most %d", key, n, attempts)
						}
					}
				}
			}
			t.Logf("change attempts %d, changes attempted more than once %d", total, multi)
			if total < 60 {
				t.Fatalf("only %d change attempts reached the server; the test saw too little", total)
			}
			if r.emu.Stats().Errors == nil || len(r.emu.Stats().Errors) == 0 {
				t.Fatal("the emulator injected no faults")
			}
			if attempts == 1 && multi > 0 {
				t.Errorf("%d changes were attempted more than once with max_retries 0", multi)
			}
			if attempts > 1 && multi == 0 {
				t.Errorf("no change was retried with max_retries %d", maxRetries)
			}
		})
	}
}

// TestFailedCreateKeepsItsMemberships checks that a user whose create
// failed gets its group memberships in the cycle that creates it, although
// the groups themselves did not change in the directory.
func TestFailedCreateKeepsItsMemberships(t *testing.T) {
	victim := dirUser(1).ExternalID
	var failed atomic.Bool
	failOnce := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if cr, ok := req.(*idp.CreateUserRequest); ok && cr.GetExternalId() == victim && failed.CompareAndSwap(false, true) {
			return status.Error(codes.Unavailable, "injected before sending")
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	r := newRigClient(t, emulator.Options{NoMinInterval: true}, func(o *idhub.Options) {
		o.DialOptions = append(o.DialOptions, grpc.WithChainUnaryInterceptor(failOnce))
	}, nil)
	ctx := t.Context()
	u := []directory.User{dirUser(1), dirUser(2), dirUser(3)}
	r.dir.set(func(d *fakeDir) {
		d.users = u
		d.groups = []directory.Group{{ExternalID: "g-all", Name: "All Staff", Members: []string{u[0].ExternalID, u[1].ExternalID, u[2].ExternalID}}}
	})
	var pe *PartialError
	if _, err := r.agent.RunCycle(ctx, CycleOptions{}); !errors.As(err, &pe) {
		t.Fatalf("first cycle: %v, want a partial success", err)
	}
	job, err := r.agent.RunCycle(ctx, CycleOptions{})
	if err != nil {
		t.Fatalf("second cycle: %v", err)
	}
	if job.Mode != "delta" {
		t.Errorf("second cycle mode %s, want delta", job.Mode)
	}
	_, groups := r.poolState()
	want := []string{u[0].ExternalID, u[1].ExternalID, u[2].ExternalID}
	if diff := cmp.Diff(want, groups["All-Staff"]); diff != "" {
		t.Errorf("members after the retried create (-want +got):\n%s", diff)
	}
}
