#!/usr/bin/env bash
# RoCEv2 against perftest on Linux's rxe, in the lab (scripts/lab.sh), as
# root (TAP). perftest's own tools run in the guest on rxe0; sluice speaks
# their exchange (--oob perftest) on the tap's side of the link:
#   - each perftest client (ib_write_bw, ib_read_bw, ib_send_bw,
#     ib_atomic_bw, ib_write_lat, ib_read_lat) against `sluice rdma server`
#     on a udp: port, on an xdp: port, and with 1% loss both ways on
#     sluice's udp: port;
#   - each sluice test (write-bw, read-bw, send-bw, write-lat, read-lat)
#     against the perftest server, on udp:, on xdp:, and with 1% loss;
#   - a write past the end of sluice's region gets the NAK the spec names:
#     perftest's client reports REM_ACCESS_ERR (status 10);
#   - a 4096-byte path MTU, negotiated both ways once the link carries it;
#   - WRITE then READ back: `sluice rdma write-bw --verify` against
#     tests/lab/verbs_peer.py (rdma-core's pyverbs on rxe, a region that
#     allows READ), on udp:, xdp: and with loss; sluice checks what it reads
#     back, the peer checks its own memory.
# Data checked where perftest's pattern is known: write_lat's zeros with the
# count in the last byte, each way; the sum of ib_atomic_bw's
# fetch-and-adds; the count and size of ib_send_bw's messages. Speeds
# under TCG mean nothing and none is reported.
#
#   test_lab_perftest.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: test_lab_perftest.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: test_lab_perftest.sh PATH/TO/sluice SOURCE_ROOT}
SLUICE=$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")
ROOT=$(cd "$ROOT" && pwd)
. "$ROOT/tests/tools/lib.sh"
. "$ROOT/tests/lab/lib.sh"
export SLUICE_NO_STATUS=1
LAB=$ROOT/scripts/lab.sh
D=$T_DIR
HOST=10.78.0.1 GUEST=10.78.0.2
N=40 # iterations of every run: TCG is slow, and a few suffice

# id  who-serves  perftest-tool  sluice-path  extra
#   srv: sluice rdma server, perftest client in the guest
#   cli: sluice rdma TEST, perftest server in the guest
CASES="
1 srv ib_write_bw udp -
2 srv ib_read_bw udp -
3 srv ib_send_bw udp -
4 srv ib_atomic_bw udp -
5 srv ib_write_lat udp -
6 srv ib_read_lat udp -
7 srv ib_write_bw xdp -
8 srv ib_read_bw xdp -
9 srv ib_send_bw xdp -
10 srv ib_atomic_bw xdp -
11 srv ib_write_lat xdp -
12 srv ib_read_lat xdp -
13 srv ib_write_bw loss -
14 srv ib_read_bw loss -
15 srv ib_send_bw loss -
16 srv ib_atomic_bw loss -
17 srv ib_write_lat loss -
18 srv ib_read_lat loss -
19 cli ib_write_bw udp -
20 cli ib_read_bw udp -
21 cli ib_send_bw udp -
22 cli ib_write_lat udp -
23 cli ib_read_lat udp -
24 cli ib_write_bw xdp -
25 cli ib_read_bw xdp -
26 cli ib_send_bw xdp -
27 cli ib_write_lat xdp -
28 cli ib_read_lat xdp -
29 cli ib_write_bw loss -
30 cli ib_read_bw loss -
31 cli ib_send_bw loss -
32 cli ib_write_lat loss -
33 cli ib_read_lat loss -
34 srv ib_write_bw udp prot
35 srv ib_write_bw udp mtu
36 cli ib_write_bw udp mtu
37 cli ib_write_bw udp verify
38 cli ib_write_bw xdp verify
39 cli ib_write_bw loss verify
"
sl_test() { # perftest tool -> sluice test
	case $1 in
	ib_write_bw) echo write-bw ;; ib_read_bw) echo read-bw ;;
	ib_send_bw) echo send-bw ;; ib_write_lat) echo write-lat ;;
	ib_read_lat) echo read-lat ;; *) echo "?" ;;
	esac
}
size_of() { # bandwidth runs move 16 KiB messages; the rest perftest's default
	case $1 in *_bw) [ "$1" = ib_atomic_bw ] && echo 8 || echo 16384 ;; *) echo 2 ;; esac
}
name_of() { # id who tool path extra
	local n
	case $2 in
	srv) n="perftest $3 (rxe) -> sluice rdma server --oob perftest on $4:" ;;
	cli) n="sluice rdma $(sl_test "$3") on $4: --oob perftest -> perftest $3 (rxe) server" ;;
	esac
	case $5 in
	prot) n="$n writing past the region: perftest sees REM_ACCESS_ERR" ;;
	mtu) n="$n with a 4096-byte path MTU" ;;
	verify) n="sluice rdma write-bw --verify on $4: -> verbs_peer.py (pyverbs on rxe): WRITE, READ back, both sides check every byte" ;;
	esac
	echo "${n/on loss:/on udp: with 1% loss both ways}"
}
NAMES=()
while read -r id who tool path extra; do
	[ -n "$id" ] && NAMES+=("lab: rdma: $(name_of "$id" "$who" "$tool" "$path" "$extra")")
