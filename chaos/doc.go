// Package chaos is idsync's fault suite: cloud faults, directory faults,
// kill -9 crashes, several agents on one pool, broken configurations, bad
// directory data, fuzzing and security checks. It drives the real binary
// against a Samba AD domain controller (each scenario seeds its own OU) and
// an in-process Identity Hub emulator, and prints a table of scenario,
// trials and result.
//
// The suite is behind the "chaos" build tag so that `go test ./...` stays
// fast. `make chaos` runs it against a DC of its own:
//
//	IDSYNC_DC_DIR=/tmp/idsync-dc-chaos IDSYNC_DC_ADDR=127.77.0.3 scripts/samba-dc.sh up
//	IDSYNC_DC_DIR=/tmp/idsync-dc-chaos CI=true go test -tags chaos -count=1 -timeout 45m ./chaos
//
// In package-list mode `go test` shows the table only when something fails
// (or with -v); CHAOS_TABLE=FILE also writes it to FILE.
//
// Environment:
//
//	CHAOS_LEVEL         full (default: at least 20 crash trials, 3 rounds of each
//	                    cloud fault, 30 s per fuzzer) or ci (a short variant, about
//	                    one minute, for .ci/run)
//	CHAOS_SEED          fixes the random kill points and cut points (default 1)
//	CHAOS_CLOUD_ROUNDS  rounds of each cloud fault at the full level (default 3)
//	CHAOS_CRASH_TRIALS  kill -9 trials of each kind at the full level (default 12)
//	CHAOS_FUZZTIME      time per fuzzer (default 30s, ci 5s)
//	CHAOS_TABLE         a file to write the table to
//
// Directory faults go through a TCP proxy the test controls (proxy_test.go),
// listening on the DC's own address so that its certificate still verifies:
// it cuts every connection after a chosen number of bytes, or refuses
// connections as a stopped DC would. A session that expires mid-run is made
// by moving the emulator's clock past the session TTL while the cycle
// applies changes; the next heartbeat finds the session gone.
package chaos
