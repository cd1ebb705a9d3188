#!/bin/sh
# setup.sh — install what the benchmark compares against (Debian's auditd and laurel) and
# create the unprivileged workload user. Only one process can own audit on a host: the
# packages' maintainer scripts must never start auditd, so services are forbidden during the
# install (policy-rc.d exit 101) and the script fails if an auditd runs afterwards.
set -eu

[ "$(id -u)" = 0 ] || { echo "setup.sh: must run as root" >&2; exit 1; }

POLICY=/usr/sbin/policy-rc.d
SAVED=""
if [ -e "$POLICY" ]; then
	SAVED=$(mktemp)
	cp -p "$POLICY" "$SAVED"
fi
restore_policy() {
	if [ -n "$SAVED" ]; then
		cp -p "$SAVED" "$POLICY"
		rm -f "$SAVED"
	else
		rm -f "$POLICY"
	fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' > "$POLICY"
chmod +x "$POLICY"

if ! dpkg -s auditd >/dev/null 2>&1 || ! dpkg -s laurel >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends auditd laurel
fi

# an auditd started anyway (by a maintainer script that ignores policy-rc.d) is stopped now
if pgrep -x auditd >/dev/null; then
	echo "setup.sh: auditd is running after the install: stopping it" >&2
	for p in $(pgrep -x auditd); do kill "$p"; done
	sleep 1
	if pgrep -x auditd >/dev/null; then
		echo "setup.sh: auditd still running" >&2
		exit 1
	fi
fi

if ! id lineage-bench >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		lineage-bench
fi
echo "setup.sh: auditd $(dpkg-query -W -f '${Version}' auditd)," \
	"laurel $(dpkg-query -W -f '${Version}' laurel), user lineage-bench uid $(id -u lineage-bench)"
