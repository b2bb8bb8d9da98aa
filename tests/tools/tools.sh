#!/usr/bin/env bash
# End-to-end tests of the `sluice` command over UDP loopback ports (no
# privileges needed): errors of use and of spec, gen -> sink without loss,
# loss counted exactly under a fault decorator, ping/echo percentiles,
# capture read back by tshark, fwd between pcap ports, a clean stop on
# SIGINT; privileges: --keep-privileges and --user taken by every
# subcommand, the messages of a port that needs a privilege (as nobody),
# and, as root, what a running command holds after setup. Prints TAP.
#
#   tools.sh PATH/TO/sluice [SOURCE_ROOT]
#
# gen and sink run as two processes over udp:127.0.0.1 ports rather than
# over a pair: a pair only links ports of one process.
set -u
SLUICE=${1:?usage: tools.sh PATH/TO/sluice}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1

# ports of our own, so parallel runs do not meet
P=$((20000 + ($$ * 7) % 30000))
D=$T_DIR

# ---- errors -----------------------------------------------------------
"$SLUICE" gen udp:127.0.0.1:0 --to 127.0.0.1:9 --bogus >/dev/null 2>"$D/e1"
rc=$?
if [ $rc -eq 2 ] && grep -q "sluice: gen: unknown option '--bogus'" "$D/e1"; then
	t_ok "bad option: exit 2, names the option"
else t_fail "bad option: exit 2, names the option" "rc=$rc $(cat "$D/e1")"; fi

"$SLUICE" gen udp:127.0.0.1:0 --to 127.0.0.1:9 --size 10 >/dev/null 2>"$D/e2"
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--size 10: too small: a UDP frame needs at least 42 bytes" "$D/e2"; then
	t_ok "bad --size: exit 2, says why"
else t_fail "bad --size: exit 2, says why" "rc=$rc $(cat "$D/e2")"; fi

"$SLUICE" sink udp:1.2.3:80 --duration 1 >/dev/null 2>"$D/e3"
rc=$?
if [ $rc -eq 1 ] && grep -q "sluice: sink: udp:1.2.3:80: bad address '1.2.3'" "$D/e3"; then
	t_ok "bad spec: exit 1 with the library's message"
else t_fail "bad spec: exit 1 with the library's message" "rc=$rc $(cat "$D/e3")"; fi

"$SLUICE" capture nosuch:x -w "$D/x.pcap" >/dev/null 2>"$D/e4"
rc=$?
if [ $rc -eq 1 ] && grep -q "unknown driver 'nosuch'" "$D/e4"; then
	t_ok "unknown driver: exit 1, names it"
else t_fail "unknown driver: exit 1, names it" "rc=$rc $(cat "$D/e4")"; fi

"$SLUICE" frobnicate >/dev/null 2>&1
rc=$?
if [ $rc -eq 2 ]; then t_ok "unknown command: exit 2"; else t_fail "unknown command: exit 2" "rc=$rc"; fi

# ---- privileges: options and messages ----------------------------------
ROOT_=0
[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && ROOT_=1
bad=
for c in gen sink fwd echo ping capture bench doctor; do
	"$SLUICE" $c --keep-privileges --help >"$D/h.$c" 2>&1 || bad="$bad $c(rc)"
	case $c in
	bench | doctor) ;;
	*) grep -q -- "--keep-privileges" "$D/h.$c" || bad="$bad $c(help)" ;;
	esac
done
if [ -z "$bad" ]; then t_ok "--keep-privileges accepted by every subcommand, in each packet command's --help"
else t_fail "--keep-privileges accepted by every subcommand, in each packet command's --help" "$bad"; fi

bad=
"$SLUICE" doctor --user nobody >/dev/null 2>"$D/u1"
[ $? -eq 2 ] && grep -q "sluice: doctor: --user: doctor keeps its privileges" "$D/u1" || bad="$bad doctor:$(cat "$D/u1")"
"$SLUICE" sink udp:127.0.0.1:9 --user >/dev/null 2>"$D/u2"
[ $? -eq 2 ] && grep -q "sluice: sink: --user: needs a value" "$D/u2" || bad="$bad novalue:$(cat "$D/u2")"
"$SLUICE" sink udp:127.0.0.1:9 --user nobody --keep-privileges >/dev/null 2>"$D/u3"
[ $? -eq 2 ] && grep -q "give one of them" "$D/u3" || bad="$bad both:$(cat "$D/u3")"
if [ -z "$bad" ]; then t_ok "--user: misuse is a usage error (exit 2) naming the option"
else t_fail "--user: misuse is a usage error (exit 2) naming the option" "$bad"; fi

