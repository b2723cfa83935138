#!/usr/bin/env bash
# Checks an idsync .deb built by scripts/dist.sh, then prints a table of what
# was checked. Exit status: 0 when every check passed, 1 otherwise.
#
# Usage: scripts/check-package.sh [FILE.deb]
#   FILE.deb defaults to the one dist/ holds for this machine's architecture.
#
# Stages:
#   package   contents, modes, conffiles, maintainer scripts, the packaged
#             config and the unit (systemd-analyze verify and security), as
#             any user.
#   install   as root with dpkg: a real dpkg -i on this machine, the system
#             user, owners and modes on disk, `idsync version`, the config as
#             the service user, then dpkg -r and dpkg --purge. Refuses to run
#             when idsync is already installed or the user idsync exists. The
#             user it created is deleted at the end.
#   service   `idsync service install|status|uninstall` (kardianos/service).
#             With systemd as PID 1: for real, with the binary from the
#             package in a temporary directory. Without it: in a private mount
#             namespace where /run/systemd/system exists (so the systemd
#             backend is chosen), /etc/systemd/system is a temporary directory
#             and systemctl is a stub recording its calls; the unit written is
#             checked with systemd-analyze verify.
# A stage this machine cannot run is SKIP; with CI=true a SKIP is a failure.
set -uo pipefail

