#!/usr/bin/env bash
# Real, unmodified UDP servers under `sluice run --path xdp` (docs/run.md),
# each in namespace B of a veth test bed, asked by kernel clients in A over
# IPv4 and IPv6: dnsmasq (DNS, as nobody), unbound (DNS), memcached (UDP
# get), in.tftpd (a file byte for byte from its chrooted transfer child),
# snmpd (snmpget), chronyd (NTP, as _chrony). Each must answer as without
# sluice and its report show its sockets served (path=xdp, answers through
# the port: tx_kernel=0). A program not installed is skipped with the
# reason (scripts/deps.sh installs them). The bed is sl-ts<PID>, removed on
# exit. Prints TAP.
#
#   test_run_servers.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: test_run_servers.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: test_run_servers.sh PATH/TO/sluice SOURCE_ROOT}
. "$(dirname "$0")/lib.sh"
D=$T_DIR
PROGS=$(cd "$(dirname "$0")" && pwd)/run_progs.py
NAMES="dnsmasq unbound memcached in.tftpd snmpd chronyd"

t_bed sl-ts "%s under sluice run" $NAMES
# the servers' files: readable by the users they become
chmod 755 "$D"

# serve NAME PORT CMD...: CMD in B under sluice run --path xdp, report in
# $D/NAME.report (a daemon that gives up root still writes it); waits
# for its UDP port
serve() { t_serve "$1" "$2" 0.3 "${@:3}"; }
# stop: SIGTERM to the server (sluice run execs it: the pid is its)
stop() {
	kill -TERM "$T_LAST" 2>/dev/null
	t_wait "$T_LAST" 5
}
# both NAME PORT: the report has its IPv4 and IPv6 sockets on PORT served,
# each with answers sent through the port and none through the kernel
both() {
	grep -qE "udp4 [0-9.]+:$2 path=xdp .* tx=[1-9][0-9]* .* rx_kernel=0 tx_kernel=0 " "$D/$1.report" &&
		grep -qE "udp6 \[[0-9a-f:]+\]:$2 path=xdp .* tx=[1-9][0-9]* .* rx_kernel=0 tx_kernel=0 " "$D/$1.report"
}
# few_routes NAME PORT: the served sockets on PORT asked the kernel for
# routes fewer times than they answered. A client that asks from a new
# port each time (chronyd -Q, DNS resolvers) is one address: a route
# query per answer (tens of microseconds each) would delay every answer.
few_routes() {
	awk -v p=":$2 " '$0 ~ p && / path=xdp / {
		n++
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			v[kv[1]] = kv[2]
		}
		if (!(v["tx"] > 1 && v["routes"] < v["tx"])) bad = 1
	} END { exit !(n && !bad) }' "$D/$1.report"
}
# result NAME OK DETAIL: the subtest's line
result() {
	if [ "$2" = 1 ]; then
		t_ok "$1"
	else
		t_fail "$1" "$3"
	fi
}
dig4() { A dig @"$1" -p "$2" +short +tries=1 +time=3 "$3" "$4" 2>&1; }
# web_records PORT: the A and AAAA answers for web.sluice.test from B's
# IPv4 and IPv6 addresses, as one line (" A AAAA A AAAA")
web_records() {
	local s r=
	for s in "$IPB" "$IP6B"; do
		r="$r $(dig4 "$s" "$1" web.sluice.test A) $(dig4 "$s" "$1" web.sluice.test AAAA)"
	done
	echo "$r"
}

