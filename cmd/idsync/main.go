// Command idsync synchronizes users, groups and memberships from Active
// Directory to a Yandex Identity Hub user pool.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	// A crash (a panic nothing recovered, a fatal runtime error) kills the
	// process with SIGABRT instead of exiting with status 2, the status of
	// a usage or configuration error, on which the service is not
	// restarted. Panics in idsync's own loops are recovered and exit 1.
	debug.SetTraceback("crash")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfiles, err := startProfiles()
	if err != nil {
		fmt.Fprintln(os.Stderr, "idsync:", err)
		os.Exit(1)
	}
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfiles()
	stop()
	os.Exit(code)
}