done <<<"$CASES"
lab_start lpt ib_write_bw
/usr/bin/python3 -c "import pyverbs" 2>/dev/null || skip_all "python3-pyverbs is not installed (scripts/deps.sh installs it)"
ns_up

spec_of() {
	case $1 in
	udp) echo "udp:$HOST:4791" ;;
	xdp) echo "xdp:sl-labtap,match=udp:4791" ;;
	loss) echo "udp:$HOST:4791,fault=drop:0.01,seed=$2" ;;
	esac
}
# the tap's side: one sluice at a time, in the order of CASES; a server
# says it listens with a file the guest waits for, a client dials until
# the guest's perftest server listens
(
	lab_tap_up "$HOST"
	for i in $(seq 1200); do [ -e "$D/rxe-up" ] && break; sleep 0.1; done
	while read -r id who tool path extra; do
		[ -n "$id" ] || continue
		spec=$(spec_of "$path" "$id")
		size=$(size_of "$tool")
		opts=()
		[ "$extra" = prot ] && opts=(--buffer 4096) && size=4096
		if [ "$extra" = mtu ]; then
			ip -n "$NS" link set sl-labtap mtu 9000
			for i in $(seq 600); do [ -e "$D/mtu-$id" ] && break; sleep 0.1; done
		fi
		[ "$extra" = verify ] && opts=(--verify)
		if [ "$who" = srv ]; then
			ip netns exec "$NS" timeout 150 "$SLUICE" rdma server "$spec" \
				--oob perftest --tool "$tool" --size "$size" --iters $N \
				"${opts[@]}" --timeout 100 --json \
				>"$D/pt-$id.json" 2>"$D/pt-$id.err" &
			p=$!
			sleep 1
			touch "$D/ready-$id"
			wait $p
		else
			ip netns exec "$NS" timeout 150 "$SLUICE" rdma "$(sl_test "$tool")" \
				"$spec" --oob perftest --to "$GUEST" --size "$size" \
				--iters $N "${opts[@]}" --timeout 100 --json \
				>"$D/pt-$id.json" 2>"$D/pt-$id.err"
		fi
		echo "$id" >"$D/host-done-$id"
	done <<<"$CASES"
) &
T_PIDS="$T_PIDS $!"

