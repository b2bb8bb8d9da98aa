#!/usr/bin/env bash
# The lab (scripts/lab.sh) and what it is for, as root (TAP):
#   1. a guest boots on the fetched kernel and runs a command, and says
#      which kernel and which acceleration (KVM or TCG) it had
#   2. Linux's soft-RoCE in the guest: rdma_rxe on its virtio-net NIC,
#      PORT_ACTIVE with a 4096-byte max MTU, seen by the host's rdma-core
#      (ibv_devinfo) running in the guest
#   3. a kernel UDP client in the guest, across virtio-net and a tap, gets
#      every reply, byte for byte, from `sluice echo` on udp:, packet: and
#      xdp: ports on the tap (the guest's NIC leaves checksums partial for
#      the host to finish, like veth), and its kernel counts no checksum
#      error
#   5. RoCEv2 with Linux's rxe: rdma-core's ibv_rc_pingpong in the guest
#      and `sluice rdma pingpong` on the tap's side, each as client and as
#      server, over udp: and xdp: ports, one run with 1% loss on sluice's
#      port; every message's bytes checked (-c / --chk) on both sides
#   4. AF_XDP zero-copy on the guest's two-queue virtio-net: a zc sink on
#      both queues gets every datagram a kernel socket on the tap's side
#      sends, a zc gen sends every datagram to one; mode=auto picks zc; a
#      port on one queue warns where the other's traffic goes; on a NIC without the DMA API (no
#      iommu_platform) doctor and the refusal of mode=zc both say so
# The tap lives in a namespace of the test's own (sl-lab<PID>), removed on
# exit even on failure. Without root, qemu or a reachable kernel package
# every test is skipped with the reason. Speeds under TCG mean nothing and
# none is reported.
#
#   test_lab.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: test_lab.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: test_lab.sh PATH/TO/sluice SOURCE_ROOT}
SLUICE=$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")
ROOT=$(cd "$ROOT" && pwd)
. "$ROOT/tests/tools/lib.sh"
. "$ROOT/tests/lab/lib.sh"
export SLUICE_NO_STATUS=1
LAB=$ROOT/scripts/lab.sh
PEER=$ROOT/tests/tools/udp_peer.py
D=$T_DIR
NAMES=("lab: a guest boots and runs a command"
	"lab: soft-RoCE (rxe) active in the guest, seen by rdma-core"
	"lab: guest kernel client <-> sluice echo udp: over virtio-net"
	"lab: guest kernel client <-> sluice echo packet: over virtio-net"
	"lab: guest kernel client <-> sluice echo xdp: over virtio-net"
	"lab: the guest's kernel counts no UDP checksum error"
	"lab: zero-copy: sluice sink xdp:eth0,mode=zc,queues=0-1 in the guest gets every datagram"
	"lab: mode=auto picks zero-copy on the guest's virtio-net"
	"lab: a port on one of two queues warns where the other's traffic goes"
	"lab: zero-copy transmit: sluice gen xdp:eth0,mode=zc in the guest -> a kernel socket gets every datagram"
	"lab: a NIC without the DMA API: doctor and mode=zc say why zero-copy cannot work"
	"lab: rdma: ibv_rc_pingpong (rxe) client <-> sluice rdma pingpong server on udp:"
	"lab: rdma: ibv_rc_pingpong (rxe) client <-> sluice rdma pingpong server on xdp:"
	"lab: rdma: ibv_rc_pingpong (rxe) client <-> sluice server on udp: with 1% loss"
	"lab: rdma: sluice rdma pingpong client on udp: <-> ibv_rc_pingpong (rxe) server"
	"lab: rdma: sluice rdma pingpong client on xdp: <-> ibv_rc_pingpong (rxe) server")
lab_start lab
v=$LAB_KERNEL

# ---- 1 ---------------------------------------------------------------------
start=$(date +%s.%N)
"$LAB" run --timeout 240 -- 'uname -r; cat /proc/cmdline' >"$D/boot.out" 2>"$D/boot.err"
rc=$?
took=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
accel=$("$LAB" info 2>/dev/null | sed -n 's/^acceleration: //p')
if [ $rc -eq 0 ] && grep -qx "$v" "$D/boot.out"; then
	t_ok "${NAMES[0]} (Linux $v, $accel, ${took} s from start to power-off)"
else
	t_fail "${NAMES[0]}" "rc=$rc $(cat "$D/boot.out" "$D/boot.err" | tail -n 20)"
fi

