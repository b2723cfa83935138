package ldapsource

import (
	"testing"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/testing/fakead"
)

// An account-state read with nothing written on the domain controller
// since the watermark makes no search beyond the rootDSE: a DirSync or
// uSNChanged search costs Samba a scan of every user.
func TestAccountChangesIdleMakesNoSearch(t *testing.T) {
	for _, mode := range []DeltaMode{DeltaDirSync, DeltaUSN} {
		t.Run(string(mode), func(t *testing.T) {
			f := startFake(t, fakead.Options{})
			u := fakeUser{cn: "ann", ou: "OU=Staff," + testBase, n: 1}
			addUser(f, u)
			src := newTestSource(t, f, func(o *Options) { o.DeltaMode = mode })
			first, err := src.AccountChanges(t.Context(), directory.Watermark{})
			if err != nil || !first.Full || len(first.States) != 1 {
				t.Fatalf("first read: %+v, %v", first, err)
			}
			rounds, searches := f.DirSyncRounds.Load(), f.Searches.Load()
			idle, err := src.AccountChanges(t.Context(), first.Watermark)
			if err != nil || len(idle.States) != 0 || idle.Full {
				t.Fatalf("idle read: %+v, %v", idle, err)
			}
			if n := f.DirSyncRounds.Load() - rounds; n != 0 {
				t.Errorf("idle read made %d DirSync requests, want 0", n)
			}
			if n := f.Searches.Load() - searches; n > 2 {
				t.Errorf("idle read made %d searches, want the rootDSE and invocationId reads only", n)
			}
			f.Modify(u.dn(), map[string][]string{"userAccountControl": {"514"}})
			changed, err := src.AccountChanges(t.Context(), idle.Watermark)
			if err != nil || len(changed.States) != 1 || changed.States[0].Enabled {
				t.Fatalf("read after disabling: %+v, %v", changed, err)
			}
		})
	}
}