# without privileges there is nothing to drop: no message, no failure
P0=$((P + 5))
if [ $ROOT_ -eq 1 ]; then
	t_nobody "$SLUICE" sink "udp:127.0.0.1:$P0" --duration 0.3 >/dev/null 2>"$D/np.err"
	rc=$?
elif [ "$(t_status $$ CapEff)" = 0000000000000000 ]; then
	"$SLUICE" sink "udp:127.0.0.1:$P0" --duration 0.3 >/dev/null 2>"$D/np.err"
	rc=$?
else
	rc=skip
fi
if [ "$rc" = skip ]; then t_skip "unprivileged sink: runs, prints nothing about privileges" "running with capabilities but not as root"
elif [ "$rc" -eq 0 ] && [ ! -s "$D/np.err" ]; then t_ok "unprivileged sink: runs, prints nothing about privileges"
else t_fail "unprivileged sink: runs, prints nothing about privileges" "rc=$rc $(cat "$D/np.err")"; fi

# A port that needs a privilege: the message names it and the setcap line.
# Only as nobody (which fails before anything is attached): never as root
# on the host's lo, which would attach an XDP program to an interface that
# is not ours.
for spec in packet:lo xdp:lo,match=udp:9 auto:lo,risk=high; do
	case $spec in
	packet:*) want="CAP_NET_RAW.*setcap cap_net_raw" ;;
	xdp:*) want="CAP_NET_ADMIN.*CAP_BPF.*setcap cap_net_admin,cap_bpf" ;;
	auto:*) want="xdp-copy: needs CAP_NET_ADMIN.*setcap .*packet: needs CAP_NET_RAW.*setcap cap_net_raw" ;;
	esac
	name="as nobody, sink $spec: exit 1, names the privilege and the setcap line"
	if [ $ROOT_ -ne 1 ]; then
		t_skip "$name" "needs root to become nobody (setpriv)"
		continue
	fi
	t_nobody "$SLUICE" sink "$spec" --duration 1 >/dev/null 2>"$D/perm.err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "^sluice: sink: $spec: .*$want" "$D/perm.err"; then t_ok "$name"
	else t_fail "$name" "rc=$rc $(cat "$D/perm.err")"; fi
done

# t_privs PID NAME CAPEFF_ZERO SECCOMP [UID]: as root, what the running
# command PID holds after setup (skipped without root: nothing to drop)
t_privs() {
	local pid=$1 name=$2 zero=$3 sc=$4 uid=${5:-} e s u
	if [ $ROOT_ -ne 1 ]; then t_skip "$name" "not root: nothing to drop"; return; fi
	e=$(t_status "$pid" CapEff) s=$(t_status "$pid" Seccomp) u=$(t_status "$pid" Uid)
	if { [ "$zero" = yes ] && [ "$e" = 0000000000000000 ] ||
		{ [ "$zero" = no ] && [ -n "$e" ] && [ "$e" != 0000000000000000 ]; }; } &&
		[ "$s" = "$sc" ] && { [ -z "$uid" ] || [ "$u" = "$uid" ]; }; then
		t_ok "$name"
	else t_fail "$name" "CapEff=$e Seccomp=$s Uid=$u"; fi
}

# ---- gen -> sink, no loss ----------------------------------------------
t_bg "$D/s1.json" "$SLUICE" sink "udp:127.0.0.1:$P" --json --idle 2 --duration 20
sink=$T_LAST
t_udp_ready $P
[ $ROOT_ -eq 1 ] && t_wait_dropped $sink
t_privs $sink "root sink after setup: no capabilities, seccomp filter on" yes $T_SECCOMP
# json-c seeds its hash on first use from getrandom or /dev/urandom: in a
# fresh VM the first can fail and, behind the filter, the second prints
# "error opening /dev/urandom"; the tools seed it before the filter
name="nothing draws random numbers behind the seccomp filter (json-c seeded before)"
if [ $ROOT_ -ne 1 ] || [ "$T_SECCOMP" != 2 ]; then
	t_skip "$name" "not root or no seccomp filter: nothing installed"
