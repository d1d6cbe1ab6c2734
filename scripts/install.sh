#!/bin/sh
# make install / make uninstall: scripts/install.sh install|uninstall DESTDIR PREFIX SYSCONFDIR MANDIR
# Programs, man pages, systemd units (and the weekly timer of the audit log's rotation,
# not enabled), sysusers.d and tmpfiles.d snippets, a default configuration and an example
# backend configuration (each only if none exists), the example rules (under share/doc, not
# enabled) and retentionctl's bash completion.
set -eu
cd "$(dirname "$0")/.."
action=$1 destdir=$2 prefix=$3 sysconfdir=$4 mandir=$5

bindir=$prefix/bin
sbindir=$prefix/sbin
unitdir=$prefix/lib/systemd/system
sysusersdir=$prefix/lib/sysusers.d
tmpfilesdir=$prefix/lib/tmpfiles.d
docdir=$prefix/share/doc/retentiond
completiondir=$prefix/share/bash-completion/completions
confdir=$sysconfdir/retentiond

d() { printf '%s%s' "$destdir" "$1"; }

units="retentiond.service retention-fs@.service retention-fs@.socket retention-sqlite@.service
retention-sqlite@.socket retention-postgres@.service retention-postgres@.socket
retentiond-audit-rotate.service"
pages="retentiond.8 retentionctl.8 retention-fs.8 retention-sqlite.8 retention-postgres.8
retentiond.conf.5 retention.rules.5 retention-backend.7"

if [ "$action" = uninstall ]; then
	rm -f "$(d "$sbindir/retentiond")" "$(d "$bindir/retentionctl")" \
		"$(d "$sbindir/retention-fs")" "$(d "$sbindir/retention-sqlite")" \
		"$(d "$sbindir/retention-postgres")" "$(d "$completiondir/retentionctl")"
	for u in $units retention-backends.target retentiond-audit-rotate.timer; do
		rm -f "$(d "$unitdir/$u")"
	done
	for p in $pages; do rm -f "$(d "$mandir/man${p##*.}/$p")"; done
	rm -f "$(d "$sysusersdir/retentiond.conf")" "$(d "$tmpfilesdir/retentiond.conf")"
	rm -rf "$(d "$docdir")"
	echo "uninstalled; $(d "$confdir") and the state in /var/lib/retentiond and" \
		"/var/log/retentiond are left in place"
	exit 0
fi

install -d "$(d "$bindir")" "$(d "$sbindir")" "$(d "$unitdir")" "$(d "$sysusersdir")" \
	"$(d "$tmpfilesdir")" "$(d "$docdir/examples/rules")" "$(d "$confdir/rules.d")" \
	"$(d "$confdir/backends")"
install -m 0755 build/retentiond "$(d "$sbindir/retentiond")"
install -m 0755 build/retentionctl "$(d "$bindir/retentionctl")"
for b in retention-fs retention-sqlite retention-postgres; do
	[ -x "build/$b" ] && install -m 0755 "build/$b" "$(d "$sbindir/$b")"
done
for u in $units; do
	sed -e "s|@SBINDIR@|$sbindir|g" -e "s|@BINDIR@|$bindir|g" -e "s|@SYSCONFDIR@|$sysconfdir|g" \
		"systemd/$u.in" > "$(d "$unitdir/$u")"
	chmod 0644 "$(d "$unitdir/$u")"
done
install -m 0644 systemd/retention-backends.target "$(d "$unitdir/retention-backends.target")"
install -m 0644 systemd/retentiond-audit-rotate.timer "$(d "$unitdir/retentiond-audit-rotate.timer")"
install -m 0644 systemd/retentiond.sysusers "$(d "$sysusersdir/retentiond.conf")"
install -m 0644 systemd/retentiond.tmpfiles "$(d "$tmpfilesdir/retentiond.conf")"
for p in $pages; do
	[ -f "man/$p" ] || continue
	install -d "$(d "$mandir/man${p##*.}")"
	install -m 0644 "man/$p" "$(d "$mandir/man${p##*.}/$p")"
done
install -m 0644 rules/*.rules "$(d "$docdir/examples/rules/")"
install -m 0644 examples/retentiond.conf "$(d "$docdir/examples/retentiond.conf")"
install -m 0644 examples/retention-fs.conf "$(d "$docdir/examples/retention-fs.conf")"
[ -f examples/python-backend.py ] && install -m 0644 examples/python-backend.py "$(d "$docdir/examples/")"
install -m 0644 README.md "$(d "$docdir/README.md")"
install -d "$(d "$completiondir")"
install -m 0644 contrib/bash-completion/retentionctl "$(d "$completiondir/retentionctl")"
# A configuration is installed only where none exists: an upgrade never overwrites one.
if [ ! -e "$(d "$confdir/retentiond.conf")" ]; then
	install -m 0644 examples/retentiond.conf "$(d "$confdir/retentiond.conf")"
fi
# The example of a backend's configuration, beside the backends' own (no unit reads it).
if [ ! -e "$(d "$confdir/backends/retention-fs.conf.example")" ]; then
	install -m 0644 examples/retention-fs.conf "$(d "$confdir/backends/retention-fs.conf.example")"
fi
echo "installed under $(d "$prefix") (configuration in $(d "$confdir"))"
