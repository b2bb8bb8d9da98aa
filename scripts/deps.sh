#!/usr/bin/env bash
# Install the Debian packages sluice needs, only those missing.
#   scripts/deps.sh          what `make test` needs
#   scripts/deps.sh bench    also what `make bench` compares against (DPDK,
#                            fio)
# Without root it prints the exact apt-get line and fails.
set -euo pipefail

pkgs=(
	build-essential meson ninja-build pkg-config python3
	clang libclang-rt-14-dev clang-format
	libcmocka-dev libpcap-dev libxdp-dev libbpf-dev libmnl-dev libcap-dev
	libjson-c-dev libseccomp-dev liburing-dev
	# DMA topology: hwloc (its Linux backend reads the PCI tree)
	libhwloc-dev
	tshark iproute2 ethtool strace
	# sluice run keeps sockets the kernel's where netfilter has rules
	nftables
	# sluice top is checked in a terminal (tests/tools/test_telemetry.sh)
	tmux
	# peers no one here wrote, for the interop tests
	socat openbsd-inetd iperf iperf3 tcpdump sockperf dnsutils
	# servers run under `sluice run` (tests/tools/test_run_servers.sh),
	# installed without starting their daemons (below)
	dnsmasq-base unbound memcached tftpd-hpa tftp-hpa snmpd snmp chrony
	# authoritative DNS servers under sluice run (tests/tools/test_run_dns.sh)
	bind9 nsd knot
	# proxies and collectors under sluice run (tests/tools/test_run_proxies.sh)
	nginx libnginx-mod-stream rsyslog snmptrapd
	# more programs under sluice run (tests/tools/test_run_clients.sh);
	# openvpn and coturn ship daemons, kept from starting below
	sip-tester nodejs ncat netcat-openbsd openvpn coturn iputils-ping
	# the lab (scripts/lab.sh): a guest with Linux's RDMA stack and NICs
	qemu-system-x86 busybox-static cpio kmod xz-utils
	rdma-core ibverbs-utils ibverbs-providers perftest python3-pyverbs
)
if [ "${1:-}" = bench ]; then
	# DPDK only for side-by-side numbers: never a dependency of libsluice
	pkgs+=(libdpdk-dev dpdk dpdk-dev)
	# the raw rate a dma file target is compared against (bench/dma_bench)
	pkgs+=(fio)
fi

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages; as root, run:" >&2
	echo "  apt-get update && $line" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture: answer no, quietly
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections
# packages that ship a daemon (unbound, memcached, snmpd, chrony,
# tftpd-hpa, coturn, openvpn, inetd, bind9, nsd, knot, nginx, rsyslog,
# snmptrapd) must not start it on this host: the tests run their own, in
# namespaces.
# policy-rc.d answers 101 (forbidden) to invoke-rc.d while the install
# runs, and goes after, unless one was there before.
rcd=/usr/sbin/policy-rc.d
own_rcd=
if [ ! -e $rcd ]; then
	printf '#!/bin/sh\nexit 101\n' >$rcd
	chmod +x $rcd
	own_rcd=1
	trap 'rm -f $rcd' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -n "$own_rcd" ] && rm -f $rcd
trap - EXIT