# ---- 2, 3 ------------------------------------------------------------------
ns_up
HOST=10.78.0.1 GUEST=10.78.0.2
# sluice on the tap once the guest made it: three echoes at once, one per
# path, each on its own port
(
	lab_tap_up "$HOST"
	ip netns exec "$NS" socat -u UDP4-RECV:7502 /dev/null &
	ip netns exec "$NS" "$SLUICE" echo "udp:$HOST:7501" --json --duration 200 >"$D/echo-udp.json" 2>"$D/echo-udp.err" &
	ip netns exec "$NS" "$SLUICE" echo "packet:sl-labtap,match=udp:7502" --json --duration 200 >"$D/echo-packet.json" 2>"$D/echo-packet.err" &
	ip netns exec "$NS" "$SLUICE" echo "xdp:sl-labtap,match=udp:7503" --json --duration 200 >"$D/echo-xdp.json" 2>"$D/echo-xdp.err" &
	echo ready >"$D/host-ready"
	wait
) &
HOSTSIDE=$!
T_PIDS="$T_PIDS $HOSTSIDE"

guest_cmd="
modprobe -d \"\$SL_LAB_MODULES\" rdma_rxe && modprobe -d \"\$SL_LAB_MODULES\" ib_uverbs &&
	rdma link add rxe0 type rxe netdev eth0 && echo rxe-added
rdma link show rxe0/1
ibv_devinfo -d rxe0 -v 2>&1 | grep -E 'state:|max_mtu:|transport:|node_guid'
# wait for the host's echoes (their ports open on the tap)
i=0; while [ ! -e $D/host-ready ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
sleep 2
for port in 7501 7502 7503; do
	echo \"client \$port: \$(python3 $PEER echo-client $HOST \$port --count 50 --timeout 3)\"
done
echo \"nstat: \$(nstat -a | awk '\$1 ~ /^Udp(InCsumErrors|InErrors)\$/ { printf \"%s=%s \", \$1, \$2 }')\"
"
"$LAB" run --netns "$NS" --addr "$GUEST/24" --timeout 480 -- "$guest_cmd" >"$D/guest.out" 2>"$D/guest.err"
rc=$?
for p in $(pgrep -P $HOSTSIDE); do kill -INT "$p" 2>/dev/null; done
wait $HOSTSIDE 2>/dev/null

if grep -q "state ACTIVE" "$D/guest.out" && grep -q "PORT_ACTIVE" "$D/guest.out" &&
	grep -q "max_mtu:.*4096" "$D/guest.out"; then
	t_ok "${NAMES[1]} ($(grep -o 'link rxe0/1 state [A-Z]*' "$D/guest.out"))"
else
	t_fail "${NAMES[1]}" "rc=$rc $(cat "$D/guest.out" "$D/guest.err" | tail -n 30)"
fi
i=2
for p in udp packet xdp; do
	port=750$((i - 1))
	line=$(sed -n "s/^client $port: //p" "$D/guest.out")
	# how many replies the port had to complete: the guest's partial sums
	python3 -c '
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    x = j["ports"][0]["xstats"]
    print("# %s echo: %d received, tx_csum_sw %s, bad_csum %d" % (sys.argv[2],
          j["rx_packets"], x.get("tx_csum_sw", "- (the kernel fills them)"), j["bad_csum"]))
except Exception as e:
    print("# %s echo: no result (%s)" % (sys.argv[2], e))' "$D/echo-$p.json" $p
	if [ -n "$line" ] && python3 -c '
import json, sys
j = json.loads(sys.argv[1])
sys.exit(0 if j["answered"] == j["sent"] == 50 and j["mismatched"] == 0 else 1)' "$line"; then
		t_ok "${NAMES[$i]} (50/50)"
	else
		t_fail "${NAMES[$i]}" "client: ${line:-none}; echo: $(tail -c 600 "$D/echo-$p.json")"
	fi
	i=$((i + 1))
done
n=$(sed -n 's/^nstat: //p' "$D/guest.out")
if grep -q "^nstat:" "$D/guest.out" && ! echo "$n" | grep -Eq '=[1-9]'; then
	t_ok "${NAMES[5]}"
else
	t_fail "${NAMES[5]}" "nstat: ${n:-not read}"
fi
# ---- 4: zero-copy on the guest's NIC ----------------------------------------
ns_down
ns_up
rm -f "$D/zc-ready" "$D/auto-ready"
(
	lab_tap_up "$HOST"
	for r in zc auto; do
		for i in $(seq 1800); do [ -e "$D/$r-ready" ] && break; sleep 0.1; done
		ip netns exec "$NS" python3 "$PEER" send "$GUEST" 9000 --count 1000 --pps 500 >"$D/$r-sent" 2>&1
		echo done >"$D/$r-sent-done"
	done
	# then the other way: a zero-copy gen in the guest, a kernel socket here
	ip netns exec "$NS" python3 "$PEER" recv "$HOST" 9100 --idle 5 --max 200 \
		--ready "$D/recv-ready" >"$D/zc-gen-recv.json" 2>&1
) &
T_PIDS="$T_PIDS $!"
zc_cmd="
S=$SLUICE
for r in zc auto; do
	\$S sink \"xdp:eth0,mode=\$r,queues=0-1,match=udp:9000\" --json --idle 4 --duration 120 >$D/\$r.json 2>$D/\$r.err &
	pid=\$!
	# ready once its privileges are dropped, right before its loop
	i=0; while [ \$i -lt 300 ] && ! grep -q 'CapEff:.*0000000000000000' /proc/\$pid/status 2>/dev/null; do sleep 0.1; i=\$((i + 1)); done
	touch $D/\$r-ready
	wait \$pid
done
# a port on one of the two queues says where the rest of its traffic goes
\$S sink 'xdp:eth0,queue=0,match=udp:9001' --duration 1 >/dev/null 2>$D/oneq.err
# zero-copy transmit
i=0; while [ ! -e $D/recv-ready ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
\$S gen 'xdp:eth0,mode=zc,queues=0-1,match=udp:9101' --from $GUEST:9101 --to $HOST:9100 --count 1000 --rate 500 --json >$D/zc-gen.json 2>$D/zc-gen.err
"
"$LAB" run --netns "$NS" --queues 2 --addr "$GUEST/24" --share "$D" --timeout 480 -- "$zc_cmd" >"$D/zc.out" 2>&1
rc=$?
for r in zc auto; do
	if [ $r = zc ]; then n="${NAMES[6]}"; else n="${NAMES[7]}"; fi
	# the driver's counters: the zero-copy rings at work
	python3 -c '
import json, sys
try:
    j = json.load(open(sys.argv[1]))["port"]
    x = {k: v for k, v in j["xstats"].items() if v}
    print("# %s sink: xstats %s" % (sys.argv[2], x))
except Exception as e:
    print("# %s sink: no result (%s)" % (sys.argv[2], e))' "$D/$r.json" $r
	if t_json "$D/$r.json" "j['rx_packets'] == 1000 and 'zc' in j['port']['mode'] and j['port']['queues'] == 2" >"$D/why" 2>&1; then
		t_ok "$n (1000/1000, mode $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"]["mode"])' "$D/$r.json"))"
	else
		t_fail "$n" "rc=$rc $(head -c 1500 "$D/why") $(cat "$D/$r.err" 2>/dev/null | tail -n 5) $(tail -n 20 "$D/zc.out")"
	fi
