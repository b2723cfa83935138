package ldapsource

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/idsync/idsync/internal/testing/fakead"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// BenchmarkSnapshotSambaW10k reads the w10k profile (10,000 users, 1,000
// groups, ~50,000 memberships) from the Samba DC.
func BenchmarkSnapshotSambaW10k(b *testing.B) {
	dc, ds := testdc.Seeded(b, "w10k")
	src := dcSource(b, dc, func(o *Options) {
		o.Scope.OrganizationalUnits = []string{ds.Scope}
		o.DeltaMode = DeltaUSN
	})
	benchSnapshot(b, src, len(ds.ScopedUsers()))
}

// BenchmarkSnapshotFake reads 5,000 users and a 5,000-member group from the
// in-process fake (client-side cost without a real DC).
func BenchmarkSnapshotFake(b *testing.B) {
	f := fakead.Start(b, fakead.Options{BindDN: testBindDN, Password: testPass, MaxValRange: 1500})
	f.Add(ouStaff, map[string][]string{"objectClass": {"organizationalUnit"}})
	var dns []string
	for i := 0; i < 5000; i++ {
		dns = append(dns, addUser(f, fakeUser{cn: fmt.Sprintf("u%05d", i), ou: ouStaff, n: i}).DN)
	}
	addGroup(f, fakeGroup{cn: "All", ou: ouStaff, n: 1, members: dns})
	src, err := New(Options{URLs: []string{f.URL()}, Username: testBindDN, Password: testPass, AllowInsecureBind: true,
		Scope: Scope{Domain: "test.example.com"}, DeltaMode: DeltaUSN})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = src.Close() })
	benchSnapshot(b, src, 5000)
}

func benchSnapshot(b *testing.B, src *Source, wantUsers int) {
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		snap, err := src.Snapshot(context.Background())
		if err != nil {
			b.Fatalf("Snapshot: %v", err)
		}
		if len(snap.Users) != wantUsers {
			b.Fatalf("users = %d, want %d", len(snap.Users), wantUsers)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	b.ReportMetric(float64(wantUsers)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
