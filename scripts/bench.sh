#!/usr/bin/env bash
# bench.sh: measure idsync on a benchmark workload and print a markdown report.
#
#   scripts/bench.sh [WORKLOAD] [idsync-bench flags...]
#
# WORKLOAD is w1k (default), w10k or w100k. The script starts its own Samba
# AD DC (not the test DC: seeding a benchmark profile takes the DC's only
# process for a minute), seeds the workload once (recorded in the DC's state
# dir, so later runs skip it; seeding is never part of a measurement), builds
# idsync and runs the harness (cmd/idsync-bench). Extra flags go to the
# harness, e.g. -o bench/results/w10k.md, -rps 500, -latency 50ms.
#
# Environment:
#   IDSYNC_BENCH_DC_DIR   state dir of the benchmark DC (default /tmp/idsync-dc-bench)
#   IDSYNC_BENCH_DC_ADDR  its loopback address (default 127.77.0.2)
#   IDSYNC_BENCH_DC_DOWN  1: stop the DC and remove its state afterwards
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
WORKLOAD="${1:-w1k}"
[ $# -gt 0 ] && shift
case "$WORKLOAD" in
w1k | w10k | w100k) ;;
*)
	echo "bench: unknown workload $WORKLOAD (w1k, w10k or w100k)" >&2
	exit 2
	;;
esac
export IDSYNC_DC_DIR="${IDSYNC_BENCH_DC_DIR:-/tmp/idsync-dc-bench}"
export IDSYNC_DC_ADDR="${IDSYNC_BENCH_DC_ADDR:-127.77.0.2}"

cd "$REPO_DIR"
scripts/samba-dc.sh up
scripts/samba-dc.sh seed --profile "$WORKLOAD"
if [ "${IDSYNC_BENCH_DC_DOWN:-0}" = 1 ]; then
	trap 'scripts/samba-dc.sh down' EXIT
fi
export IDSYNC_BENCH_COMMAND="${IDSYNC_BENCH_COMMAND:-scripts/bench.sh $WORKLOAD${*:+ $*}}"
go run ./cmd/idsync-bench -workload "$WORKLOAD" -dc-dir "$IDSYNC_DC_DIR" "$@"