done

if grep -q "queues=0-1 serves them all" "$D/oneq.err" 2>/dev/null; then
	t_ok "${NAMES[8]} ($(grep -o 'serves queue 0 of the 2 RX queues' "$D/oneq.err"))"
else
	t_fail "${NAMES[8]}" "$(cat "$D/oneq.err" 2>/dev/null || echo 'no output')"
fi

for i in $(seq 100); do [ -s "$D/zc-gen-recv.json" ] && break; sleep 0.1; done
if t_json "$D/zc-gen-recv.json" 'j["received"] == 1000 and j["gen"] == 1000' >"$D/why" 2>&1 &&
	t_json "$D/zc-gen.json" '"zc" in j["port"]["mode"]' >>"$D/why" 2>&1; then
	t_ok "${NAMES[9]} (1000/1000, mode zc)"
else
	t_fail "${NAMES[9]}" "$(cat "$D/why") $(tail -n 5 "$D/zc-gen.err" 2>/dev/null)"
fi

ns_down
ns_up
"$LAB" run --netns "$NS" --no-dma-api --addr "$GUEST/24" --timeout 300 -- \
	"$SLUICE doctor eth0 2>&1 | grep -A2 '^ *xdp-zc'; $SLUICE sink 'xdp:eth0,mode=zc,match=udp:9000' --duration 1 2>&1 | tail -n 2" \
	>"$D/nodma.out" 2>&1
if grep -q "xdp-zc *no" "$D/nodma.out" && [ "$(grep -c 'VIRTIO_F_ACCESS_PLATFORM' "$D/nodma.out")" -ge 2 ]; then
	sed 's/^/# /' "$D/nodma.out"
	t_ok "${NAMES[10]}"