guest_cmd="
idx=\$($ROOT/scripts/lab_rxe.sh)
echo gid-index=\$idx
touch $D/rxe-up
while read -r id who tool path extra; do
	[ -n \"\$id\" ] || continue
	case \$tool in *_bw) [ \$tool = ib_atomic_bw ] && size=8 || size=16384 ;; *) size=2 ;; esac
	n=$N
	opts=
	[ \"\$extra\" = prot ] && size=65536 && n=5
	if [ \"\$extra\" = mtu ]; then
		ip link set eth0 mtu 9000
		sleep 1
		opts='-m 4096'
		ibv_devinfo -d rxe0 | grep active_mtu
		touch $D/mtu-\$id
	fi
	if [ \$who = srv ]; then
		i=0; while [ ! -e $D/ready-\$id ] && [ \$i -lt 1500 ]; do sleep 0.1; i=\$((i + 1)); done
		timeout 120 \$tool -d rxe0 -x \$idx -F -n \$n -s \$size \$opts $HOST >$D/g-\$id.out 2>&1
	elif [ \"\$extra\" = verify ]; then
		timeout 120 /usr/bin/python3 $ROOT/tests/lab/verbs_peer.py rxe0 \$idx --size \$size --iters \$n >$D/g-\$id.out 2>&1
	else
		timeout 120 \$tool -d rxe0 -x \$idx -F -n \$n -s \$size \$opts >$D/g-\$id.out 2>&1
	fi
	echo \"case \$id: rc=\$?\"
	# the next case starts when the tap's side is done with this one
	i=0; while [ ! -e $D/host-done-\$id ] && [ \$i -lt 1500 ]; do sleep 0.1; i=\$((i + 1)); done
done <<'EOF'
$CASES
EOF
"
"$LAB" run --netns "$NS" --addr "$GUEST/24" --share "$D" --timeout 580 -- "$guest_cmd" >"$D/guest.out" 2>&1
rc=$?

k=0
while read -r id who tool path extra; do
	[ -n "$id" ] || continue
	name=${NAMES[$k]}
	k=$((k + 1))
	j=$D/pt-$id.json
	g=$(tail -n 3 "$D/g-$id.out" 2>/dev/null | tr '\n' ' ')
	why="guest rc=$rc $(grep "^case $id:" "$D/guest.out") $g $(head -c 800 "$D/pt-$id.err" 2>/dev/null)"
	if [ "$extra" = verify ]; then
		if grep -q "^case $id: rc=0" "$D/guest.out" &&
			t_json "$D/g-$id.out" "j['bad_bytes'] == 0 and j['checked_bytes'] > 0 and j['peer_iters'] == $N" >"$D/why" 2>&1 &&
			t_json "$j" "j['iters'] == $N and j['bad'] == 0 and j['read_back_bytes'] > 0" >>"$D/why" 2>&1; then
			t_ok "$name ($(python3 -c '
import json, sys
g = json.load(open(sys.argv[1])); j = json.load(open(sys.argv[2]))
print("%d bytes read back by sluice, %d checked in rxe memory by pyverbs, mtu %d, retransmits %d, dropped by fault= %d" % (
    j["read_back_bytes"], g["checked_bytes"], j["mtu"], j["qp"]["retransmits"],
    j["port"]["xstats"].get("fault_dropped", 0)))' "$D/g-$id.out" "$j"))"
		else
			t_fail "$name" "$why $(head -c 600 "$D/why")"
		fi
		continue
	fi
	if [ "$extra" = prot ]; then
		if grep -q "Failed status 10" "$D/g-$id.out" 2>/dev/null &&
			t_json "$j" 'j["qp"]["err_naks_sent"] >= 1 and j["peer_left_early"]' >"$D/why" 2>&1; then
			t_ok "$name ($(grep -o 'Failed status 10' "$D/g-$id.out" | head -n 1), sluice sent $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["qp"]["err_naks_sent"])' "$j") access-error NAK)"
		else
			t_fail "$name" "$why $(head -c 600 "$D/why")"
		fi
		continue
	fi
	want_mtu=1024
	[ "$extra" = mtu ] && want_mtu=4096
	if [ "$who" = srv ]; then
		case $tool in
		ib_send_bw) cond="j['recvs'] == $N" ;;
		ib_write_bw | ib_read_bw) cond="j['peer_iters'] == $N" ;;
		*) cond="True" ;;
		esac
	else
		cond="j['iters'] == $N"
	fi
	if grep -q "^case $id: rc=0" "$D/guest.out" &&
		t_json "$j" "$cond and j['bad'] == 0 and j['mtu'] == $want_mtu" >"$D/why" 2>&1; then
		t_ok "$name ($(python3 -c '
import json, sys
j = json.load(open(sys.argv[1])); q = j["qp"]; p = j["port"]
checked = {"ib_atomic_bw": "atomics summed", "ib_write_lat": "bytes checked",
           "ib_send_bw": "messages counted" if sys.argv[3] == "srv" else ""}.get(sys.argv[2], "")
x = p.get("xstats", {})
print("mtu %d, %s%sretransmits %d, dropped by fault= %d, rx_bad_icrc %d" % (
    j["mtu"], checked, ", " if checked else "", q["retransmits"],
    x.get("fault_dropped", 0), q["rx_bad_icrc"]))' "$j" "$tool" "$who"))"
	else
		t_fail "$name" "$why $(head -c 600 "$D/why")"
	fi
done <<<"$CASES"
t_done