# dnsmasq: address records from a hosts file, asked over IPv4 and IPv6;
# it answers from the address a query came to (IP_PKTINFO and
# IPV6_PKTINFO in sendmsg) and runs as nobody (the report was opened
# before it gave up root)
name="dnsmasq: A and AAAA over IPv4 and IPv6, served, as nobody"
if command -v dnsmasq >/dev/null && command -v dig >/dev/null; then
	printf '10.9.8.7 web.sluice.test\nfd00::7 web.sluice.test\n' >"$D/hosts"
	chmod 644 "$D/hosts"
	out=
	if serve dnsmasq 7301 dnsmasq --no-daemon --port=7301 --no-hosts \
		--addn-hosts="$D/hosts" --no-resolv --conf-file=/dev/null \
		--pid-file= --user=nobody; then
		out=$(web_records 7301)
	fi
	stop
	ok=0
	[ "$out" = " 10.9.8.7 fd00::7 10.9.8.7 fd00::7" ] && both dnsmasq 7301 && ok=1
	result "$name" $ok "$out $(cat "$D/dnsmasq.out.err" "$D/dnsmasq.report" 2>&1)"
else
	t_skip "$name" "dnsmasq or dig not installed"
fi

# unbound: local data, asked over IPv4 and IPv6; its IPv6 socket sets
# IPV6_MTU (1280) before its bind
name="unbound: A and AAAA over IPv4 and IPv6, both sockets served"
if command -v unbound >/dev/null && command -v dig >/dev/null; then
	cat >"$D/unbound.conf" <<EOF
server:
  interface: 0.0.0.0
  interface: ::
  port: 7302
  do-daemonize: no
  username: ""
  chroot: ""
  pidfile: ""
  use-syslog: no
  directory: "$D"
  auto-trust-anchor-file: ""
  num-threads: 1
  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
  local-zone: "sluice.test." static
  local-data: "web.sluice.test. IN A 10.9.8.7"
  local-data: "web.sluice.test. IN AAAA fd00::7"
remote-control:
  control-enable: no
EOF
	out=
	if serve unbound 7302 unbound -d -c "$D/unbound.conf"; then
		out=$(web_records 7302)
	fi
	stop
	ok=0
	[ "$out" = " 10.9.8.7 fd00::7 10.9.8.7 fd00::7" ] && both unbound 7302 && ok=1
	result "$name" $ok "$out $(cat "$D/unbound.out.err" "$D/unbound.report" 2>&1)"
else
	t_skip "$name" "unbound or dig not installed"
fi

# memcached's UDP protocol: a 3000-byte value set over TCP, got over UDP
# in several datagrams, over IPv4 and IPv6 (as root: a server that gives
# up root before it binds cannot open a port, docs/run.md)
name="memcached -U: a value got over UDP (IPv4 and IPv6), served"
if command -v memcached >/dev/null; then
	out=
	if serve memcached 7303 memcached -u root -p 7303 -U 7303 -t 1; then
		out="$(A python3 "$PROGS" memcache "$IPB" 7303 3000 2>&1) $(A python3 "$PROGS" memcache "$IP6B" 7303 3000 2>&1)"
	fi
	stop
	ok=0
	[ "$(echo "$out" | grep -oE 'ok [0-9]+ bytes in 3 datagrams' | wc -l)" = 2 ] &&
		both memcached 7303 && ok=1
	result "$name" $ok "$out $(cat "$D/memcached.out.err" "$D/memcached.report" 2>&1)"
else
	t_skip "$name" "memcached not installed"
fi

# in.tftpd (tftpd-hpa) chroots into its directory (-s) and answers each
# request from a child with a new socket on an ephemeral port: that
# socket is served, and the child's report line is written from inside
# the chroot; the file arrives byte for byte, twice
name="in.tftpd -s: a 400 KB file twice, byte for byte, each child's socket served"
if command -v in.tftpd >/dev/null && command -v tftp >/dev/null; then
	mkdir -p "$D/tftp"
	head -c 400000 /dev/urandom >"$D/tftp/blob"
	chmod -R a+rX "$D/tftp"
	ok=0
	if serve tftpd 7304 in.tftpd -L -u root -s "$D/tftp" -a "$IPB:7304"; then
		ok=1
		for i in 1 2; do
			rm -f "$D/got"
			A tftp -m binary "$IPB" 7304 -c get blob "$D/got" >"$D/tftp.c$i" 2>&1
			cmp -s "$D/got" "$D/tftp/blob" || ok=0
			# the child gone: its steering program with it, so the
			# next child's port can open (one program per interface)
			for j in $(seq 50); do
				pgrep -P "$T_LAST" >/dev/null || break
				sleep 0.1
			done
		done
	fi
	stop
	# 782 blocks of 512 bytes, each answered by an ACK, on each child's
	# socket (a pid other than the server's)
	[ "$(grep -cE "pid=[0-9]+ fd=[0-9]+ udp4 $IPB:[0-9]+ path=xdp .* rx=782 .* tx=782 .* tx_kernel=0 " "$D/tftpd.report")" = 2 ] ||
		ok=0
	result "$name" $ok "$(cat "$D"/tftp.c* "$D/tftpd.out.err" "$D/tftpd.report" 2>&1)"
