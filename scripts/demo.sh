#!/usr/bin/env bash
# The idsync demo on embedded defaults: a throwaway Samba AD domain
# controller with a sample directory, the built-in Identity Hub emulator, a
# full synchronization, a few directory changes and a delta synchronization.
#
#   scripts/demo.sh        run the demo (make demo)
#   scripts/demo.sh down   stop what the demo started and remove its files (make demo-down)
#
# Environment: IDSYNC_DEMO_DIR (default /tmp/idsync-demo), IDSYNC_DEMO_PORT
# (emulator gRPC, default 50061), IDSYNC_DEMO_HTTP (emulator dump, default
# 50062). The DC is scripts/samba-dc.sh's (IDSYNC_DC_DIR, IDSYNC_DC_ADDR).
set -Eeuo pipefail

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${IDSYNC_DEMO_DIR:-/tmp/idsync-demo}
PORT=${IDSYNC_DEMO_PORT:-50061}
HTTP=${IDSYNC_DEMO_HTTP:-50062}
BIN="$REPO_DIR/bin/idsync"
DC="$REPO_DIR/scripts/samba-dc.sh"
POOL=demo-pool
DOMAIN=demo.idp.example

if [ -t 1 ]; then bold=$'\e[1m' dim=$'\e[2m' off=$'\e[0m'; else bold='' dim='' off=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$off"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$off"; }

down() {
	if [ -f "$DEMO_DIR/emulator.pid" ]; then
		kill "$(cat "$DEMO_DIR/emulator.pid")" 2>/dev/null || true
	fi
	if [ -f "$DEMO_DIR/started-dc" ]; then
		"$DC" down || true
	fi
	rm -rf "$DEMO_DIR"
	echo "demo: stopped and removed $DEMO_DIR"
}

on_error() {
	local code=$?
	trap - ERR
	echo
	echo "demo: failed (exit $code); cleaning up" >&2
	[ -f "$DEMO_DIR/emulator.log" ] && { echo "--- emulator log (tail)" >&2; tail -n 20 "$DEMO_DIR/emulator.log" >&2; }
	down >&2
	exit "$code"
}

up() {
	if [ -f "$DEMO_DIR/emulator.pid" ] && kill -0 "$(cat "$DEMO_DIR/emulator.pid")" 2>/dev/null; then
		echo "demo: already running; run 'make demo-down' first" >&2
		exit 1
	fi
	rm -rf "$DEMO_DIR"
	mkdir -p "$DEMO_DIR"
	chmod 700 "$DEMO_DIR"
	trap on_error ERR

	for p in "$PORT" "$HTTP"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "demo: port 127.0.0.1:$p is in use; stop what holds it or set IDSYNC_DEMO_PORT / IDSYNC_DEMO_HTTP" >&2
			exit 1
		fi
	done

	step "Building idsync"
	(cd "$REPO_DIR" && make -s build)
	(cd "$REPO_DIR" && go build -o "$DEMO_DIR/adseed" ./cmd/adseed)
	"$BIN" version

	step "Starting a throwaway Active Directory domain controller (Samba)"
	if ! "$DC" status >/dev/null 2>&1; then
		touch "$DEMO_DIR/started-dc"
	fi
	"$DC" up
	env_file=$("$DC" env)
	# shellcheck disable=SC1090
	. "$env_file"

	step "Seeding a sample directory: a few hundred users, groups, nested groups, disabled users"
	"$DEMO_DIR/adseed" -env "$env_file" -profile demo -replace 2>"$DEMO_DIR/seed.log"

	step "Starting the built-in Identity Hub emulator"
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DEMO_DIR/token"
	printf '%s' "$IDSYNC_DC_PASSWORD" >"$DEMO_DIR/ldap-password"
	chmod 600 "$DEMO_DIR/token" "$DEMO_DIR/ldap-password"
	"$BIN" emulator --listen "127.0.0.1:$PORT" --http "127.0.0.1:$HTTP" --userpool-id "$POOL" \
		--domain "$DOMAIN" --static-token-file "$DEMO_DIR/token" --min-interval 0 \
		--state "$DEMO_DIR/emulator.json" >"$DEMO_DIR/emulator.log" 2>&1 &
	echo $! >"$DEMO_DIR/emulator.pid"
	for _ in $(seq 100); do
		grep -q listening "$DEMO_DIR/emulator.log" && break
		kill -0 "$(cat "$DEMO_DIR/emulator.pid")" 2>/dev/null || { cat "$DEMO_DIR/emulator.log" >&2; false; }
		sleep 0.1
	done
	grep listening "$DEMO_DIR/emulator.log"

	cat >"$DEMO_DIR/config.yaml" <<EOF
# idsync demo configuration (written by scripts/demo.sh)
userpool_id: $POOL
agent_id: idsync-demo
iam_token: {file: $DEMO_DIR/token}
endpoints:
  organization_manager: 127.0.0.1:$PORT
  iam: 127.0.0.1:$PORT
  operation: 127.0.0.1:$PORT
  plaintext: true
state_path: $DEMO_DIR/state
ldap:
  host: $IDSYNC_DC_LDAPS_URL
  username: $IDSYNC_DC_BIND_UPN
  password: {file: $DEMO_DIR/ldap-password}
  certificate_path: $IDSYNC_DC_CA_FILE
logger:
  level: warn
apply:
  rate_limit: 0   # the local emulator has no call limit; keep the default (50/s) for Yandex Cloud
sync_settings:
  replacement_domain: $DOMAIN
  filter:
    domain: $IDSYNC_DC_DOMAIN
    organization_units: ["OU=Demo,$IDSYNC_DC_BASE_DN"]
EOF
	chmod 600 "$DEMO_DIR/config.yaml"
	cfg="$DEMO_DIR/config.yaml"
	note "config: $cfg"

	step "Checking the setup (idsync check)"
	"$BIN" check --config "$cfg"

	step "Full synchronization (idsync sync --full)"
	"$BIN" sync --full --config "$cfg"

	step "What landed in the pool"
	sleep 0.3
	"$BIN" emulator dump --from "http://127.0.0.1:$HTTP/dump" --summary

	step "Changing a few directory objects"
	"$DEMO_DIR/adseed" -env "$env_file" -profile demo -demo-changes

	step "What the next cycle would do (idsync plan)"
	"$BIN" plan --config "$cfg" | tail -n 12

	step "Delta synchronization (idsync sync)"
	"$BIN" sync --config "$cfg"

	step "Job history (idsync jobs list)"
	"$BIN" jobs list --config "$cfg"

	trap - ERR
	cat <<EOF

${bold}The demo is running.${off} Look around:
  bin/idsync jobs list --config $cfg
  bin/idsync jobs show <JOB ID> -o json --config $cfg
  bin/idsync plan --config $cfg
  bin/idsync emulator dump --from http://127.0.0.1:$HTTP/dump --summary
  bin/idsync emulator dump --from http://127.0.0.1:$HTTP/dump     (everything, as JSON)
  bin/idsync run --config $cfg                                   (the daemon; Ctrl-C stops it)
Tear down with: make demo-down
EOF
}

case "${1:-up}" in
up) up ;;
down) down ;;
*)
	echo "usage: $0 [up|down]" >&2
	exit 2
	;;
esac
