#!/bin/sh
# Install the Debian packages the build and the tests need, if any are missing.
# As root: apt-get update && apt-get install -y. Otherwise: print the command.
set -u

need=""
want() { need="$need $1"; }

command -v cc >/dev/null 2>&1 || want gcc
command -v make >/dev/null 2>&1 || want make
command -v pkg-config >/dev/null 2>&1 || want pkg-config
command -v python3 >/dev/null 2>&1 || want python3
command -v sqlite3 >/dev/null 2>&1 || want sqlite3
command -v setpriv >/dev/null 2>&1 || want util-linux
# what tests would otherwise skip (a skipped security test fails under CI=true):
command -v mandoc >/dev/null 2>&1 || want mandoc                # man-page lint
command -v systemd-analyze >/dev/null 2>&1 || want systemd      # unit verify and exposure
command -v faketime >/dev/null 2>&1 || want faketime            # a daemon with a fast clock
command -v chromium >/dev/null 2>&1 || want chromium            # the HTML report laid out
[ -e /usr/share/zoneinfo/Europe/Oslo ] || want tzdata
# the metrics tests read the exposition text with a real parser
python3 -c 'import prometheus_client' >/dev/null 2>&1 || want python3-prometheus-client
# a PostgreSQL server the tests start in a temporary directory (initdb, pg_ctl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want postgresql

if command -v pkg-config >/dev/null 2>&1; then
	pkg-config --exists libuv      || want libuv1-dev
	pkg-config --exists sqlite3    || want libsqlite3-dev
	pkg-config --exists jansson    || want libjansson-dev
	pkg-config --exists check      || want check
	pkg-config --exists libcrypto  || want libssl-dev
	pkg-config --exists libsystemd || want libsystemd-dev
	pkg-config --exists libpq      || want libpq-dev
else
	want "libuv1-dev libsqlite3-dev libjansson-dev check libssl-dev libsystemd-dev libpq-dev"
fi

[ -z "$need" ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing:$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2 || exit 1
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need >&2 || exit 1
else
	echo "deps: missing packages. Run as root:" >&2
	echo "    apt-get update && apt-get install -y$need" >&2
	exit 1
fi
