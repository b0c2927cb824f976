#!/bin/sh
# Installs the peer the benchmark compares Herald with: syslog-ng with its
# http() destination (Debian/Ubuntu). Run once, as root:
#
#   sudo bash bench/setup.sh
#
# The benchmark itself (go run ./bench/cmd/benchdriver) never installs
# anything; without syslog-ng it skips the comparison and says so.
set -eu

if command -v syslog-ng >/dev/null 2>&1 &&
	dpkg-query -W -f='${Status}' syslog-ng-mod-http 2>/dev/null | grep -q 'ok installed'; then
	echo "syslog-ng and its http module are already installed:"
	syslog-ng --version | head -n 1
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "setup.sh: apt-get not found; install syslog-ng (3.x) with its http destination module by hand" >&2
	exit 1
fi

# syslog-ng-core conflicts with rsyslog (both provide system-log-daemon): apt
# refuses rather than removing it silently, because of --no-remove.
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends --no-remove syslog-ng-core syslog-ng-mod-http

# The package may start syslog-ng as the system's log daemon. The benchmark
# runs its own instance with private persist, pid and control files, so the
# system one is not needed for it (stop it if you don't want it).
syslog-ng --version | head -n 1
