#!/usr/bin/env bash
# Release artifacts for idsync, into dist/ (or $DIST_DIR):
#   idsync-VERSION-linux-amd64, -linux-arm64, -windows-amd64.exe,
#   -windows-arm64.exe       static binaries (CGO_ENABLED=0, -trimpath)
#   idsync_DEBVERSION_amd64.deb, _arm64.deb
#                            Debian packages (see packaging/README.md)
#   install.ps1, config.example.yaml
#                            the Windows installer (packaging/windows) and the
#                            config template it copies
#   SHA256SUMS               checksums of all of the above (sha256sum -c)
#
# Usage: scripts/dist.sh [--no-deb]
# Environment:
#   VERSION   default: git describe --tags --always --dirty (or "dev")
#   COMMIT    default: git rev-parse --short HEAD
#   SOURCE_DATE_EPOCH
#             build time stamped into the binaries and the packages;
#             default: the commit time of HEAD.
#   DIST_DIR  default: dist (emptied first)
#   TARGETS   default: "linux/amd64 linux/arm64 windows/amd64 windows/arm64";
#             a .deb is built for each linux target
#   GO        default: go
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST_DIR=${DIST_DIR:-dist}
build_deb=1
case "${1:-}" in
"") ;;
--no-deb) build_deb=0 ;;
-h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "dist.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

die() { echo "dist.sh: $*" >&2; exit 1; }

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || true)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
[[ $VERSION =~ ^[A-Za-z0-9._+~-]+$ ]] || die "VERSION $VERSION has characters a file name or package version cannot hold"

# deb_version maps a git-describe version to a Debian one: v1.2.0 -> 1.2.0,
# v1.2.0-rc1 -> 1.2.0~rc1 (sorts before 1.2.0), v1.2.0-3-gabc1234 ->
# 1.2.0+3.gabc1234, a trailing -dirty -> +dirty; an untagged abc1234 ->
# 0.0.0~gitYYYYMMDD.abc1234.
deb_version() {
	local v=${1#v}
	if [[ ! $v =~ ^[0-9]+\.[0-9] ]]; then
		v="0.0.0~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d).${v//-/.}"
	else
		v=$(sed -E 's/-dirty$/+dirty/; s/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/; s/-/~/g' <<<"$v")
	fi
	printf '%s\n' "$v"
}

rm -rf "$DIST_DIR"
mkdir -p "$DIST_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ldflags="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"

TARGETS=${TARGETS:-linux/amd64 linux/arm64 windows/amd64 windows/arm64}
for target in $TARGETS; do
	[[ $target =~ ^(linux|windows)/(amd64|arm64)$ ]] || die "unsupported target $target"
	os=${target%/*} arch=${target#*/}
	out="$DIST_DIR/idsync-$VERSION-$os-$arch"
	[[ $os == windows ]] && out+=.exe
	echo "== build $target -> $out"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/idsync
done

# packaged_config writes config.example.yaml with the Debian layout's
# values; each edit must apply, so a reworded example fails the build
# instead of shipping an unedited config.
packaged_config() {
	local out=$1
	{
		echo "# /etc/idsync/config.yaml: installed by the idsync package as a template."
		echo "# Fill in the example values, put the key file next to this one"
		echo "# (owner idsync, mode 0600), then: systemctl enable --now idsync."
		echo "# See /usr/share/doc/idsync/README.Debian."
		echo "#"
		cat config.example.yaml
	} >"$out"
	local edits=(
		's|^# state_path: "/var/lib/idsync"$|state_path: "/var/lib/idsync"|'
		's|^check_config_permissions: false$|check_config_permissions: true|'
		's|^    # filename: "identity_hub.log"$|    # filename: "/var/log/idsync/idsync.log"|'
	)
	local e
	for e in "${edits[@]}"; do
		local before
		before=$(sha256sum <"$out")
		sed -i -e "$e" "$out"
		[[ $(sha256sum <"$out") != "$before" ]] || die "config.example.yaml changed: edit '$e' no longer applies (update scripts/dist.sh)"
	done
}

# deb_changelog DEBVERSION prints the one-entry changelog a native package needs.
deb_changelog() {
	local maint
	maint=$(sed -n 's/^Maintainer: //p' packaging/deb/control.in)
	printf 'idsync (%s) stable; urgency=medium\n\n  * Release %s (commit %s).\n\n -- %s  %s\n' \
		"$1" "$VERSION" "${COMMIT:-unknown}" "$maint" "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
}

# build_deb ARCH BINARY builds the .deb for one architecture.
build_deb() {
	local arch=$1 bin=$2 debver root
	debver=$(deb_version "$VERSION")
	dpkg --validate-version "$debver" || die "computed package version $debver is invalid"
	root="$work/deb-$arch"
	install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/share/doc/idsync"
	install -d -m 0750 "$root/etc/idsync"
	install -m 0755 "$bin" "$root/usr/bin/idsync"
	install -m 0644 packaging/systemd/idsync.service "$root/lib/systemd/system/idsync.service"
	packaged_config "$root/etc/idsync/config.yaml"
	chmod 0600 "$root/etc/idsync/config.yaml"
	install -m 0644 packaging/deb/copyright packaging/deb/README.Debian "$root/usr/share/doc/idsync/"
	install -m 0644 config.example.yaml "$root/usr/share/doc/idsync/config.example.yaml"
	install -d -m 0755 "$root/usr/share/lintian/overrides"
	install -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/idsync"
	install -d -m 0755 "$root/usr/share/man/man1"
	local page
	for page in "$work/man"/*.1; do
		gzip -9n <"$page" >"$root/usr/share/man/man1/$(basename "$page").gz"
		chmod 0644 "$root/usr/share/man/man1/$(basename "$page").gz"
	done
	deb_changelog "$debver" | gzip -9n >"$root/usr/share/doc/idsync/changelog.gz"
	chmod 0644 "$root/usr/share/doc/idsync/changelog.gz"
	install -m 0644 packaging/deb/conffiles "$root/DEBIAN/conffiles"
	install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
	local size
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	sed -e "s/@VERSION@/$debver/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$size/" \
		packaging/deb/control.in >"$root/DEBIAN/control"
	# Reproducible mtimes: dpkg-deb clamps to SOURCE_DATE_EPOCH.
	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	local deb="$DIST_DIR/idsync_${debver}_$arch.deb"
	echo "== package $deb"
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
}

if ((build_deb)); then
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg-dev, or run with --no-deb)"
	# The man pages are made from the commands' help, by a build for this
	# host; their date is SOURCE_DATE_EPOCH's.
	echo "== man pages"
	"$GO" run -trimpath -ldflags "-X main.version=$VERSION" ./cmd/idsync man "$work/man" >/dev/null
	for target in $TARGETS; do
		if [[ $target == linux/* ]]; then
			build_deb "${target#*/}" "$DIST_DIR/idsync-$VERSION-linux-${target#*/}"
		fi
	done
fi

if [[ " $TARGETS " == *" windows/"* ]]; then
	cp packaging/windows/install.ps1 config.example.yaml "$DIST_DIR/"
fi

echo "== checksums"
(cd "$DIST_DIR" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
cat "$DIST_DIR/SHA256SUMS"
