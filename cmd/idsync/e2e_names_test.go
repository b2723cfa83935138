package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// TestE2EDeltaCapturesGroupsByName: AD groups added after the first sync,
// with names the API's list filter cannot express (short, with '.' or
// '_'), whose names unmanaged pool groups hold in another letter case. The
// delta finds those groups (the emulator refuses undocumented filters and
// compares group names case-insensitively) and captures them when
// allow_to_capture_groups is on, or refuses them, naming the setting, when
// it is off.
func TestE2EDeltaCapturesGroupsByName(t *testing.T) {
	for _, capture := range []bool{false, true} {
		t.Run(fmt.Sprintf("capture=%v", capture), func(t *testing.T) {
			e := newE2E(t, fmt.Sprintf("e2e-names-%v", capture), emulator.Options{}, "")
			if capture {
				raw, err := os.ReadFile(e.config)
				if err != nil {
					t.Fatal(err)
				}
				cfg := strings.Replace(string(raw), "sync_settings:\n", "sync_settings:\n  allow_to_capture_groups: true\n", 1)
				if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			e.mustRun(exitOK, "sync", "--full")

			// Unmanaged groups in the organization.
			cc, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+e2eToken)
			held := map[string]string{} // AD name -> pool group id
			pairs := [][2]string{{"QA", "qa"}, {"Dev.Ops", "DEV.OPS"}, {"QA_team", "Qa_Team"}}
			for _, p := range pairs {
				op, err := om.NewGroupServiceClient(cc).Create(ctx, &om.CreateGroupRequest{OrganizationId: "org-e2e", Name: p[1]})
				if err != nil {
					t.Fatalf("create pool group %s: %v", p[1], err)
				}
				var g om.Group
				if err := op.GetResponse().UnmarshalTo(&g); err != nil {
					t.Fatal(err)
				}
				held[p[0]] = g.Id
			}
			// The directory groups, in scope, one member each.
			conn := testdc.Dial(t, e.dc)
			users := e.set.Before.ScopedUsers()
			var dns []string
			t.Cleanup(func() {
				for _, dn := range dns {
					_ = conn.Del(ldapDel(dn))
				}
			})
			for i, p := range pairs {
				dn := "CN=" + ldap.EscapeDN(p[0]) + "," + e.set.Before.Scope
				req := ldap.NewAddRequest(dn, nil)
				req.Attribute("objectClass", []string{"group"})
				req.Attribute("sAMAccountName", []string{fmt.Sprintf("names%d-%d", i, time.Now().UnixNano()%1e9)})
				req.Attribute("member", []string{users[i].DN})
				if err := conn.Add(req); err != nil {
					t.Fatalf("add group %s: %v", dn, err)
				}
				dns = append(dns, dn)
			}

			out, errOut, code := e.run("sync")
			if !strings.Contains(out, "(delta)") {
				t.Errorf("second sync was not a delta:\n%s", out)
			}
			byID := map[string]string{}
			for _, g := range e.emu.Dump().Groups {
				byID[g.ID] = g.ExternalID
			}
			for ad, id := range held {
				if got := byID[id] != ""; got != capture {
					t.Errorf("pool group of %s (%s) managed after the delta: %v, want %v", ad, id, got, capture)
				}
			}
			if capture {
				if code != exitOK {
					t.Errorf("capture on: exit %d\n%s\n%s", code, out, errOut)
				}
				return
			}
			if code != exitPartial || !strings.Contains(errOut, "allow_to_capture_groups") {
				t.Errorf("capture off: exit %d, want %d naming allow_to_capture_groups\n%s\n%s", code, exitPartial, out, errOut)
			}
		})
	}
}
