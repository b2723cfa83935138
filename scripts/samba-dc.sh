#!/usr/bin/env bash
# samba-dc.sh: a throwaway Samba Active Directory domain controller on a
# dedicated loopback address, for integration tests, demos and benchmarks.
#
#   scripts/samba-dc.sh up                 install (if needed), provision, start, wait for LDAPS
#   scripts/samba-dc.sh down               stop the DC this script started and remove its state
#   scripts/samba-dc.sh status             say whether the DC runs (exit 0 if healthy, 1 otherwise)
#   scripts/samba-dc.sh seed [--profile P] [--replace] [--workers N] [--offline]
#                                          seed dataset P (demo|test|w1k|w10k|w100k; default test);
#                                          a profile already recorded as seeded is left alone;
#                                          --offline stops the DC, loads the objects straight into
#                                          its database (scripts/samba-offline-load.py), starts it
#                                          again and adds the memberships over LDAP: faster for
#                                          w100k, same objects
#   scripts/samba-dc.sh keytab             create the Kerberos service user, export its keytab,
#                                          write a krb5.conf for this DC and make the DC's FQDN
#                                          resolve (an /etc/hosts entry, added once)
#   scripts/samba-dc.sh env                print the path of the env file
#
# Environment:
#   IDSYNC_DC_DIR   state directory (default /tmp/idsync-dc)
#   IDSYNC_DC_ADDR  loopback address the DC binds to (default 127.77.0.1)
#   IDSYNC_DC_REALM Kerberos realm / DNS domain (default IDSYNC.TEST)
#   IDSYNC_DC_NETBIOS NetBIOS domain name (default IDSYNC)
#   IDSYNC_DC_HOSTNAME the DC's host name (default idsyncdc); give each DC on
#                   one machine its own, since its FQDN goes into /etc/hosts
#   IDSYNC_DC_WAIT  seconds to wait for LDAPS after start (default 60)
#
# The env file ${IDSYNC_DC_DIR}/dc.env (mode 0600) holds KEY=VALUE lines that
# both shells (source it) and Go (internal/testing/testdc) read.
set -euo pipefail

DIR="${IDSYNC_DC_DIR:-/tmp/idsync-dc}"
ADDR="${IDSYNC_DC_ADDR:-127.77.0.1}"
REALM="${IDSYNC_DC_REALM:-IDSYNC.TEST}"
NETBIOS="${IDSYNC_DC_NETBIOS:-IDSYNC}"
WAIT="${IDSYNC_DC_WAIT:-60}"
HOSTNAME_DC="${IDSYNC_DC_HOSTNAME:-idsyncdc}"
REALM_UC="${REALM^^}"
DNSDOMAIN="${REALM,,}"
BASE_DN="DC=${DNSDOMAIN//./,DC=}"
ENV_FILE="$DIR/dc.env"
PID_FILE="$DIR/samba.pid"
CONF="$DIR/etc/smb.conf"
LOG="$DIR/log/samba.log"
OUT="$DIR/log/samba.out"
TLS_DIR="$DIR/tls"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"

