#!/usr/bin/env bash
# Real, unmodified authoritative DNS servers under `sluice run --path xdp`
# (docs/run.md), each in namespace B of a veth test bed with its own zone
# files, asked by kernel clients in A over IPv4 and IPv6: BIND 9's named,
# NSD and Knot DNS (knotd). Each answers as the same server does without
# sluice (run first: A, AAAA, SOA, NXDOMAIN over UDP, A over TCP), and
# answers every one of 200 queries from 200 source ports per family; its
# report says what became of its UDP sockets: knotd's SO_REUSEPORT groups
# (a socket per worker) served, every socket answering through the port
# (tx_kernel=0); named's and NSD's the kernel's, with the reason (named
# gives up CAP_NET_RAW at its start, NSD's sockets are shared with the
# children it forks). A program not installed is skipped with the reason
# (scripts/deps.sh installs them). The bed is sl-td<PID>, removed on exit.
# Prints TAP.
#
#   test_run_dns.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: test_run_dns.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: test_run_dns.sh PATH/TO/sluice SOURCE_ROOT}
. "$(dirname "$0")/lib.sh"
D=$T_DIR
NAMES="named nsd knotd"

t_bed sl-td "%s under sluice run" $NAMES
chmod 755 "$D"

cat >"$D/zone" <<'EOF'
$TTL 300
@	IN SOA ns.sluice.test. admin.sluice.test. 1 3600 600 86400 300
@	IN NS ns.sluice.test.
ns	IN A 10.9.8.1
web	IN A 10.9.8.7
web	IN AAAA fd00::7
EOF
chmod 644 "$D/zone"

# N queries for web.sluice.test A, each from a new source port (a flow of
# its own: a SO_REUSEPORT group spreads them), every one answered with
# its id and 10.9.8.7
cat >"$D/many.py" <<'EOF'
import socket, struct, sys

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
q = b"".join(bytes([len(l)]) + l for l in b"web.sluice.test".split(b"."))
q += b"\0" + struct.pack("!HH", 1, 1)
for i in range(n):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(struct.pack("!HHHHHH", i, 0, 1, 0, 0, 0) + q, (host, port))
    try:
        a = s.recv(4096)
    except socket.timeout:
        sys.exit("query %d of %d: no answer" % (i + 1, n))
    if struct.unpack("!H", a[:2])[0] != i or bytes([0, 4, 10, 9, 8, 7]) not in a:
        sys.exit("query %d: a wrong answer %r" % (i + 1, a))
    s.close()
print("ok %d" % n)
EOF

q() { A dig @"$1" -p "$2" +norec +tries=1 +time=3 "${@:3}" 2>&1; }
# start NAME PORT SLUICE CMD...: CMD in B, under sluice run --path xdp
# when SLUICE is 1 (report in $D/NAME.report); waits for its UDP port,
# then (up to 10 s) for the zone's SOA over IPv4 and IPv6: every socket
# bound, the zone loaded
start() {
	local name=$1 port=$2 sl=$3 i
	shift 3
	if [ "$sl" = 1 ]; then
		t_bg "$D/$name.out" ip netns exec "$NSB" env \
			SLUICE_RUN_REPORT="$D/$name.report" "$SLUICE" run --path xdp -- "$@"
	else
		t_bg "$D/$name.out" ip netns exec "$NSB" "$@"
	fi
	t_udp_ready "$port" "$NSB" || return 1
	for i in $(seq 50); do
		q "$IPB" "$port" +short +time=1 sluice.test SOA | grep -q admin &&
			q "$IP6B" "$port" +short +time=1 sluice.test SOA | grep -q admin &&
			return 0
		sleep 0.2
	done
	return 1
}
stop() {
	kill -TERM "$T_LAST" 2>/dev/null
	t_wait "$T_LAST" 10
}
# answers PORT: what the server says, over IPv4 and IPv6, UDP and TCP, as
# one line: A, AAAA, the SOA of the zone, a name it lacks
answers() {
	local s r=
	for s in "$IPB" "$IP6B"; do
		r="$r $(q "$s" "$1" +short web.sluice.test A)"
		r="$r $(q "$s" "$1" +short web.sluice.test AAAA)"
		r="$r $(q "$s" "$1" +short +tcp web.sluice.test A)"
		r="$r $(q "$s" "$1" +short sluice.test SOA)"
		r="$r $(q "$s" "$1" nope.sluice.test A | grep -o 'status: [A-Z]*')"
	done
	echo "$r"
}
# each NAME PORT: one line per UDP socket on PORT of the report:
# "FAMILY PATH rx tx rx_kernel tx_kernel"
each() {
	awk -v p=":$2 " '$0 ~ p && / udp[46] / {
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			v[kv[1]] = kv[2]
		}
		print $4, v["path"], v["rx"], v["tx"], v["rx_kernel"], v["tx_kernel"]
	}' "$D/$1.report"
}
# each NAME PORT: "FAMILY PATH rx tx rx_kernel tx_kernel" for each UDP
# socket of the report on PORT that is not on loopback
each() {
	awk -v p=":$2 " '$0 ~ p && / udp[46] / && !/why="bound on loopback"/ {
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			v[kv[1]] = kv[2]
		}
		print $4, v["path"], v["rx"], v["tx"], v["rx_kernel"], v["tx_kernel"]
	}' "$D/$1.report"
}
# served NAME PORT K: every such socket served on xdp, through the port
# only (rx_kernel=0 tx_kernel=0), K of each family (a SO_REUSEPORT group
# of K), every one of them answering
served() {
	each "$1" "$2" | awk -v k="$3" '
		$2 != "xdp" || $4 < 1 || $5 != 0 || $6 != 0 { bad = 1 }
		{ n[$1]++ }
		END { exit !(!bad && n["udp4"] == k && n["udp6"] == k) }'
}
# kernel NAME PORT WHY: every such socket the kernel's, the report saying
# WHY (a prefix) for each; at least one of each family
kernel() {
	[ "$(grep -E ":$2 path=" "$D/$1.report" | grep -v 'why="bound on loopback"' |
		grep -E ' udp[46] ' | grep -cv "path=kernel .* why=\"$3")" = 0 ] &&
		grep -qE " udp4 [0-9.]+:$2 path=kernel" "$D/$1.report" &&
		grep -qE " udp6 \[[0-9a-f:]+\]:$2 path=kernel" "$D/$1.report"
}
EXPECT=" 10.9.8.7 fd00::7 10.9.8.7 ns.sluice.test. admin.sluice.test. 1 3600 600 86400 300 status: NXDOMAIN"
EXPECT="$EXPECT$EXPECT"