else
	t_fail "${NAMES[10]}" "$(cat "$D/nodma.out")"
fi
# ---- 5: RoCEv2 against rxe and rdma-core ------------------------------------
ns_down
ns_up
PP="$SLUICE rdma pingpong"
(
	lab_tap_up "$HOST"
	for i in $(seq 600); do [ -e "$D/rxe-up" ] && break; sleep 0.1; done
	# sluice serves: the guest's client connects once told
	for r in udp xdp loss; do
		case $r in
		udp) spec="udp:$HOST:4791" ;;
		xdp) spec="xdp:sl-labtap,match=udp:4791" ;;
		loss) spec="udp:$HOST:4791,fault=drop:0.01,seed=7" ;;
		esac
		ip netns exec "$NS" timeout 200 $PP "$spec" --iters 20 --chk \
			--timeout 120 --json >"$D/pp-srv-$r.json" 2>"$D/pp-srv-$r.err" &
		p=$!
		sleep 1
		touch "$D/srv-$r-ready"
		wait $p
	done
	# sluice is the client of the guest's server (it dials until it
	# listens)
	for r in udp xdp; do
		case $r in
		udp) spec="udp:$HOST:4791" ;;
		xdp) spec="xdp:sl-labtap,match=udp:4791" ;;
		esac
		ip netns exec "$NS" timeout 200 $PP "$spec" --to "$GUEST" --iters 20 \
			--chk --timeout 120 --json >"$D/pp-cli-$r.json" 2>"$D/pp-cli-$r.err"
	done
) &
T_PIDS="$T_PIDS $!"
rdma_cmd="
idx=\$($ROOT/scripts/lab_rxe.sh)
echo gid-index=\$idx
touch $D/rxe-up
for r in udp xdp loss; do
	i=0; while [ ! -e $D/srv-\$r-ready ] && [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i + 1)); done
	timeout 150 ibv_rc_pingpong -d rxe0 -g \$idx -n 20 -c $HOST >$D/pp-guest-cli-\$r.out 2>&1
	echo \"guest client \$r: rc=\$?\"
done
for r in udp xdp; do
	timeout 150 ibv_rc_pingpong -d rxe0 -g \$idx -n 20 -c >$D/pp-guest-srv-\$r.out 2>&1
	echo \"guest server \$r: rc=\$?\"
done
"
"$LAB" run --netns "$NS" --addr "$GUEST/24" --share "$D" --timeout 560 -- "$rdma_cmd" >"$D/rdma.out" 2>&1
rc=$?
wait_for() { local i; for i in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
k=11
for r in udp xdp loss; do
	wait_for "$D/pp-srv-$r.json"
	if grep -q "guest client $r: rc=0" "$D/rdma.out" &&
		t_json "$D/pp-srv-$r.json" 'j["sent"] == j["received"] == 20 and j["checked"] and j["bad_messages"] == 0' >"$D/why" 2>&1; then
		t_ok "${NAMES[$k]} (20 x 4 KiB each way, bytes checked; $(python3 -c 'import json,sys; q=json.load(open(sys.argv[1]))["qp"]; print("retransmits %d, rx_icrc_id_unseen %d, rx_bad_icrc %d" % (q["retransmits"], q["rx_icrc_id_unseen"], q["rx_bad_icrc"]))' "$D/pp-srv-$r.json"))"
	else
		t_fail "${NAMES[$k]}" "rc=$rc $(grep "guest client $r" "$D/rdma.out") $(cat "$D/pp-guest-cli-$r.out" 2>/dev/null | tail -n 4) $(head -c 600 "$D/why") $(cat "$D/pp-srv-$r.err" 2>/dev/null)"
	fi
	k=$((k + 1))
done
for r in udp xdp; do
	wait_for "$D/pp-cli-$r.json"
	if grep -q "guest server $r: rc=0" "$D/rdma.out" &&
		t_json "$D/pp-cli-$r.json" 'j["sent"] == j["received"] == 20 and j["bad_messages"] == 0' >"$D/why" 2>&1; then
		t_ok "${NAMES[$k]} (20 x 4 KiB each way, echoes checked)"
	else
		t_fail "${NAMES[$k]}" "rc=$rc $(grep "guest server $r" "$D/rdma.out") $(cat "$D/pp-guest-srv-$r.out" 2>/dev/null | tail -n 4) $(head -c 600 "$D/why") $(cat "$D/pp-cli-$r.err" 2>/dev/null)"
	fi
	k=$((k + 1))
done
t_done
