// Command adseed seeds an adseed profile into the Samba DC described by an
// env file written by scripts/samba-dc.sh, or prints a profile's shape.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/testdc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "adseed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("adseed", flag.ContinueOnError)
	envFile := fs.String("env", testdc.EnvFile(testdc.DefaultDir()), "DC env file written by scripts/samba-dc.sh")
	profile := fs.String("profile", "test", "profile: test, demo, w1k, w10k or w100k")
	workers := fs.Int("workers", 0, "parallel LDAP connections (0: default)")
	batch := fs.Int("batch", 0, "member values per modify (0: default)")
	replace := fs.Bool("replace", false, "remove and re-create the profile if present")
	dryRun := fs.Bool("n", false, "only generate the profile and print its shape")
	demoChanges := fs.Bool("demo-changes", false, "apply a few everyday changes (new hire, promotion, leaver, rename, group changes) to the seeded profile and print them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dryRun {
		ds, err := adseed.Profile(*profile, "DC=idsync,DC=test")
		if err != nil {
			return err
		}
		printShape(out, ds)
		return nil
	}
	dc, err := testdc.Load(*envFile)
	if err != nil {
		return err
	}
	ds, err := adseed.Profile(*profile, dc.BaseDN)
	if err != nil {
		return err
	}
	if *demoChanges {
		ms, desc, err := adseed.DemoChanges(ds)
		if err != nil {
			return err
		}
		if err := adseed.ApplyMutations(ctx, dc.Target(), ms); err != nil {
			return err
		}
		for _, d := range desc {
			fmt.Fprintln(out, "  -", d)
		}
		return nil
	}
	log, err := zap.NewDevelopment()
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	defer func() { _ = log.Sync() }()
	opts := adseed.SeedOptions{Workers: *workers, MemberBatch: *batch, Logger: log}
	var st adseed.Stats
	if *replace {
		opts.Replace = true
		if st, err = adseed.Seed(ctx, dc.Target(), ds, opts); err != nil {
			return err
		}
		if err := testdc.MarkSeeded(dc.Dir, ds); err != nil {
			return err
		}
	} else {
		// Seeds unless recorded as seeded; a partial earlier run is replaced.
		if _, st, err = testdc.EnsureSeeded(ctx, dc, *profile, opts); err != nil {
			return err
		}
		if st.Total == 0 {
			fmt.Fprintf(out, "profile %s is already seeded (use -replace to re-create)\n", *profile)
			return nil
		}
	}
	printShape(out, ds)
	fmt.Fprintf(out, "seeded in %.1fs (remove %.1fs, create %.1fs, memberships %.1fs)\n",
		st.Total.Seconds(), st.Remove.Seconds(), st.Create.Seconds(), st.Memberships.Seconds())
	return nil
}

func printShape(out io.Writer, ds *adseed.Dataset) {
	big := 0
	for _, g := range ds.Groups {
		big = max(big, len(g.Members))
	}
	fmt.Fprintf(out, "profile %s: scope %s; %d OUs, %d users (%d in scope), %d groups, %d member values (largest group %d), %d computers\n",
		ds.Profile, ds.Scope, len(ds.OUs), len(ds.Users), len(ds.ScopedUsers()), len(ds.Groups), ds.MembershipCount(), big, len(ds.Computers))
}