log() { printf 'samba-dc: %s\n' "$*" >&2; }
die() { printf 'samba-dc: error: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }

# ensure_packages installs Samba and the LDAP/TLS tools when missing.
ensure_packages() {
	local missing=()
	command -v samba >/dev/null 2>&1 || missing+=(samba samba-ad-dc samba-ad-provision)
	command -v samba-tool >/dev/null 2>&1 || missing+=(samba-ad-provision)
	command -v ldapsearch >/dev/null 2>&1 || missing+=(ldap-utils)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	command -v ip >/dev/null 2>&1 || missing+=(iproute2)
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		die "missing tools; install the Debian/Ubuntu packages: samba samba-ad-dc samba-ad-provision ldap-utils openssl iproute2 (as root)"
	fi
	log "installing ${missing[*]} with apt-get"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		samba samba-ad-dc samba-ad-provision ldap-utils openssl iproute2 >/dev/null
}

# running succeeds when the recorded PID is a live samba process.
running() {
	[ -f "$PID_FILE" ] || return 1
	local pid
	pid="$(cat "$PID_FILE")"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	grep -q samba "/proc/$pid/comm" 2>/dev/null
}

# healthy succeeds when the rootDSE answers over LDAPS, verified against our CA.
healthy() {
	LDAPTLS_CACERT="$TLS_DIR/ca.pem" LDAPTLS_REQCERT=demand \
		timeout 5 ldapsearch -LLL -x -H "ldaps://$ADDR:636" -b "" -s base defaultNamingContext >/dev/null 2>&1
}

# ensure_address adds the dedicated loopback address to lo when absent, so
# Samba's interface matching finds it; records that we added it.
ensure_address() {
	if ip -o addr show dev lo | grep -qw "inet $ADDR"; then
		return 0
	fi
	ip addr add "$ADDR/8" dev lo || die "cannot add $ADDR to lo (need root)"
	: >"$DIR/added-address"
}

make_tls() {
	mkdir -p "$TLS_DIR"
	chmod 700 "$TLS_DIR"
	local serial_ca serial_srv
	serial_ca="0x1$(openssl rand -hex 8)"
	serial_srv="0x2$(openssl rand -hex 8)"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
		-keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" -set_serial "$serial_ca" \
		-subj "/CN=idsync test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -sha256 \
		-keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" \
		-subj "/CN=$HOSTNAME_DC.$DNSDOMAIN" 2>/dev/null
	cat >"$TLS_DIR/server.ext" <<-EOF
		basicConstraints=CA:FALSE
		keyUsage=critical,digitalSignature,keyEncipherment
		extendedKeyUsage=serverAuth
		subjectAltName=IP:$ADDR,DNS:$HOSTNAME_DC.$DNSDOMAIN,DNS:$HOSTNAME_DC,DNS:$DNSDOMAIN
	EOF
	openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
		-set_serial "$serial_srv" -days 3650 -sha256 -extfile "$TLS_DIR/server.ext" \
		-out "$TLS_DIR/server.pem" 2>/dev/null
	chmod 600 "$TLS_DIR"/*.key
	rm -f "$TLS_DIR/server.csr" "$TLS_DIR/server.ext"
}

gen_password() {
	# Meets AD complexity: upper, lower, digit and symbol.
	printf 'Ids-%s-9aZ' "$(openssl rand -hex 12)"
}

write_env() {
	local pass="$1"
	umask 077
	cat >"$ENV_FILE.tmp" <<-EOF
		IDSYNC_DC_LDAPS_URL=ldaps://$ADDR:636
		IDSYNC_DC_LDAP_URL=ldap://$ADDR:389
		IDSYNC_DC_BIND_DN=CN=Administrator,CN=Users,$BASE_DN
		IDSYNC_DC_BIND_UPN=administrator@$DNSDOMAIN
		IDSYNC_DC_PASSWORD=$pass
		IDSYNC_DC_BASE_DN=$BASE_DN
		IDSYNC_DC_DOMAIN=$DNSDOMAIN
		IDSYNC_DC_NETBIOS=$NETBIOS
		IDSYNC_DC_REALM=$REALM_UC
		IDSYNC_DC_HOST=$HOSTNAME_DC.$DNSDOMAIN
		IDSYNC_DC_CA_FILE=$TLS_DIR/ca.pem
		IDSYNC_DC_ADDR=$ADDR
		IDSYNC_DC_DIR=$DIR
	EOF
	chmod 600 "$ENV_FILE.tmp"
	mv "$ENV_FILE.tmp" "$ENV_FILE"
}

provision() {
	local pass="$1"
	rm -rf "$DIR/etc" "$DIR/private" "$DIR/state" "$DIR/cache" "$DIR/lock" "$DIR/run" "$DIR/log"
	mkdir -p "$DIR/run" "$DIR/log"
	make_tls
	samba-tool domain provision \
		--realm="$REALM_UC" --domain="$NETBIOS" --server-role=dc --dns-backend=NONE \
		--host-name="$HOSTNAME_DC" --adminpass="$pass" --targetdir="$DIR" \
		--option="interfaces=$ADDR" \
		--option="bind interfaces only=yes" \
		--option="pid directory=$DIR/run" \
		--option="server services=ldap cldap kdc rpc" \
		--option="log file=$LOG" \
		--option="max log size=10000" \
		--option="ldb:nosync=true" \
		--option="tls enabled=yes" \
		--option="ldap server require strong auth=allow_sasl_over_tls" \
		--option="tls keyfile=$TLS_DIR/server.key" \
		--option="tls certfile=$TLS_DIR/server.pem" \
		--option="tls cafile=$TLS_DIR/ca.pem" \
		>"$DIR/log/provision.log" 2>&1 ||
		{ tail -n 30 "$DIR/log/provision.log" >&2; die "provisioning failed (log: $DIR/log/provision.log)"; }
	# Test DCs: no password expiry or history so seeded fixed passwords keep working.
	samba-tool domain passwordsettings set -s "$CONF" --max-pwd-age=0 --min-pwd-age=0 \
		--history-length=0 >>"$DIR/log/provision.log" 2>&1 || true
}

start() {
	: >"$OUT"
	# -F: foreground (no fork) so $! is the DC's PID; setsid detaches it from our terminal.
	# 9>&-: the DC must not inherit the lock taken by serialize, or it would
	# hold it for as long as it runs.
	setsid samba -F --no-process-group -M single -s "$CONF" </dev/null >>"$OUT" 2>&1 9>&- &
	local pid=$!
	echo "$pid" >"$PID_FILE"
	# $! is the forked shell until it has exec'd setsid and then samba;
	# running() checks the process is samba, so wait for the exec (a loaded
	# machine can take a moment) rather than read "not samba" as an exit.
	local i
	for i in $(seq 50); do
		grep -q samba "/proc/$pid/comm" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
}

wait_ready() {
	local deadline=$(($(date +%s) + WAIT))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		if ! running; then
			tail -n 30 "$LOG" "$OUT" >&2 2>/dev/null || true
			die "samba exited during startup (logs: $LOG, $OUT)"
		fi
		if healthy; then return 0; fi
		sleep 0.2
	done
	tail -n 30 "$LOG" "$OUT" >&2 2>/dev/null || true
	die "LDAPS on $ADDR:636 did not answer within ${WAIT}s (logs: $LOG, $OUT)"
}

# serialize takes a lock beside the state dir so concurrent `up`/`down`
# calls (parallel test packages with IDSYNC_DC_AUTOSTART=1) do not race.
serialize() {
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$DIR.lock"
		flock -w 300 9 || die "timed out waiting for $DIR.lock"
	fi
}

cmd_up() {
	serialize
	if running && healthy; then
		log "already running (pid $(cat "$PID_FILE")), env file: $ENV_FILE"
		return 0
	fi
	ensure_packages
	local t0 t1 t2 pass
	t0=$(now_ms)
	mkdir -p "$DIR"
	chmod 700 "$DIR"
	if running; then
		log "pid $(cat "$PID_FILE") runs but LDAPS does not answer; restarting"
		stop_dc
	fi
	ensure_address
	if [ -f "$ENV_FILE" ] && [ -f "$DIR/private/sam.ldb" ] && [ -f "$TLS_DIR/ca.pem" ]; then
		log "reusing provisioned domain in $DIR"
	else
		pass="$(gen_password)"
		log "provisioning $REALM_UC in $DIR"
		provision "$pass"
		rm -f "$DIR/seeded-profiles"
		write_env "$pass"
	fi
	t1=$(now_ms)
	start
	wait_ready
	t2=$(now_ms)
	log "prepare/provision $((t1 - t0)) ms, start to LDAPS ready $((t2 - t1)) ms"
	cat <<-EOF
		Samba AD DC is up (pid $(cat "$PID_FILE")).
		  LDAPS:    ldaps://$ADDR:636   (CA file: $TLS_DIR/ca.pem)
		  LDAP:     ldap://$ADDR:389    (StartTLS; simple bind requires TLS)
		  Bind:     CN=Administrator,CN=Users,$BASE_DN  or  administrator@$DNSDOMAIN
		  Password: in $ENV_FILE
		  Base DN:  $BASE_DN
		  Env file: $ENV_FILE   (source it, or let internal/testing/testdc read it)
	EOF
}

stop_dc() {
	[ -f "$PID_FILE" ] || return 0
	local pid
	pid="$(cat "$PID_FILE")"
	if running; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$PID_FILE"
}

cmd_down() {
	serialize
	stop_dc
	if [ -f "$DIR/added-address" ]; then
		ip addr del "$ADDR/8" dev lo 2>/dev/null || true
	fi
	case "$DIR" in
	/ | "" | "$HOME") die "refusing to remove $DIR" ;;
	esac
	rm -rf "$DIR"
	log "stopped and removed $DIR"
}

cmd_status() {
	if running; then
		if healthy; then
			echo "running (pid $(cat "$PID_FILE")), LDAPS ldaps://$ADDR:636 answers; seeded profiles: $(paste -sd ',' "$DIR/seeded-profiles" 2>/dev/null || echo none)"
			return 0
		fi
		echo "process $(cat "$PID_FILE") runs but LDAPS ldaps://$ADDR:636 does not answer"
		return 1
	fi
	echo "not running (state dir $DIR)"
	return 1
}

cmd_seed() {
	local profile=test extra=() offline=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--offline) offline=1; shift ;;
		--profile) profile="${2:?--profile needs a value}"; shift 2 ;;
		--profile=*) profile="${1#--profile=}"; shift ;;
		--replace) extra+=(-replace); shift ;;
		--workers) extra+=(-workers "${2:?--workers needs a value}"); shift 2 ;;
		*) die "seed: unknown argument $1" ;;
		esac
	done
	running && healthy || die "the DC is not running; run: $0 up"
	command -v go >/dev/null 2>&1 || die "go is needed to run the seeder"
	if [ "$offline" = 1 ]; then
		[ ${#extra[@]} -eq 0 ] || die "seed --offline takes only --profile (it needs a domain without the profile)"
		seed_offline "$profile"
		return
	fi
	(cd "$REPO_DIR" && go run ./cmd/adseed -env "$ENV_FILE" -profile "$profile" "${extra[@]}")
}

# seed_offline writes the profile's objects as LDIF, stops the DC, adds them
# to sam.ldb through Samba's modules in large transactions, starts the DC
# again and adds the member values over LDAP (offline, they were slower).
seed_offline() {
	local profile="$1" out="$DIR/offline" py t0 t1 t2 t3 t4
	serialize
	if grep -q "^$profile " "$DIR/seeded-profiles" 2>/dev/null; then
		log "profile $profile is already seeded"
		return 0
	fi
	# Samba's Python modules belong to the interpreter samba-tool runs on.
	py="$(sed -n '1s/^#! *//p' "$(command -v samba-tool)")"
	t0=$(now_ms)
	(cd "$REPO_DIR" && go run ./cmd/adseed-ldif -env "$ENV_FILE" -profile "$profile" -out "$out")
	t1=$(now_ms)
	stop_dc
	if ! $py "$SCRIPT_DIR/samba-offline-load.py" "$CONF" "$out/$profile.ldif" "$out/$profile.primary" >>"$DIR/log/offline-load.log" 2>&1; then
		tail -n 20 "$DIR/log/offline-load.log" >&2
		start
		wait_ready
		die "offline load of $profile failed (log: $DIR/log/offline-load.log); a domain that has part of it needs: $0 down; $0 up"
	fi
	t2=$(now_ms)
	start
	wait_ready
	t3=$(now_ms)
	(cd "$REPO_DIR" && go run ./cmd/adseed-ldif -env "$ENV_FILE" -profile "$profile" -seed-members)
	t4=$(now_ms)
	(cd "$REPO_DIR" && go run ./cmd/adseed-ldif -env "$ENV_FILE" -profile "$profile" -mark)
	rm -rf "$out"
	log "seeded $profile in $(((t4 - t0) / 1000)) s: generate $((t1 - t0)) ms, offline load $((t2 - t1)) ms, restart $((t3 - t2)) ms, memberships over LDAP $((t4 - t3)) ms"
}

# idempotent runs a samba-tool change, accepting "already there" as done;
# any other failure dies with $1.
idempotent() {
	local msg="$1" out
	shift
	if ! out="$("$@" 2>&1)"; then
		printf '%s\n' "$out" >>"$DIR/log/provision.log"
		case "$out" in
		*"already exists"* | *"already affected"*) ;;
		*) die "$msg" ;;
		esac
	fi
}

