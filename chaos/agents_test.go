//go:build chaos

package chaos

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/adseed"
)

const agentsTTL = 2 * time.Second

// adSync is the session type of directory cycles.
var adSync = idp.SessionType_AD_SYNC.String()

// TestSeveralAgents runs three `idsync run` daemons on one pool, each with
// its own state. Sessions must never overlap; when the agent holding the
// session is killed with SIGKILL, another one must open the next session
// once the dead one expired; and every object is created and deleted
// exactly once (a change applied twice would show as an extra call).
func TestSeveralAgents(t *testing.T) {
	rounds := trials(1, 3)
	sc := begin(t, "agents: three daemons, one pool, holder killed")
	w := newWorld(t, "agents")
	w.startEmulator(emulator.Options{Latency: 10 * time.Millisecond, SessionTTL: agentsTTL})
	daemons := map[string]*exec.Cmd{}
	start := func(id string) {
		path := w.config(cfg{AgentID: id, State: filepath.Join(w.dir, "state-"+id),
			Extra: "schedule: \"@every 1s\"\nheartbeat_interval: 300ms\napply:\n  concurrency: 2\n"})
		daemons[id] = w.start(path, "run")
	}
	for i := range 3 {
		start(fmt.Sprintf("chaos-agent-%d", i))
	}
	converged := func(want poolView) bool {
		got, _ := view(w.emu.Dump())
		return cmp.Equal(want, got)
	}
	if !waitFor(time.Minute, func() bool { return converged(expected(w.set.Before)) }) {
		got, _ := view(w.emu.Dump())
		sc.fatal("three agents did not sync the directory within a minute: %s", cmp.Diff(expected(w.set.Before), got))
	}

	var killed []emulator.DumpSession
	for round := range rounds {
		sc.trial()
		if round == 0 {
			w.applyMutations()
		}
		// Kill whoever holds the session next. A no-change cycle is short:
		// the holder may close its session between the look and the kill,
		// and then it did not die holding it; bring it back and try again.
		var held emulator.DumpSession
		for attempt := 0; ; attempt++ {
			if attempt == 20 {
				sc.fatal("round %d: every kill landed after the holder had closed its session", round)
			}
			if !waitFor(30*time.Second, func() bool {
				for _, s := range w.emu.Dump().Sessions {
					if s.Type == adSync && s.Status == "OPENED" && daemons[s.AgentID] != nil && daemons[s.AgentID].ProcessState == nil {
						held = s
						return true
					}
				}
				return false
			}) {
				sc.fatal("round %d: no live agent opened a session within 30s", round)
			}
			cmd := daemons[held.AgentID]
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			if sessionStatus(w.emu.Dump(), held.ID) == "OPENED" {
				break
			}
			t.Logf("round %d: %s closed session %s before the kill landed; again", round, held.AgentID, held.ID)
			start(held.AgentID)
		}
		killed = append(killed, held)
		t.Logf("round %d: killed %s holding session %s", round, held.AgentID, held.ID)
		// Another agent takes over once the session expired.
		var next emulator.DumpSession
		if !waitFor(agentsTTL+20*time.Second, func() bool {
			for _, s := range w.emu.Dump().Sessions {
				if s.Type == adSync && s.CreatedAt.After(held.CreatedAt) && s.AgentID != held.AgentID {
					next = s
					return true
				}
			}
			return false
		}) {
			sc.fatal("round %d: no agent took over after %s was killed", round, held.AgentID)
		}
		t.Logf("round %d: %s took over at +%s", round, next.AgentID, next.CreatedAt.Sub(held.CreatedAt).Round(time.Millisecond))
		if round < rounds-1 {
			// Bring a daemon back so that the next round has three.
			start(held.AgentID)
		}
	}
	want := expected(w.set.After)
	if !waitFor(time.Minute, func() bool { return converged(want) }) {
		got, _ := view(w.emu.Dump())
		sc.fatal("the agents did not converge after the kills (-want +got):\n%s", cmp.Diff(want, got))
	}
	for _, cmd := range daemons {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	}

	d := w.emu.Dump()
	if _, dups := view(d); len(dups) > 0 {
		sc.fail("duplicates in the pool: %v", dups)
	}
	// AD_SYNC sessions never overlap: each ends (closed or expired) before
	// the next one opens. (User-control sessions run beside them.)
	var cycles []emulator.DumpSession
	for _, s := range d.Sessions {
		if s.Type == adSync {
			cycles = append(cycles, s)
		}
	}
	for i := 1; i < len(cycles); i++ {
		prev, cur := cycles[i-1], cycles[i]
		end := prev.ExpiresAt
		if prev.ClosedAt != nil {
			end = *prev.ClosedAt
		}
		if cur.CreatedAt.Before(end) {
			sc.fail("session %s (%s) opened at %s while %s (%s) was open until %s", cur.ID, cur.AgentID, cur.CreatedAt, prev.ID, prev.AgentID, end)
		}
	}
	for _, k := range killed {
		for _, s := range d.Sessions {
			if s.ID == k.ID && s.Status != "EXPIRED" {
				sc.fail("the killed agent's session %s is %s, want EXPIRED", s.ID, s.Status)
			}
		}
	}
	calls := w.emu.Stats().Calls
	users, groups := lifecycle(w.set.Before, w.set.After)
	for method, want := range map[string]int64{
		idp.UserService_Create_FullMethodName:            users[0],
		idp.UserService_Delete_FullMethodName:            users[1],
		om.GroupService_CreateExternal_FullMethodName:    groups[0],
		om.GroupService_Delete_FullMethodName:            groups[1],
		idp.UserService_ConvertToExternal_FullMethodName: 0,
	} {
		if calls[method] != want {
			sc.fail("%s called %d times, want %d (a change applied twice or lost)", method, calls[method], want)
		}
	}
	t.Logf("%d sessions; calls %v", len(d.Sessions), calls)
}

// lifecycle returns how many users and groups of the scope are created
// ([0]) and deleted ([1]) going from an empty pool through before to after.
func lifecycle(before, after *adseed.Dataset) (users, groups [2]int64) {
	key := func(u adseed.User) string { return strings.ToLower(u.SAMAccountName) }
	var b, a []string
	for _, u := range before.ScopedUsers() {
		b = append(b, key(u))
	}
	for _, u := range after.ScopedUsers() {
		a = append(a, key(u))
	}
	users = counts(b, a)
	b, a = nil, nil
	for _, g := range before.ScopedGroups() {
		b = append(b, strings.ToLower(g.CN))
	}
	for _, g := range after.ScopedGroups() {
		a = append(a, strings.ToLower(g.CN))
	}
	return users, counts(b, a)
}

func counts(before, after []string) [2]int64 {
	var c [2]int64
	c[0] = int64(len(before))
	for _, k := range after {
		if !slices.Contains(before, k) {
			c[0]++
		}
	}
	for _, k := range before {
		if !slices.Contains(after, k) {
			c[1]++
		}
	}
	return c
}

// sessionStatus is the status of session id in d, or "" when d lacks it.
func sessionStatus(d emulator.Dump, id string) string {
	for _, s := range d.Sessions {
		if s.ID == id {
			return s.Status
		}
	}
	return ""
}
