// Command adseed-ldif writes an adseed profile's objects as LDIF for
// `scripts/samba-dc.sh seed --offline`, which loads it into the stopped
// DC's database, then adds the memberships over LDAP (-seed-members) and
// records the profile as seeded (-mark).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/testdc"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "adseed-ldif:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("adseed-ldif", flag.ContinueOnError)
	envFile := fs.String("env", testdc.EnvFile(testdc.DefaultDir()), "DC env file written by scripts/samba-dc.sh")
	profile := fs.String("profile", "test", "profile: test, demo, w1k, w10k or w100k")
	out := fs.String("out", "", "write <out>/<profile>.ldif and <out>/<profile>.primary")
	members := fs.Bool("offline-members", false, "with -out: write the member values and primary groups into the LDIF too")
	seedMembers := fs.Bool("seed-members", false, "add the member values and primary groups over LDAP (the objects exist)")
	mark := fs.Bool("mark", false, "record the profile as seeded in the DC's state dir")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dc, err := testdc.Load(*envFile)
	if err != nil {
		return err
	}
	ds, err := adseed.Profile(*profile, dc.BaseDN)
	if err != nil {
		return err
	}
	switch {
	case *mark:
		return testdc.MarkSeeded(dc.Dir, ds)
	case *seedMembers:
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		st, err := adseed.SeedMemberships(ctx, dc.Target(), ds, adseed.SeedOptions{})
		if err != nil {
			return err
		}
		fmt.Printf("%d member values added over LDAP in %.1fs\n", st.Members, st.Memberships.Seconds())
		return nil
	case *out == "":
		return fmt.Errorf("-out, -seed-members or -mark is required")
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	return writeFiles(filepath.Join(*out, *profile), ds, *members)
}

func writeFiles(prefix string, ds *adseed.Dataset, members bool) error {
	ldif, err := os.Create(prefix + ".ldif")
	if err != nil {
		return fmt.Errorf("create ldif: %w", err)
	}
	defer ldif.Close()
	primary, err := os.Create(prefix + ".primary")
	if err != nil {
		return fmt.Errorf("create primary list: %w", err)
	}
	defer primary.Close()
	if err := adseed.WriteLDIF(ldif, primary, ds, members); err != nil {
		return err
	}
	if err := ldif.Close(); err != nil {
		return fmt.Errorf("close ldif: %w", err)
	}
	if err := primary.Close(); err != nil {
		return fmt.Errorf("close primary list: %w", err)
	}
	return nil
}
