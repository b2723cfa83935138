// Command ldifgen writes an adseed profile as LDIF for
// `scripts/samba-dc.sh seed --offline`, which loads it into the stopped
// DC's database, and records the profile as seeded once that is done.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/idsync/idsync/internal/testing/adseed"
	"github.com/idsync/idsync/internal/testing/testdc"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ldifgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ldifgen", flag.ContinueOnError)
	envFile := fs.String("env", testdc.EnvFile(testdc.DefaultDir()), "DC env file written by scripts/samba-dc.sh")
	profile := fs.String("profile", "test", "profile: test, demo, w1k, w10k or w100k")
	out := fs.String("out", "", "write <out>/<profile>.ldif and <out>/<profile>.primary")
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
	if *mark {
		return testdc.MarkSeeded(dc.Dir, ds)
	}
	if *out == "" {
		return fmt.Errorf("-out or -mark is required")
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	return writeFiles(filepath.Join(*out, *profile), ds)
}

func writeFiles(prefix string, ds *adseed.Dataset) error {
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
	if err := adseed.WriteLDIF(ldif, primary, ds); err != nil {
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