# cmd_keytab prepares Kerberos for tests: a service user with a random
# password, its keytab, a krb5.conf naming this DC as the KDC, and a hosts
# entry so the DC's FQDN (the host part of the SPN ldap/<fqdn>) resolves to
# its loopback address. Idempotent: a second run exports the keytab again.
cmd_keytab() {
	serialize
	[ -f "$ENV_FILE" ] || die "no DC in $DIR; run: $0 up"
	# shellcheck disable=SC1090
	. "$ENV_FILE"
	ADDR="$IDSYNC_DC_ADDR"
	running && healthy || die "the DC is not running; run: $0 up"
	local krb="$DIR/krb" user="svc-idsync-krb" stale="svc-idsync-stale" fqdn="$IDSYNC_DC_HOST"
	mkdir -p "$krb"
	chmod 700 "$krb"
	idempotent "cannot create $user" samba-tool user create "$user" "$(gen_password)" -s "$CONF" \
		--description="idsync Kerberos test account"
	# The same rights as the password-bind tests' Administrator: deletes
	# over DirSync and password hashes over DRSR need replication rights
	# and tombstone visibility, which Samba grants Domain Admins.
	idempotent "cannot add $user to Domain Admins" samba-tool group addmembers "Domain Admins" "$user" -s "$CONF"
	# Like Active Directory, accept a SASL GSSAPI bind without a security
	# layer when the connection is TLS (Samba's default wants sign or seal).
	if ! grep -q "ldap server require strong auth" "$CONF"; then
		sed -i 's/^\[global\]$/[global]\n\tldap server require strong auth = allow_sasl_over_tls/' "$CONF"
		stop_dc
		start
		wait_ready
	fi
	# Active Directory registers ldap/<fqdn> on each DC; Samba registers
	# only HOST/ names, so add the LDAP service principal clients ask for.
	local dcacct="${fqdn%%.*}"
	dcacct="${dcacct^^}\$"
	idempotent "cannot add the SPN ldap/$fqdn to $dcacct" samba-tool spn add "ldap/$fqdn" "$dcacct" -s "$CONF"
	# Export beside and rename, so a test reading the keytab never sees it
	# half written.
	rm -f "$krb/idsync.keytab.tmp"
	samba-tool domain exportkeytab "$krb/idsync.keytab.tmp" --principal="$user@$REALM_UC" -s "$CONF" \
		>>"$DIR/log/provision.log" 2>&1 || die "cannot export the keytab of $user"
	chmod 600 "$krb/idsync.keytab.tmp"
	mv -f "$krb/idsync.keytab.tmp" "$krb/idsync.keytab"
	# A keytab made stale by a password reset after its export: the
	# wrong-key-version case of the tests.
	if [ ! -f "$krb/stale.keytab" ]; then
		idempotent "cannot create $stale" samba-tool user create "$stale" "$(gen_password)" -s "$CONF"
		samba-tool domain exportkeytab "$krb/stale.keytab" --principal="$stale@$REALM_UC" -s "$CONF" >>"$DIR/log/provision.log" 2>&1 &&
			samba-tool user setpassword "$stale" --newpassword="$(gen_password)" -s "$CONF" >>"$DIR/log/provision.log" 2>&1 ||
			die "cannot prepare the stale keytab"
		chmod 600 "$krb/stale.keytab"
	fi
	cat >"$krb/krb5.conf" <<-EOF
		[libdefaults]
		  default_realm = $REALM_UC
		  dns_lookup_kdc = false
		  dns_lookup_realm = false
		  udp_preference_limit = 1
		[realms]
		  $REALM_UC = {
		    kdc = $ADDR:88
		  }
		[domain_realm]
		  .$DNSDOMAIN = $REALM_UC
		  $DNSDOMAIN = $REALM_UC
	EOF
	if ! grep -qE "^[0-9.]+[[:space:]]+$fqdn([[:space:]]|\$)" /etc/hosts; then
		[ -w /etc/hosts ] || die "$fqdn must resolve to $ADDR: add \"$ADDR $fqdn\" to /etc/hosts (need root)"
		printf '%s %s\n' "$ADDR" "$fqdn" >>/etc/hosts
	elif ! grep -qE "^$ADDR[[:space:]]+$fqdn([[:space:]]|\$)" /etc/hosts; then
		die "/etc/hosts maps $fqdn to another address; give this DC its own IDSYNC_DC_HOSTNAME"
	fi
	umask 077
	cat >"$krb/krb.env.tmp" <<-EOF
		IDSYNC_KRB_PRINCIPAL=$user@$REALM_UC
		IDSYNC_KRB_USER=$user
		IDSYNC_KRB_KEYTAB=$krb/idsync.keytab
		IDSYNC_KRB_STALE_PRINCIPAL=$stale@$REALM_UC
		IDSYNC_KRB_STALE_KEYTAB=$krb/stale.keytab
		IDSYNC_KRB_CONFIG=$krb/krb5.conf
		IDSYNC_KRB_LDAPS_URL=ldaps://$fqdn:636
		IDSYNC_KRB_LDAP_URL=ldap://$fqdn:389
	EOF
	mv -f "$krb/krb.env.tmp" "$krb/krb.env"
	log "keytab $krb/idsync.keytab for $user@$REALM_UC; krb5.conf $krb/krb5.conf; env $krb/krb.env"
}

case "${1:-}" in
up) cmd_up ;;
keytab) cmd_keytab ;;
down) cmd_down ;;
status) cmd_status ;;
seed) shift; cmd_seed "$@" ;;
env) echo "$ENV_FILE" ;;
*)
	echo "usage: $0 up|down|status|keytab|seed [--profile demo|test|w1k|w10k|w100k] [--replace] [--workers N] [--offline]|env" >&2
	exit 2
	;;
esac