# check NAME PORT TITLE VERDICT CMD...: the server without sluice, then
# under it: the same answers (the expected ones), 200 queries over IPv4
# and 200 over IPv6 each answered, and VERDICT NAME PORT (what its
# report must say) true
check() {
	local name=$1 port=$2 title=$3 verdict=$4 base= out= many= ok=0
	shift 4
	if start "$name-k" "$port" 0 "$@"; then
		base=$(answers "$port")
	fi
	stop
	if start "$name" "$port" 1 "$@"; then
		out=$(answers "$port")
		many="$(A python3 "$D/many.py" "$IPB" "$port" 200 2>&1) $(A python3 "$D/many.py" "$IP6B" "$port" 200 2>&1)"
	fi
	stop
	[ "$base" = "$EXPECT" ] && [ "$out" = "$base" ] &&
		[ "$many" = "ok 200 ok 200" ] && $verdict "$name" "$port" && ok=1
	if [ $ok = 1 ]; then
		t_ok "$title"
	else
		t_fail "$title" "without: $base
with:    $out
many:    $many
$(each "$name" "$port")
$(tail -n 30 "$D/$name.out.err" "$D/$name.report" 2>&1)"
	fi
}

# BIND 9: named in the foreground with two workers (-n 2), recursion off;
# listen-on any binds each address of B once per worker (SO_REUSEPORT).
# named keeps only CAP_NET_BIND_SERVICE and a few more from its start,
# even as root, so no port can open: its sockets stay the kernel's, the
# report saying so (its IPv6 sockets' IPV6_DONTFRAG is accepted), and
# every query is answered
name="named: answers as without sluice, kernel sockets told it gave up CAP_NET_RAW"
named_v() { kernel "$1" "$2" "the program has given up CAP_NET_RAW"; }
if command -v named >/dev/null && command -v dig >/dev/null; then
	mkdir -p "$D/named"
	cat >"$D/named.conf" <<EOF2
options {
	directory "$D/named";
	pid-file none;
	session-keyfile none;
	managed-keys-directory "$D/named";
	recursion no;
	dnssec-validation no;
	allow-query { any; };
	listen-on { any; };
	listen-on-v6 { any; };
};
controls { };
zone "sluice.test" { type primary; file "$D/zone"; };
EOF2
	check named 7353 "$name" named_v named -g -n 2 -u root -c "$D/named.conf" -p 7353
else
	t_skip "$name" "named (bind9) or dig not installed"
fi

# NSD binds its sockets, then forks: its server child (a grandchild)
# reads them while the others keep their copies. A socket shared by
# processes is the kernel's (docs/run.md, fork): the report says so and
# every query is answered
name="nsd: answers as without sluice, its forked sockets the kernel's, named"
nsd_v() { kernel "$1" "$2" "fork: "; }
if command -v nsd >/dev/null && command -v dig >/dev/null; then
	cat >"$D/nsd.conf" <<EOF2
server:
	port: 7354
	username: ""
	chroot: ""
	zonesdir: "$D"
	database: ""
	pidfile: ""
	xfrdfile: "$D/xfrd.state"
	zonelistfile: "$D/zone.list"
	xfrdir: "$D"
	server-count: 1
remote-control:
	control-enable: no
zone:
	name: "sluice.test"
	zonefile: "$D/zone"
EOF2
	check nsd 7354 "$name" nsd_v nsd -d -c "$D/nsd.conf"
else
	t_skip "$name" "nsd or dig not installed"
fi

# Knot DNS: knotd with three UDP workers binds a SO_REUSEPORT group of
# three sockets on 0.0.0.0 and three on ::, all served: the 200 flows of
# each family spread over the group, every one of its sockets answering
# through the port, and none lost
name="knotd: answers as without sluice, SO_REUSEPORT groups of 3 served, none lost"
knotd_v() { served "$1" "$2" 3; }
if command -v knotd >/dev/null && command -v dig >/dev/null; then
	mkdir -p "$D/knot"
	cat >"$D/knot.conf" <<EOF2
server:
    listen: [ 0.0.0.0@7355, ::@7355 ]
    rundir: "$D/knot"
    user: root
    udp-workers: 3
database:
    storage: "$D/knot"
log:
  - target: stderr
    any: info
zone:
  - domain: sluice.test
    file: "$D/zone"
    storage: "$D/knot"
    journal-content: none
EOF2
	check knotd 7355 "$name" knotd_v knotd -c "$D/knot.conf"
else
	t_skip "$name" "knotd (knot) or dig not installed"
fi
t_done
