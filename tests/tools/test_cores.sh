#!/usr/bin/env bash
# --cores (tools/cores.h) end to end (root): a sink with --cores 0-1 on
# both queues of a 2-queue veth bed gets every frame of `sluice gen
# --flows 16`, both queues get some and the per-queue counters add up to
# the total; its worker threads hold no capability and run under the
# filter, each pinned to its core. A bad list, more cores than queues and
# a CPU outside the affinity get clear usage errors (exit 2), without
# root. The bed is named sl-tc<PID> and removed on exit, even on failure;
# only that bed is ever removed. Prints TAP.
#
#   test_cores.sh PATH/TO/sluice SOURCE_ROOT
set -u
SLUICE=${1:?usage: test_cores.sh PATH/TO/sluice SOURCE_ROOT}
ROOT=${2:?usage: test_cores.sh PATH/TO/sluice SOURCE_ROOT}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1
D=$T_DIR

# usage: exit 2 and a message that names the fault
usage() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$SLUICE" "$@" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q -- "$want"; then
		t_ok "$name"
	else
		t_fail "$name" "rc $rc: $out"
	fi
}
usage "--cores 1-0: a backwards range is a usage error" \
	"--cores: cpu list '1-0': range 1-0 is backwards" \
	sink udp:127.0.0.1:0 --cores 1-0
usage "--cores x: not a list" "--cores: cpu list 'x'" \
	fwd udp:127.0.0.1:0 --swap-ip --cores x
usage "--cores 0,0: a CPU twice" "cpu 0 twice" \
	echo udp:127.0.0.1:0 --cores 0,0
usage "--cores 4095: a CPU outside the affinity" \
	"cpu 4095 is not in this process's CPU affinity" \
	gen udp:127.0.0.1:0 --to 127.0.0.1:9 --cores 4095

if [ "$(nproc)" -lt 2 ]; then
	t_skip "--cores 0-1 on a 1-queue port: says to give it queues" "needs 2 CPUs"
else
	usage "--cores 0-1 on a 1-queue port: says to give it queues" \
		"2 cores for 1 queue(s) of udp:127.0.0.1:0: give the port as many queues (queues=0-1)" \
		sink udp:127.0.0.1:0 --cores 0-1
fi

N=2
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	for i in $(seq $N); do t_skip "2-queue bed $i" "needs root and iproute2 (network namespaces, veth)"; done
	t_done
	exit
fi
if [ "$(nproc)" -lt 2 ]; then
	for i in $(seq $N); do t_skip "2-queue bed $i" "needs 2 CPUs"; done
	t_done
	exit
fi

BED=sl-tc$$
BED=${BED:0:13}
bed_down() { "$ROOT/scripts/testbed.sh" down "$BED" >/dev/null 2>&1 || true; }
trap 'bed_down; t_cleanup' EXIT
trap 'exit 1' INT TERM
if ! "$ROOT/scripts/testbed.sh" up "$BED" --queues 2 --json >"$D/bed.json" 2>"$D/bed.err"; then
	for i in $(seq $N); do t_skip "2-queue bed $i" "the bed did not come up: $(head -1 "$D/bed.err")"; done
	t_done
	exit
fi
read -r NSA NSB IPB < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["a"]["netns"], j["b"]["netns"], j["b"]["ipv4"])' "$D/bed.json")
P=9000

# the sink on both queues of B, a worker on each core; the gen in A sends
# 16 flows through AF_PACKET, whose transmit queue (and so the veth peer's
# receive queue) follows each flow's hash
t_bg "$D/sink.json" ip netns exec "$NSB" "$SLUICE" sink \
	"xdp:$NSB,match=udp:$P,queues=0-1" --cores 0-1 --json --idle 2 --duration 20
sink=$T_LAST
if ! t_wait_dropped $sink 10; then
	wait $sink
	for i in $(seq $N); do t_skip "2-queue bed $i" "the xdp sink did not start: $(head -3 "$D/sink.json.err")"; done
	t_done
	exit
fi
# every thread: no capability, the filter, and the workers each on its CPU
# (they start right after the drop: wait for them)
for i in $(seq 100); do
	[ "$(ls /proc/$sink/task 2>/dev/null | wc -l)" -ge 3 ] && break
	sleep 0.05
done
threads=
for t in /proc/$sink/task/*; do
	threads="$threads $(awk '$1 == "Name:" { n = $2 } $1 == "CapEff:" { c = $2 } $1 == "Seccomp:" { s = $2 } $1 == "Cpus_allowed_list:" { a = $2 } END { print n "/" c "/" s "/" a }' "$t/status")"
done
ip netns exec "$NSA" "$SLUICE" gen "packet:$NSA" --to "$IPB:$P" --count 2000 \
	--rate 20000 --size 128 --flows 16 >"$D/gen.out" 2>&1
t_wait $sink 20
t_check "sink --cores 0-1 on 2 queues: every frame; per-queue counters add up, both queues got frames" \
	t_json "$D/sink.json" \
	'j["rx_packets"] == 2000 and j["lost"] == 0 and j["duplicates"] == 0 and len(j["queues"]) == 2 and sum(q["rx_packets"] for q in j["queues"]) == j["rx_packets"] and all(q["rx_packets"] > 0 for q in j["queues"]) and [q["core"] for q in j["queues"]] == [0, 1] and len(j["cores"]) == 2'
# (the workers start after the drop, when the filter refuses the prctl
# that would name them: all are "sluice")
want="/0000000000000000/$T_SECCOMP/0 /0000000000000000/$T_SECCOMP/1"
ok=1
for w in $want; do case "$threads " in *"$w "*) ;; *) ok=0 ;; esac; done
for t in $threads; do case $t in */0000000000000000/$T_SECCOMP/*) ;; *) ok=0 ;; esac; done
if [ $ok -eq 1 ]; then
	t_ok "sink --cores: workers pinned, no capability, under the filter"
else
	t_fail "sink --cores: workers pinned, no capability, under the filter" \
		"threads (name/CapEff/Seccomp/cpus):$threads; want $want"
fi

bed_down
t_done