else
	strace -f -e trace=getrandom,openat,seccomp -o "$D/st.txt" "$SLUICE" sink \
		"udp:127.0.0.1:$((P + 7))" --duration 0.3 --json >/dev/null 2>"$D/st.err"
	after=$(awk '/SECCOMP_SET_MODE_FILTER.*len=/ { on = 1; next } on && /getrandom|urandom/' "$D/st.txt")
	if grep -q 'SECCOMP_SET_MODE_FILTER.*len=' "$D/st.txt" && [ -z "$after" ] && [ ! -s "$D/st.err" ]; then
		t_ok "$name"
	else
		t_fail "$name" "after the filter: ${after:-nothing} $(grep -c SECCOMP_SET_MODE_FILTER "$D/st.txt") filters; stderr: $(cat "$D/st.err")"
	fi
fi
"$SLUICE" gen udp:127.0.0.1:0 --to "127.0.0.1:$P" --count 2000 --rate 20000 \
	--size 128 --flows 4 --json >"$D/g1.json" 2>"$D/g1.err"
t_wait $sink 20
t_check "gen reports what it sent" t_json "$D/g1.json" \
	'j["tx_packets"] == 2000 and j["timestamps"] and j["pps"] > 0'
t_check "gen -> sink over udp loopback: 2000 frames, no loss" t_json "$D/s1.json" \
	'j["rx_packets"] == 2000 and j["gen_packets"] == 2000 and j["lost"] == 0 and j["duplicates"] == 0 and j["foreign"] == 0 and j["rx_bytes"] == 2000 * 128'
t_check "sink: one-way latency percentiles present and ordered" t_json "$D/s1.json" \
	'(lambda l: l["samples"] == 2000 and 0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p99.9"] <= l["max"])(j["latency_us"])'

# ---- loss counted exactly under fault=drop -----------------------------
P2=$((P + 1))
t_bg "$D/s2.json" "$SLUICE" sink "udp:127.0.0.1:$P2,fault=drop:0.1,seed=7" --json --idle 2 --duration 20
sink=$T_LAST
t_udp_ready $P2
"$SLUICE" gen udp:127.0.0.1:0 --to "127.0.0.1:$P2" --count 3000 --rate 20000 \
	--size 100 >/dev/null 2>"$D/g2.err"
t_wait $sink 20
t_check "fault=drop:0.1: sink's lost equals the decorator's fault_dropped" t_json "$D/s2.json" \
	'j["fault_dropped"] > 150 and j["lost"] == j["fault_dropped"] and j["gen_packets"] + j["lost"] == 3000 and j["duplicates"] == 0'

# ---- ping / echo -----------------------------------------------------
P3=$((P + 2))
if [ $ROOT_ -eq 1 ]; then user="--user nobody"; else user=; fi
t_bg "$D/echo.json" "$SLUICE" echo "udp:127.0.0.1:$P3" --json --duration 20 $user
echo_pid=$T_LAST
t_udp_ready $P3
[ $ROOT_ -eq 1 ] && t_wait_dropped $echo_pid
t_privs $echo_pid "echo --user nobody: runs as nobody, no capabilities, filtered" yes $T_SECCOMP 65534
"$SLUICE" ping udp:127.0.0.1:0 --to "127.0.0.1:$P3" --count 200 --interval 200 \
	--json >"$D/ping.json" 2>"$D/ping.err"
rc=$?
kill -INT $echo_pid
t_wait $echo_pid 5
t_check "ping against echo: all answered, rtt percentiles ordered" t_json "$D/ping.json" \
	'j["sent"] == 200 and j["received"] == 200 and j["lost"] == 0 and (lambda r: r["samples"] == 200 and 0 < r["p50"] <= r["p90"] <= r["p99"] <= r["p99.9"] <= r["max"])(j["rtt_us"])'