else
	t_skip "$name" "in.tftpd (tftpd-hpa) or tftp (tftp-hpa) not installed"
fi

# snmpd with a minimal configuration, sysLocation asked with snmpget over
# IPv4 and IPv6 (numeric OIDs: no MIB files needed); its state goes to
# the test's directory, not /var/lib/snmp
name="snmpd: snmpget over IPv4 and IPv6, served"
if command -v snmpd >/dev/null && command -v snmpget >/dev/null; then
	mkdir -p "$D/snmp"
	cat >"$D/snmpd.conf" <<EOF
agentaddress udp:$IPB:7305,udp6:[$IP6B]:7305
rocommunity public default
rocommunity6 public default
sysLocation sluice-bed
EOF
	export SNMP_PERSISTENT_DIR=$D/snmp
	out=
	if serve snmpd 7305 snmpd -f -Lo -C -c "$D/snmpd.conf" \
		-I -smux,mteTrigger,mteTriggerConf; then
		for s in "$IPB" "udp6:[$IP6B]"; do
			out="$out $(A snmpget -On -Oqv -v2c -c public -t 3 -r 0 "$s:7305" .1.3.6.1.2.1.1.6.0 2>&1)"
		done
	fi
	stop
	unset SNMP_PERSISTENT_DIR
	ok=0
	[ "$out" = ' "sluice-bed" "sluice-bed"' ] && both snmpd 7305 && ok=1
	result "$name" $ok "$out $(cat "$D/snmpd.out.err" "$D/snmpd.report" 2>&1)"
else
	t_skip "$name" "snmpd or snmpget not installed"
fi

# chronyd as an NTP server (it becomes _chrony; IP_FREEBIND,
# SO_TIMESTAMPING receive times, IP_PKTINFO answers), asked by chronyd -Q
# in A for both its addresses
name="chronyd: NTP over IPv4 and IPv6, served, as _chrony"
if command -v chronyd >/dev/null; then
	# no command sockets, pid files in the test's directory
	printf 'port 7306\nallow all\nlocal stratum 8\ncmdport 0\nbindcmdaddress /\npidfile %s\n' \
		"$D/chronyd.pid" >"$D/chrony.conf"
	printf 'server %s port 7306 iburst\nserver %s port 7306 iburst\npidfile %s\n' \
		"$IPB" "$IP6B" "$D/chronyq.pid" >"$D/chronyq.conf"
	chmod 644 "$D/chrony.conf" "$D/chronyq.conf"
	out=
	if serve chronyd 7306 chronyd -d -x -f "$D/chrony.conf"; then
		out=$(A timeout 20 chronyd -Q -u root -f "$D/chronyq.conf" -t 10 2>&1)
	fi
	stop
	ok=0
	echo "$out" | grep -q 'System clock wrong by' &&
		grep -qE 'udp4 0.0.0.0:7306 path=xdp .* rx=[1-9]' "$D/chronyd.report" &&
		grep -qE 'udp6 \[::\]:7306 path=xdp .* rx=[1-9]' "$D/chronyd.report" &&
		both chronyd 7306 && few_routes chronyd 7306 && ok=1
	result "$name" $ok "$out $(cat "$D/chronyd.out.err" "$D/chronyd.report" 2>&1)"
else
	t_skip "$name" "chronyd not installed"
fi
t_done
