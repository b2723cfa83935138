package drsrsource_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/drsrsource"
	"github.com/idsync/idsync/internal/testing/testdc"
)

// BenchmarkFullPass measures a full password pass (Changes over the domain,
// then Hashes of every in-scope account) over IDSYNC_PW_BENCH_USERS users
// (default 1000) with passwords, seeded once into OU=pwbench-N of the DC.
// Run it against a DC of your own, not the shared one:
//
//	IDSYNC_DC_DIR=/tmp/idsync-dc-pw IDSYNC_PW_BENCH_USERS=10000 \
//	  go test -run '^$' -bench FullPass -benchtime 1x ./drsrsource/
func BenchmarkFullPass(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("IDSYNC_PW_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	dc := testdc.Env(b)
	ou := fmt.Sprintf("OU=pwbench-%d,%s", n, dc.BaseDN)
	seedBench(b, dc, ou, n)
	c, err := drsrsource.Dial(b.Context(), drsrsource.Options{Host: dc.Addr, TargetName: dc.Host, Username: "Administrator",
		Domain: dc.NetBIOS, Password: dc.Password, BaseDN: dc.BaseDN, Scope: []string{ou}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		start := time.Now()
		var accs []drsrsource.Account
		if _, _, err := c.Changes(b.Context(), drsrsource.Cursor{}, func(a drsrsource.Account) error {
			accs = append(accs, a)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		scan := time.Since(start)
		got := 0
		if err := c.Hashes(b.Context(), accs, func(*drsrsource.Secret) error { got++; return nil }); err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		if got != n {
			b.Fatalf("%d hashes, want %d", got, n)
		}
		b.ReportMetric(float64(n)/total.Seconds(), "users/s")
		b.Logf("%d users: changes scan %v, hashes %v, total %v (%.0f users/s)", n, scan, total-scan, total, float64(n)/total.Seconds())
	}
}

func seedBench(b *testing.B, dc testdc.DC, ou string, n int) {
	conn := testdc.Dial(b, dc)
	res, err := conn.Search(ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=user)", []string{"dn"}, nil))
	if err == nil && len(res.Entries) >= n {
		return
	}
	if err != nil {
		req := ldap.NewAddRequest(ou, nil)
		req.Attribute("objectClass", []string{"organizationalUnit"})
		if err := conn.Add(req); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeding %d users with passwords into %s", n, ou)
	g, ctx := errgroup.WithContext(context.WithoutCancel(b.Context()))
	const workers = 4
	for w := range workers {
		g.Go(func() error {
			c, err := dc.Target().Dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			for i := w; i < n; i += workers {
				sam := fmt.Sprintf("pwb%d-%d", n, i)
				req := ldap.NewAddRequest(fmt.Sprintf("CN=%s,%s", sam, ou), nil)
				req.Attribute("objectClass", []string{"user"})
				req.Attribute("sAMAccountName", []string{sam})
				req.Attribute("userAccountControl", []string{"512"})
				var pw []byte
				for _, r := range utf16.Encode([]rune(`"Bench-Passw0rd-` + strconv.Itoa(i) + `"`)) {
					pw = append(pw, byte(r), byte(r>>8))
				}
				req.Attribute("unicodePwd", []string{string(pw)})
				if err := c.Add(req); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
					return fmt.Errorf("add %s: %w", sam, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}
