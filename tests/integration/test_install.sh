#!/bin/sh
# make install DESTDIR=... produces the expected tree; the units verify and score as
# hardened with systemd-analyze; make uninstall removes what it installed.
# Without systemd-analyze (or without its "security --offline") the unit checks are
# skipped: exit 77 after the rest passed. The exposure score is a security check, so
# with CI=true a missing systemd-analyze is a failure instead.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d /tmp/retention-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "test_install: $*" >&2; exit 1; }
skipped=""
skip() {
	[ "${CI:-}" = true ] && fail "security check cannot run: $* (CI=true: it may not be skipped)"
	echo "test_install: skip: $*" >&2
	skipped=yes
}

make --no-print-directory -s install DESTDIR="$tmp/root" PREFIX=/usr >/dev/null
for f in usr/sbin/retentiond usr/bin/retentionctl usr/sbin/retention-fs usr/sbin/retention-sqlite \
	usr/sbin/retention-postgres usr/lib/systemd/system/retention-postgres@.service \
	usr/lib/systemd/system/retention-postgres@.socket usr/share/man/man8/retention-postgres.8 \
	usr/lib/systemd/system/retentiond.service usr/lib/systemd/system/retention-fs@.service \
	usr/lib/systemd/system/retention-fs@.socket usr/lib/systemd/system/retention-sqlite@.service \
	usr/lib/systemd/system/retention-sqlite@.socket usr/lib/systemd/system/retention-backends.target \
	usr/lib/sysusers.d/retentiond.conf usr/lib/tmpfiles.d/retentiond.conf \
	etc/retentiond/retentiond.conf usr/share/doc/retentiond/examples/retentiond.conf \
	usr/share/doc/retentiond/examples/rules/framsikt.rules \
	usr/share/man/man8/retentiond.8 usr/share/man/man8/retentionctl.8 \
	usr/share/man/man5/retentiond.conf.5 usr/share/man/man5/retention.rules.5 \
	usr/share/man/man7/retention-backend.7 usr/share/man/man8/retention-fs.8 \
	usr/share/man/man8/retention-sqlite.8 usr/share/bash-completion/completions/retentionctl \
	usr/lib/systemd/system/retentiond-audit-rotate.service \
	usr/lib/systemd/system/retentiond-audit-rotate.timer \
	etc/retentiond/backends/retention-fs.conf.example \
	usr/share/doc/retentiond/examples/retention-fs.conf; do
	[ -e "$tmp/root/$f" ] || fail "missing $f"
done
# the installed completion loads in bash and completes from the installed program's table
if command -v bash >/dev/null 2>&1; then
	got=$(PATH="$tmp/root/usr/bin:$PATH" bash --norc --noprofile -c \
		'source "$1"; COMP_WORDS=(retentionctl ho); COMP_CWORD=1; _retentionctl; echo "${COMPREPLY[*]}"' \
		bash "$tmp/root/usr/share/bash-completion/completions/retentionctl")
	[ "$got" = hold ] || fail "the installed completion gives \"$got\" for \"retentionctl ho\""
fi
[ -d "$tmp/root/etc/retentiond/rules.d" ] || fail "missing etc/retentiond/rules.d"
if ls "$tmp/root/etc/retentiond/rules.d" | grep -q .; then
	fail "example rules must not be enabled"
fi
grep -q "ExecStart=/usr/sbin/retentiond --config /etc/retentiond/retentiond.conf" \
	"$tmp/root/usr/lib/systemd/system/retentiond.service" || fail "unit paths not substituted"
# no restart loop where a restart cannot help: a log that lost entries, a bad configuration
grep -q "^RestartPreventExitStatus=65 78$" "$tmp/root/usr/lib/systemd/system/retentiond.service" ||
	fail "retentiond.service restarts after exit 65 or 78"
if grep -q "@SBINDIR@\|@SYSCONFDIR@" "$tmp/root/usr/lib/systemd/system/retentiond.service"; then
	fail "placeholder left in the unit"
fi
"$tmp/root/usr/sbin/retentiond" --version | grep -q "^retentiond " || fail "installed retentiond does not run"
grep -q "^ExecStart=/usr/bin/retentionctl audit rotate$" \
	"$tmp/root/usr/lib/systemd/system/retentiond-audit-rotate.service" ||
	fail "the rotation's unit does not run retentionctl audit rotate"