t_check "echo stopped by SIGINT still prints its result" t_json "$D/echo.json" \
	'j["rx_packets"] == 200 and j["tx_packets"] == 200 and j["interrupted"]'

# ---- capture ------------------------------------------------------------
P4=$((P + 3))
t_bg "$D/cap.out" "$SLUICE" capture "udp:127.0.0.1:$P4" -w "$D/cap.pcap" --count 100 --duration 20
cap=$T_LAST
t_udp_ready $P4
"$SLUICE" gen udp:127.0.0.1:0 --to "127.0.0.1:$P4" --count 100 --rate 10000 >/dev/null 2>&1
t_wait $cap 20
if ! command -v tshark >/dev/null; then
	t_skip "capture read back by tshark" "tshark not installed (scripts/deps.sh)"
	t_skip "fwd pcap -> pcap keeps every frame" "tshark not installed"
else
	n=$(tshark -r "$D/cap.pcap" -T fields -e frame.number 2>"$D/ts.err" | wc -l)
	if [ "$n" -eq 100 ]; then t_ok "capture: tshark reads back 100 frames"
	else t_fail "capture: tshark reads back 100 frames" "got $n: $(cat "$D/ts.err" "$D/cap.out.err")"; fi
	"$SLUICE" fwd "pcap:$D/cap.pcap" "pcap:$D/fwd.pcap,write" --json >"$D/fwd.json" 2>&1
	n=$(tshark -r "$D/fwd.pcap" -T fields -e udp.dstport 2>/dev/null | grep -c "^$P4\$")
	if [ "$n" -eq 100 ] && t_json "$D/fwd.json" 'j["rx_packets"] == 100 and j["tx_packets"] == 100' >/dev/null; then
		t_ok "fwd pcap -> pcap keeps every frame"
	else t_fail "fwd pcap -> pcap keeps every frame" "got $n: $(cat "$D/fwd.json")"; fi
fi

# ---- l2fwd and --swap-ip on a replayed capture ---------------------------
"$SLUICE" fwd "pcap:$D/cap.pcap,capture=$D/l2.pcap" --json >"$D/l2.json" 2>&1
"$SLUICE" fwd "pcap:$D/cap.pcap,capture=$D/sw.pcap" --swap-ip --json >"$D/sw.json" 2>&1
if command -v tshark >/dev/null; then
	# the capture decorator records what came in, then what went out
	a=$(tshark -r "$D/l2.pcap" -T fields -e eth.src 2>/dev/null | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')
	b=$(tshark -r "$D/sw.pcap" -Y "udp.srcport == $P4 && ip.dst == 127.0.0.1" -T fields -e frame.number 2>/dev/null | wc -l)
	c=$(tshark -r "$D/sw.pcap" -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE -Y "ip.checksum.status == 2 || udp.checksum.status == 2" 2>/dev/null | wc -l)
	if [ "$a" = "100 100 " ]; then t_ok "l2fwd swaps MACs"; else t_fail "l2fwd swaps MACs" "eth.src counts: $a"; fi
	if [ "$b" -eq 100 ] && [ "$c" -eq 0 ]; then t_ok "fwd --swap-ip swaps ports, checksums stay valid"
	else t_fail "fwd --swap-ip swaps ports, checksums stay valid" "swapped $b, bad checksums $c"; fi
else
	t_skip "l2fwd swaps MACs" "tshark not installed"
	t_skip "fwd --swap-ip swaps ports" "tshark not installed"
fi

# ---- SIGTERM on a sink that got nothing -----------------------------------
P5=$((P + 4))
t_bg "$D/s5.json" "$SLUICE" sink "udp:127.0.0.1:$P5" --json --keep-privileges
sink=$T_LAST
t_udp_ready $P5
sleep 0.1
t_privs $sink "sink --keep-privileges: capabilities kept, no filter" no 0
kill -TERM $sink
t_wait $sink 5
rc=$?
if [ $rc -eq 0 ] && t_json "$D/s5.json" 'j["rx_packets"] == 0 and j["interrupted"] and j["latency_us"] is None' >/dev/null; then
	t_ok "sink stopped by SIGTERM exits 0 with its result"
else t_fail "sink stopped by SIGTERM exits 0 with its result" "rc=$rc $(cat "$D/s5.json")"; fi

t_done