case "${1:-}" in
-h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
deb=${1:+$(realpath -- "$1")}
cd "$(dirname "$0")/.."
if [[ -z $deb ]]; then
	arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
	debs=(dist/idsync_*_"$arch".deb)
	if [[ ${#debs[@]} -ne 1 || ! -f ${debs[0]} ]]; then
		echo "check-package.sh: want exactly one dist/idsync_*_$arch.deb; run scripts/dist.sh first" >&2
		exit 2
	fi
	deb=${debs[0]}
fi
[[ -f $deb ]] || { echo "check-package.sh: $deb not found" >&2; exit 2; }
deb=$(realpath "$deb")

work=$(mktemp -d)
rows=()
failed=0
created_user=0
installed=0
svc_tmp=

cleanup() {
	if ((installed)); then dpkg --purge idsync >/dev/null 2>&1; fi
	if ((created_user)) && getent passwd idsync >/dev/null; then
		deluser --system idsync >/dev/null 2>&1 || userdel idsync >/dev/null 2>&1
	fi
	if ((created_user)) && getent group idsync >/dev/null; then
		delgroup --system idsync >/dev/null 2>&1 || groupdel idsync >/dev/null 2>&1
	fi
	rm -rf "$work" ${svc_tmp:+"$svc_tmp"}
}
trap cleanup EXIT

# row STATUS STAGE WHAT DETAIL records one line of the table.
row() {
	local status=$1
	if [[ $status == SKIP && ${CI:-} == true ]]; then status=FAIL; fi
	[[ $status == FAIL ]] && failed=$((failed + 1))
	rows+=("$(printf '%-4s  %-8s %-34s %s' "$status" "$2" "$3" "$4")")
	printf '%-4s  %-8s %-34s %s\n' "$status" "$2" "$3" "$4" >&2
}

# check STAGE WHAT DETAIL CMD... runs CMD; its output goes to the log and,
# on failure, its last line into the table.
check() {
	local stage=$1 what=$2 detail=$3
	shift 3
	local log="$work/log.$((${#rows[@]} + 1))"
	if "$@" >"$log" 2>&1; then
		row PASS "$stage" "$what" "$detail"
	else
		row FAIL "$stage" "$what" "$(grep -v '^$' "$log" | tail -1 | cut -c1-100)"
	fi
}

# mode_owner PATH prints "MODE USER:GROUP".
mode_owner() { stat -c '%a %U:%G' "$1"; }

expect_eq() {
	[[ $1 == "$2" ]] || { echo "got '$1', want '$2'"; return 1; }
}

# expect_status WANT CMD... runs CMD and wants exit status WANT; its output is
# kept in $work/out.
expect_status() {
	local want=$1 got=0
	shift
	"$@" >"$work/out" 2>&1 || got=$?
	cat "$work/out"
	[[ $got == "$want" ]] || { echo "exit status $got, want $want"; return 1; }
}

# --- package ---------------------------------------------------------------
root="$work/root"
dpkg-deb -x "$deb" "$root" && dpkg-deb -e "$deb" "$work/DEBIAN" ||
	{ echo "check-package.sh: cannot unpack $deb" >&2; exit 1; }
version=$(dpkg-deb -f "$deb" Version)
pkg_arch=$(dpkg-deb -f "$deb" Architecture)
upstream=$(zcat "$root/usr/share/doc/idsync/changelog.gz" | sed -n 's/^  \* Release \([^ ]*\) .*/\1/p')

contents() {
	local want line
	local -a expected=(
		"-rwxr-xr-x root/root ./usr/bin/idsync"
		"-rw-r--r-- root/root ./lib/systemd/system/idsync.service"
		"drwxr-x--- root/root ./etc/idsync/"
		"-rw------- root/root ./etc/idsync/config.yaml"
		"-rw-r--r-- root/root ./usr/share/doc/idsync/copyright"
		"-rw-r--r-- root/root ./usr/share/doc/idsync/changelog.gz"
		"-rw-r--r-- root/root ./usr/share/doc/idsync/README.Debian"
		"-rw-r--r-- root/root ./usr/share/man/man1/idsync.1.gz"
		"-rw-r--r-- root/root ./usr/share/man/man1/idsync-sync.1.gz"
	)
	dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' >"$work/contents"
	for want in "${expected[@]}"; do
		grep -qxF -- "$want" "$work/contents" || { echo "missing: $want"; return 1; }
	done
	while read -r line; do
		[[ $line == *" root/root "* ]] || { echo "not root-owned: $line"; return 1; }
	done <"$work/contents"
}
check package "contents, modes, owners" "9 paths, all root/root in the archive" contents
check package "control fields" "idsync $version $pkg_arch, Depends: adduser" \
	bash -c '[[ $(dpkg-deb -f "$1" Package Depends) == $'"'"'Package: idsync\nDepends: adduser'"'"' ]] && dpkg --validate-version "$2"' _ "$deb" "$version"
check package "conffiles" "/etc/idsync/config.yaml" grep -qx /etc/idsync/config.yaml "$work/DEBIAN/conffiles"
check package "maintainer scripts" "postinst prerm postrm: sh -n" \
	bash -c 'for f in postinst prerm postrm; do [[ -x $1/$f ]] && sh -n "$1/$f" || exit 1; done' _ "$work/DEBIAN"
check package "packaged config" "state_path /var/lib/idsync, permissions checked" \
	bash -c 'grep -qx "state_path: \"/var/lib/idsync\"" "$1" || { echo "no state_path: \"/var/lib/idsync\" line"; exit 1; }
		grep -qx "check_config_permissions: true" "$1" || { echo "no check_config_permissions: true line"; exit 1; }' _ "$root/etc/idsync/config.yaml"

if [[ $pkg_arch == "$(dpkg --print-architecture 2>/dev/null)" ]]; then
	check package "binary version" "idsync $upstream (from the changelog)" \
		bash -c '[[ $("$1" version) == "idsync $2 "* ]]' _ "$root/usr/bin/idsync" "$upstream"
else
	row SKIP package "binary version" "package is $pkg_arch, machine is not"
fi

if command -v systemd-analyze >/dev/null; then
	# verify wants ExecStart's binary to exist: point it at the unpacked one.
	unit="$work/unit/idsync.service"
	mkdir -p "$work/unit"
	sed "s|^ExecStart=/usr/bin/idsync|ExecStart=$root/usr/bin/idsync|" "$root/lib/systemd/system/idsync.service" >"$unit"
	check package "unit syntax" "systemd-analyze verify" bash -c '! systemd-analyze verify "$1" 2>&1 | grep .' _ "$unit"
	exposure=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | sed -n 's/.*exposure level for idsync.service: \([0-9.]*\).*/\1/p')
	check package "unit sandbox" "systemd-analyze security: exposure ${exposure:-?} (want <= 2.0)" \
		awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'
	# What systemd restarts: Restart=on-failure restarts on a non-zero exit and
	# on death by a signal such as SIGABRT (a crash); RestartPreventExitStatus
	# must name exit status 2 (a configuration error) and nothing else, so no
	# crash is kept down. LimitCORE=0: no core dump with credentials in it.
	check package "unit restart policy" "on-failure, not on exit 2 only, no core dumps" bash -c '
		got=$(grep -E "^(Restart|RestartPreventExitStatus|LimitCORE)=" "$1" | sort | tr "\n" ";")
		[[ $got == "LimitCORE=0;Restart=on-failure;RestartPreventExitStatus=2;" ]] || { echo "got $got"; exit 1; }' _ "$unit"
else
	row SKIP package "unit syntax" "systemd-analyze not installed"
fi

# --- install ---------------------------------------------------------------
install_stage() {
	check install "dpkg -i" "$(basename "$deb")" dpkg -i "$deb"
	installed=1
	check install "system user" "idsync: system uid, nologin, home /var/lib/idsync" bash -c '
		IFS=: read -r _ _ uid gid _ home shell < <(getent passwd idsync) || exit 1
		[[ $uid -lt 1000 && $home == /var/lib/idsync && $shell == */nologin ]] &&
			[[ $(getent group idsync | cut -d: -f3) == "$gid" ]] || { getent passwd idsync; exit 1; }'
	check install "config owner and mode" "/etc/idsync/config.yaml 600 idsync:idsync" \
		expect_eq "$(mode_owner /etc/idsync/config.yaml 2>&1)" "600 idsync:idsync"
	check install "directory owners and modes" "/etc/idsync 750 root:idsync, /var/lib/idsync 700, /var/log/idsync 750" \
		expect_eq "$(mode_owner /etc/idsync 2>&1); $(mode_owner /var/lib/idsync 2>&1); $(mode_owner /var/log/idsync 2>&1)" \
		"750 root:idsync; 700 idsync:idsync; 750 idsync:idsync"
	check install "idsync version" "/usr/bin/idsync prints $upstream" \
		bash -c '[[ $(/usr/bin/idsync version) == "idsync $1 "* ]]' _ "$upstream"
	if command -v systemd-analyze >/dev/null; then
		check install "installed unit" "systemd-analyze verify /lib/systemd/system/idsync.service" \
			bash -c '! systemd-analyze verify /lib/systemd/system/idsync.service 2>&1 | grep .'
	fi
	# The template is refused with a configuration error (exit 2) naming
	# what is missing; the unit does not restart on exit 2.
	check install "template config refused" "exit 2, names IDSYNC_LDAP_PASSWORD" bash -c '
		expect_status 2 runuser -u idsync -- /usr/bin/idsync check --offline --config /etc/idsync/config.yaml &&
			grep -q IDSYNC_LDAP_PASSWORD "$1/out"' _ "$work"
	# Reading the job history needs only state_path, even from the template.
	check install "jobs list needs only state" "template config, jobs list exit 0" \
		expect_status 0 runuser -u idsync -- /usr/bin/idsync jobs list --config /etc/idsync/config.yaml
	install -o idsync -g idsync -m 0600 internal/config/testdata/authorized_key.json /etc/idsync/authorized_key.json
	check install "filled config loads as idsync" "key 600 idsync, check --offline exit 0" \
		expect_status 0 runuser -u idsync -- env IDSYNC_LDAP_PASSWORD=x /usr/bin/idsync check --offline --config /etc/idsync/config.yaml
	chmod 0644 /etc/idsync/authorized_key.json
	check install "permission check active" "key mode 644 is refused (exit 2)" \
		expect_status 2 runuser -u idsync -- env IDSYNC_LDAP_PASSWORD=x /usr/bin/idsync check --offline --config /etc/idsync/config.yaml
	check install "state writable by idsync" "/var/lib/idsync" \
		runuser -u idsync -- sh -c 'touch /var/lib/idsync/.probe && rm /var/lib/idsync/.probe'
	# A fault nothing recovers (SIGQUIT takes the runtime's crash path, as an
	# unrecovered panic does) must not exit 2, which the unit does not
	# restart: the daemon dies by SIGABRT (status 134 here).
	chmod 0600 /etc/idsync/authorized_key.json
	check install "crash is not a config error" "idsync run + SIGQUIT: SIGABRT (134), not exit 2" \
		expect_status 134 runuser -u idsync -- env IDSYNC_LDAP_PASSWORD=x \
		timeout --preserve-status -s QUIT 3 /usr/bin/idsync run --config /etc/idsync/config.yaml
	check install "service install refused" "the packaged unit is installed" bash -c '
		! IDSYNC_LDAP_PASSWORD=x /usr/bin/idsync service install --config /etc/idsync/config.yaml >"$1/out" 2>&1 &&
			grep -q "systemctl enable" "$1/out" && [[ ! -e /etc/systemd/system/idsync.service ]]' _ "$work"
	rm -f /etc/systemd/system/idsync.service
	check install "upgrade without config.yaml" "admin removed it: dpkg -i succeeds, it stays removed" bash -c '
		rm /etc/idsync/config.yaml && dpkg -i "$1" && [[ ! -e /etc/idsync/config.yaml ]]' _ "$deb"
	check install "config restored" "dpkg -i --force-confmiss: 600 idsync:idsync" bash -c '
		dpkg -i --force-confmiss "$1" >/dev/null && expect_eq "$(mode_owner /etc/idsync/config.yaml 2>&1)" "600 idsync:idsync"' _ "$deb"
	check install "dpkg -r" "binary gone; config, state, user kept" bash -c '
		dpkg -r idsync && [[ ! -e /usr/bin/idsync && -f /etc/idsync/config.yaml && -d /var/lib/idsync ]] &&
			getent passwd idsync >/dev/null'
	check install "dpkg --purge" "/etc/idsync, /var/lib/idsync, /var/log/idsync gone" bash -c '
		dpkg --purge idsync || exit 1
		for p in /etc/idsync /var/lib/idsync /var/log/idsync; do [[ ! -e $p ]] || { echo "$p left"; exit 1; }; done
		! dpkg-query -W -f="\${Status}" idsync 2>/dev/null | grep -q installed'
	installed=0
}
export -f expect_status expect_eq mode_owner
export work deb

if [[ $(id -u) != 0 ]]; then
	row SKIP install "dpkg -i / -r / --purge" "needs root"
elif [[ $pkg_arch != "$(dpkg --print-architecture)" ]]; then
	row SKIP install "dpkg -i / -r / --purge" "package is $pkg_arch"
elif dpkg-query -W -f='${Status}' idsync 2>/dev/null | grep -q installed; then
	row FAIL install "dpkg -i" "idsync is already installed here; purge it first"
elif getent passwd idsync >/dev/null || getent group idsync >/dev/null; then
	row FAIL install "dpkg -i" "user or group idsync already exists; not touching it"
else
	created_user=1
	install_stage
fi

# --- service ---------------------------------------------------------------
# The config the service commands are given: the packaged one, filled in,
# with a relative path to check that the unit gets an absolute one.
# The service has a private /tmp, so its files live elsewhere; it runs as
# the system user idsync, created here when missing (and deleted at the end).
if [[ $(id -u) == 0 ]]; then
	svc=$(mktemp -d /var/lib/idsync-check.XXXXXX)
	svc_tmp=$svc
	if ! getent passwd idsync >/dev/null && ! getent group idsync >/dev/null; then
		useradd --system --user-group --no-create-home --shell /usr/sbin/nologin idsync && created_user=1
	fi
else
	svc="$work/svc"
fi
mkdir -p "$svc/bin"
cp "$root/usr/bin/idsync" "$svc/bin/idsync"
sed "s|^state_path: .*|state_path: \"$svc/state\"|" "$root/etc/idsync/config.yaml" >"$svc/config.yaml"
install -m 0600 internal/config/testdata/authorized_key.json "$svc/authorized_key.json"
chmod 0600 "$svc/config.yaml"

service_checks() { # MODE UNIT_DIR
	local mode=$1 unitdir=$2
	(cd "$svc" && IDSYNC_LDAP_PASSWORD=x "$svc/bin/idsync" service install --config config.yaml) >"$svc/install.out" 2>&1
	check service "service install" "$(head -c 60 "$svc/install.out")" grep -q "install done (linux-systemd)" "$svc/install.out"
	check service "unit written" "$unitdir/idsync.service, ExecStart absolute" bash -c '
		grep -qxF "ExecStart=$2/bin/idsync \"run\" \"--config\" \"$2/config.yaml\"" "$1/idsync.service" &&
			grep -qx "Restart=on-failure" "$1/idsync.service" && grep -qx "After=network-online.target" "$1/idsync.service"' _ "$unitdir" "$svc"
	check service "unit user and sandbox" "User=idsync, RestartPreventExitStatus=2, ProtectSystem=strict, state writable" bash -c '
		for l in User=idsync RestartPreventExitStatus=2 LimitCORE=0 ProtectSystem=strict NoNewPrivileges=yes "ReadWritePaths=$2/state"; do
			grep -qxF "$l" "$1/idsync.service" || { echo "no $l"; exit 1; }
		done
		[[ $(stat -c %U "$2/state") == idsync ]] || { echo "state not owned by idsync"; exit 1; }' _ "$unitdir" "$svc"
	if [[ $mode == stub ]]; then
		check service "systemctl calls" "enable idsync.service; daemon-reload" \
			expect_eq "$(tr '\n' ';' <"$svc/calls")" "enable idsync.service;daemon-reload;"
		check service "written unit syntax" "systemd-analyze verify" bash -c '! systemd-analyze verify "$1/idsync.service" 2>&1 | grep .' _ "$unitdir"
	else
		check service "enabled" "systemctl is-enabled idsync" expect_eq "$(systemctl is-enabled idsync.service 2>&1)" enabled
	fi
	check service "service status" "stopped" bash -c '"$1/bin/idsync" service status --config "$1/config.yaml" | grep -q "idsync service: stopped"' _ "$svc"
	check service "service status details" "unit, command, config, account" bash -c '
		out=$("$1/bin/idsync" service status) || exit 1
		for l in "  name      idsync.service" "  runs      $1/bin/idsync run --config $1/config.yaml" "  config    $1/config.yaml" "  account   idsync"; do
			grep -qxF "$l" <<<"$out" || { echo "no \"$l\" in: $out"; exit 1; }
		done' _ "$svc"
	check service "second install refused" "unit exists" bash -c '! IDSYNC_LDAP_PASSWORD=x "$1/bin/idsync" service install --config "$1/config.yaml"' _ "$svc"
	: >"$svc/calls"
	check service "service uninstall" "unit removed" bash -c '
		"$1/bin/idsync" service uninstall --config "$1/config.yaml" && [[ ! -e $2/idsync.service ]]' _ "$svc" "$unitdir"
	if [[ $mode == stub ]]; then
		check service "systemctl calls" "disable idsync.service; daemon-reload" \
			expect_eq "$(tr '\n' ';' <"$svc/calls")" "disable idsync.service;daemon-reload;"
	fi
}
export -f service_checks check row

if [[ $(id -u) != 0 ]]; then
	row SKIP service "service install/uninstall" "needs root"
elif [[ ! -x $svc/bin/idsync ]] || ! "$svc/bin/idsync" version >/dev/null 2>&1; then
	row SKIP service "service install/uninstall" "package binary does not run here"
elif [[ -d /run/systemd/system && $(ps -p 1 -o comm= 2>/dev/null) == systemd ]]; then
	if [[ -e /etc/systemd/system/idsync.service ]]; then
		row FAIL service "service install" "/etc/systemd/system/idsync.service exists; not touching it"
	else
		service_checks real /etc/systemd/system
		systemctl disable idsync.service >/dev/null 2>&1
		rm -f /etc/systemd/system/idsync.service
	fi
elif command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	# Not systemd as PID 1 (a container or VM agent): emulate the parts of
	# systemd kardianos/service looks at, in a private mount namespace.
	mkdir -p "$work/etc-systemd-system" "$work/stub"
	cat >"$work/stub/systemctl" <<'EOF'
#!/bin/sh
echo "$*" >>"$SYSTEMCTL_CALLS"
case "$1" in
--version) echo "systemd 252" ;;
is-active) echo inactive; exit 3 ;;
list-unit-files) echo "idsync.service disabled enabled" ;;
esac
EOF
	chmod +x "$work/stub/systemctl"
	: >"$svc/calls"
	rows_file="$work/service-rows"
	SYSTEMCTL_CALLS="$svc/calls" PATH="$work/stub:$PATH" svc="$svc" deb="$deb" rows_file="$rows_file" \
		unshare -m --propagation private bash -c '
		set -uo pipefail
		mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system &&
			mount --bind "$work/etc-systemd-system" /etc/systemd/system || exit 1
		rows=(); failed=0
		service_checks stub /etc/systemd/system
		printf "%s\n" "${rows[@]}" >"$rows_file"' 2>/dev/null
	if [[ -s $rows_file ]]; then
		while IFS= read -r line; do
			rows+=("$line")
			[[ $line == FAIL* ]] && failed=$((failed + 1))
			printf '%s\n' "$line" >&2
		done <"$rows_file"
		# The stub recorded only these; nothing reached the real /etc.
		[[ -e /etc/systemd/system/idsync.service ]] && row FAIL service "isolation" "/etc/systemd/system/idsync.service leaked"
	else
		row FAIL service "service install/uninstall" "mount namespace setup failed"
	fi
else
	row SKIP service "service install/uninstall" "no systemd and no unshare"
fi

echo
echo "idsync package check: $deb"
printf '%s\n' "${rows[@]}"
echo "$((${#rows[@]} - failed)) of ${#rows[@]} passed, $failed failed"
((failed == 0))
