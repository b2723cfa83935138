//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
)

// badUser is a directory user with a problem.
type badUser struct {
	what  string
	attrs map[string]string // sAMAccountName is set from the index
	// synced: the user must reach the pool (the problem is repaired, such
	// as a control character dropped); otherwise it must fail alone.
	synced bool
}

// TestBadDirectoryData adds users and groups with bad values next to the
// set's good ones, and pool objects that conflict with directory ones. A
// cycle must sync every good object, fail each bad one alone, count every
// failure, and exit 3 (partial).
func TestBadDirectoryData(t *testing.T) {
	sc := begin(t, "directory data: bad objects fail alone, counted")
	sc.trial()
	w := newWorld(t, "baddata")
	w.startEmulator(emulator.Options{})
	scope := w.set.Before.Scope
	sfx := w.name[len(w.name)-5:]
	bad := []badUser{
		{what: "UPN with spaces", attrs: map[string]string{"userPrincipalName": "has spaces " + sfx + "@idsync.test", "displayName": "Spaces"}},
		{what: "UPN with no local part", attrs: map[string]string{"userPrincipalName": "@idsync.test", "displayName": "No Local"}},
		{what: "UPN of 300 characters", attrs: map[string]string{"userPrincipalName": strings.Repeat("l", 300) + "@idsync.test", "displayName": "Long UPN"}},
		{what: "duplicate UPN (a)", attrs: map[string]string{"userPrincipalName": "dup" + sfx + "@a.idsync.test", "displayName": "Dup A"}},
		{what: "duplicate UPN (b)", attrs: map[string]string{"userPrincipalName": "dup" + sfx + "@b.idsync.test", "displayName": "Dup B"}},
		{what: "displayName of 256 characters", attrs: map[string]string{"userPrincipalName": "longname" + sfx + "@idsync.test", "displayName": strings.Repeat("N", 256)}, synced: true},
		{what: "no name at all", attrs: map[string]string{"userPrincipalName": "noname" + sfx + "@idsync.test"}, synced: true},
		{what: "control characters", attrs: map[string]string{"userPrincipalName": "ctl" + sfx + "@idsync.test", "displayName": "Ctl\x01Char\x7f"}},
		{what: "taken by a pool user", attrs: map[string]string{"userPrincipalName": "taken" + sfx + "@idsync.test", "displayName": "Taken"}},
		{what: "no UPN", attrs: map[string]string{"displayName": "No UPN"}},
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := w.dc.Target().Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, u := range bad {
		dn := fmt.Sprintf("CN=bad%d-%s,%s", i, sfx, scope)
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"user"})
		req.Attribute("sAMAccountName", []string{fmt.Sprintf("bad%d-%s", i, sfx)})
		req.Attribute("userAccountControl", []string{"514"})
		for k, v := range u.attrs {
			req.Attribute(k, []string{v})
		}
		if err := conn.Add(req); err != nil {
			t.Logf("the DC refused %s (%v); left out", u.what, err)
		}
	}
	for _, cn := range []string{"Sales & Marketing (EU) " + sfx, "R&D " + sfx, "R D " + sfx, "Taken Group " + sfx, "Orphan Group " + sfx} {
		req := ldap.NewAddRequest("CN="+ldap.EscapeDN(cn)+","+scope, nil)
		req.Attribute("objectClass", []string{"group"})
		req.Attribute("member", []string{w.set.Before.ScopedUsers()[0].DN})
		if err := conn.Add(req); err != nil {
			t.Fatalf("add group %q: %v", cn, err)
		}
	}
	// Pool objects that hold a directory user's login and a group's name.
	c, err := idhub.New(idhub.Options{UserpoolID: poolID, OrganizationManagerEndpoint: w.addr, OperationEndpoint: w.addr,
		IAMEndpoint: w.addr, Plaintext: true, StaticToken: iamToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateUser(ctx, &idp.CreateUserRequest{Username: "taken" + sfx + "@" + poolDomain, FullName: "By Hand", IsActive: wrapperspb.Bool(true)}); err != nil {
		t.Fatal(err)
	}

	// "Taken Group" collides with a basic (not synchronized) group: it must
	// fail. "Orphan Group" collides with an external group of an object
	// no longer in the directory, which the cycle deletes: the directory
	// group is refused in that cycle and created by the next one.
	gc, err := grpc.NewClient(w.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+iamToken)
	if _, err := om.NewGroupServiceClient(gc).Create(authed, &om.CreateGroupRequest{OrganizationId: "org-chaos", Name: agent.SanitizeGroupName("Taken Group " + sfx)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateExternalGroup(ctx, agent.SanitizeGroupName("Orphan Group "+sfx), "", "00000000-0000-4000-8000-0000000000aa"); err != nil {
		t.Fatal(err)
	}

	path := w.config(cfg{})
	// The orphan is the only group the pool has under management: deleting
	// it is all of them, over the deletion percentage this test is not
	// about.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), "max_deletion_percent: 50", "max_deletion_percent: 100", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	res := w.run(path, "sync")
	t.Logf("%s", res)
	d := w.emu.Dump()
	if res.code != 3 {
		sc.fail("want exit 3 (partial), got %s", res)
	}
	// Every good user and group is there with the right values.
	got, dups := view(d)
	if len(dups) > 0 {
		sc.fail("duplicates: %v", dups)
	}
	want := expected(w.set.Before)
	for name, v := range want.Users {
		if got.Users[name] != v {
			sc.fail("good user %s: got %q, want %q", name, got.Users[name], v)
		}
	}
	for name, v := range want.Groups {
		if !slices.Equal(got.Groups[name], v) {
			sc.fail("good group %s: got %v, want %v", name, got.Groups[name], v)
		}
	}
	for _, cn := range []string{"Sales & Marketing (EU) " + sfx, "R&D " + sfx, "R D " + sfx} {
		if !slices.ContainsFunc(d.Groups, func(g emulator.DumpGroup) bool {
			return g.ExternalID != "" && strings.Contains(g.Description, cn)
		}) && !slices.ContainsFunc(d.Groups, func(g emulator.DumpGroup) bool { return g.Name == agent.SanitizeGroupName(cn) }) {
			sc.fail("group %q needing a mapped name is not in the pool", cn)
		}
	}
	// Each bad user failed alone: the pool has exactly the good ones, the
	// repaired ones, one of the duplicate pair and the hand-made user.
	byName := map[string]bool{}
	for _, u := range d.Users {
		byName[u.FullName] = true
	}
	// One of the duplicate pair and the group whose name an unmanaged group
	// holds. The group whose name an orphan external group holds is created
	// in the same cycle: the orphan is deleted first.
	failures := int64(2)
	for _, u := range bad {
		name := u.attrs["displayName"]
		switch {
		case strings.HasPrefix(u.what, "duplicate"):
		case u.synced:
			if name != "" && !byName[name] {
				sc.fail("%s: want it synced", u.what)
			}
		default:
			failures++
			if name != "" && byName[name] {
				sc.fail("%s: want it refused, it is in the pool", u.what)
			}
		}
	}
	if byName["Dup A"] == byName["Dup B"] {
		sc.fail("duplicate UPN: want exactly one of the two users in the pool")
	}
	if n := len(want.Users) + 2 + 1 + 1; len(d.Users) != n {
		sc.fail("pool has %d users, want %d", len(d.Users), n)
	}
	var counted int64
	for _, p := range d.Sessions[len(d.Sessions)-1].Progress {
		counted += p.Failed
	}
	if counted != failures {
		sc.fail("the session reports %d failures, want %d", counted, failures)
	}
	if !slices.ContainsFunc(d.Groups, func(g emulator.DumpGroup) bool {
		return g.Name == agent.SanitizeGroupName("Orphan Group "+sfx) && g.ExternalID != "00000000-0000-4000-8000-0000000000aa"
	}) {
		sc.fail("the directory group whose name an orphan held is not in the pool after one cycle")
	}
	// The next cycle retries what failed and creates nothing new: the bad
	// objects fail again, alone.
	sc.trial()
	if res := w.run(path, "sync"); res.code != 3 || !strings.Contains(res.stdout, "groups      created 0") {
		sc.fail("second cycle: want exit 3 with nothing more created, got %s", res)
	}
	t.Logf("pool has %d users (%d good), groups %v", len(d.Users), len(want.Users), got.Groups)
}