grep -q "^OnCalendar=weekly$" "$tmp/root/usr/lib/systemd/system/retentiond-audit-rotate.timer" ||
	fail "the rotation's timer is not weekly"
# The installed configuration names no zone (the host's is the default); the example
# backend configuration is the one shipped.
if grep -q "^[[:space:]]*timezone" "$tmp/root/etc/retentiond/retentiond.conf"; then
	fail "the installed configuration hard-codes a zone"
fi
cmp -s examples/retention-fs.conf "$tmp/root/etc/retentiond/backends/retention-fs.conf.example" ||
	fail "etc/retentiond/backends/retention-fs.conf.example is not examples/retention-fs.conf"
out=$("$tmp/root/usr/sbin/retentiond" --check-config --config "$tmp/root/etc/retentiond/retentiond.conf" 2>&1) || true
if echo "$out" | grep -qi "zone"; then fail "the installed configuration's zone: $out"; fi

# An existing configuration is never overwritten.
echo "# mine" >> "$tmp/root/etc/retentiond/retentiond.conf"
echo "# mine" >> "$tmp/root/etc/retentiond/backends/retention-fs.conf.example"
make --no-print-directory -s install DESTDIR="$tmp/root" PREFIX=/usr >/dev/null
grep -q "# mine" "$tmp/root/etc/retentiond/retentiond.conf" || fail "install overwrote the configuration"
grep -q "# mine" "$tmp/root/etc/retentiond/backends/retention-fs.conf.example" ||
	fail "install overwrote the example backend configuration"

make --no-print-directory -s uninstall DESTDIR="$tmp/root" PREFIX=/usr >/dev/null
for f in usr/sbin/retentiond usr/bin/retentionctl usr/lib/systemd/system/retentiond.service \
	usr/share/man/man8/retentiond.8 usr/lib/sysusers.d/retentiond.conf \
	usr/sbin/retention-postgres usr/share/man/man8/retention-postgres.8 \
	usr/lib/systemd/system/retention-postgres@.service \
	usr/share/bash-completion/completions/retentionctl \
	usr/lib/systemd/system/retentiond-audit-rotate.service \
	usr/lib/systemd/system/retentiond-audit-rotate.timer; do
	if [ -e "$tmp/root/$f" ]; then fail "uninstall left $f"; fi
done
[ -e "$tmp/root/etc/retentiond/retentiond.conf" ] || fail "uninstall removed the configuration"

if command -v systemd-analyze >/dev/null 2>&1; then
	# Installed into a real prefix so that the ExecStart= programs exist for verify.
	make --no-print-directory -s install PREFIX="$tmp/p/usr" SYSCONFDIR="$tmp/p/etc" \
		MANDIR="$tmp/p/usr/share/man" >/dev/null
	units=$tmp/p/usr/lib/systemd/system
	out=$(systemd-analyze verify --man=no "$units/retentiond.service" "$units/retention-fs@.socket" \
		"$units/retention-sqlite@.socket" "$units/retention-postgres@.socket" \
		"$units/retentiond-audit-rotate.timer" "$units/retentiond-audit-rotate.service" 2>&1) ||
		fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
	if systemd-analyze security --help 2>&1 | grep -q -- --offline; then
		for u in retentiond.service retention-fs@x.service retention-sqlite@x.service \
			retention-postgres@x.service retentiond-audit-rotate.service; do
			src=$units/$(echo "$u" | sed 's/@x/@/')
			cp "$src" "$tmp/$u"
			score=$(systemd-analyze security --offline=true "$tmp/$u" 2>&1 |
				sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
			[ -n "$score" ] || fail "no exposure score for $u"
			awk -v s="$score" 'BEGIN { exit !(s <= 1.0) }' || fail "$u exposure $score > 1.0"
			echo "test_install: $u exposure $score"
		done
	else
		skip "systemd-analyze has no 'security --offline'; the units' exposure was not scored"
	fi
else
	skip "systemd-analyze is not installed (Debian: systemd); the units were not verified or scored"
fi
[ -z "$skipped" ] || exit 77
echo "test_install: ok"
