# Shared by the end-to-end scripts of the sluice command: TAP output,
# background processes that are always stopped, JSON field checks, a
# process's privileges read from /proc.
# Sourced; expects SLUICE (the binary) to be set.

T_N=0
T_FAIL=0
T_PIDS=
T_DIR=$(mktemp -d /tmp/sl-tools-t.XXXXXX)

t_ok() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
t_fail() {
	T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_N - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}
t_skip() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP $2"; }
# t_check NAME CMD...: ok when CMD succeeds; its output goes in the log
t_check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then t_ok "$name"; else t_fail "$name" "$out"; fi
}

t_cleanup() {
	local p
	for p in $T_PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $T_PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT
trap 'exit 1' INT TERM

# t_bg OUTFILE CMD...: start CMD in the background, output to OUTFILE;
# sets T_LAST to its pid
t_bg() {
	local out=$1
	shift
	"$@" >"$out" 2>"$out.err" &
	T_LAST=$!
	T_PIDS="$T_PIDS $T_LAST"
}

# t_wait PID [SECONDS]: wait for PID to exit (default 20 s), killing it
# past that; returns its exit status
t_wait() {
	local pid=$1 max=${2:-20} i=0 rc
	while kill -0 "$pid" 2>/dev/null && [ $i -lt $((max * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$pid" 2>/dev/null && kill -TERM "$pid"
	wait "$pid"
	rc=$?
	return $rc
}

# t_udp_ready PORT [NETNS]: wait until a UDP socket is bound to PORT
t_udp_ready() {
	local port=$1 ns=${2:-} i
	for i in $(seq 50); do
		if [ -n "$ns" ]; then
			ip netns exec "$ns" ss -Hlun "sport = :$port" | grep -q . && return 0
		else
			ss -Hlun "sport = :$port" | grep -q . && return 0
		fi
		sleep 0.1
	done
	return 1
}

# t_json FILE PYTHON-EXPR: evaluate EXPR with j = the parsed JSON of FILE;
# succeeds when it is true, prints the JSON otherwise
t_json() {
	python3 - "$1" "$2" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("not JSON:", e); print(open(sys.argv[1]).read()); sys.exit(1)
ok = eval(sys.argv[2])
if not ok:
    print("false:", sys.argv[2]); print(json.dumps(j, indent=1)[:3000])
sys.exit(0 if ok else 1)
PY
}

# t_status PID FIELD: one field of /proc/PID/status (CapEff, Seccomp, Uid:
# the first number), empty once PID is gone
t_status() {
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null
}

# The Seccomp mode of a sluice packet command after setup: 2 (a filter),
# but 0 in a sanitizer build, which installs none (LeakSanitizer's check at
# exit needs calls the filter forbids)
T_SECCOMP=2
grep -aq __asan_init "$SLUICE" 2>/dev/null && T_SECCOMP=0

# t_wait_dropped PID [SECONDS]: wait (default 10 s) until the root-started
# sluice packet command PID has dropped its capabilities and installed its
# filter, which it does last, right before its loop: then its ports are
# open. Fails when PID exits or the time is up.
t_wait_dropped() {
	local pid=$1 max=${2:-10} i
	for i in $(seq $((max * 20))); do
		[ "$(t_status "$pid" CapEff)" = 0000000000000000 ] &&
			[ "$(t_status "$pid" Seccomp)" = $T_SECCOMP ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# t_nobody CMD...: run CMD as user nobody with no capability in any set
# (needs root to switch)
t_nobody() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		--inh-caps=-all --bounding-set=-all "$@"
}

# the beds in T_BEDS down (a script adds the names of more it makes)
t_beds_down() {
	local b
	for b in $T_BEDS; do
		"$ROOT/scripts/testbed.sh" down "$b" >/dev/null 2>&1 || true
	done
}
# t_bed PREFIX FORMAT ITEM...: a veth test bed named PREFIX<PID>
# (scripts/testbed.sh, described in $T_DIR/bed.json), removed on exit,
# even on failure; sets NSA NSB IFA IFB IPA IPB IP6A IP6B, and A and B
# run a command in namespace A or B. Where there can be none (not root,
# no iproute2, the bed did not come up), the tests named FORMAT (printf)
# of each ITEM are skipped with the reason and the script ends. Needs
# ROOT (the source tree).
t_bed() {
	local prefix=$1 fmt=$2 why= t
	shift 2
	if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
		why="needs root and iproute2"
	else
		T_BED=$prefix$$
		T_BED=${T_BED:0:13}
		T_BEDS="$T_BED"
		trap 't_beds_down; t_cleanup' EXIT
		"$ROOT/scripts/testbed.sh" up "$T_BED" --json >"$T_DIR/bed.json" \
			2>"$T_DIR/bed.err" ||
			why="test bed did not come up: $(head -1 "$T_DIR/bed.err")"
	fi
	if [ -n "$why" ]; then
		# shellcheck disable=SC2059 # the caller's format
		for t in "$@"; do t_skip "$(printf "$fmt" "$t")" "$why"; done
		t_done
		exit 0
	fi
	read -r NSA NSB IFA IFB IPA IPB IP6A IP6B < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["a"]["netns"], j["b"]["netns"], j["a"]["ifname"], j["b"]["ifname"],
      j["a"]["ipv4"], j["b"]["ipv4"], j["a"]["ipv6"], j["b"]["ipv6"])' "$T_DIR/bed.json")
}
# t_serve NAME PORT SETTLE CMD...: CMD in namespace B under `sluice run
# --path ${RUN_PATH:-xdp}` (SLUICE_RUN_FORK passed on), output in
# $D/NAME.out, report in $D/NAME.report (a daemon that gives up root
# still writes it); waits for its UDP PORT, then SETTLE seconds (the port
# opens right after bind; workers may start later)
t_serve() {
	local name=$1 port=$2 settle=$3
	shift 3
	t_bg "$D/$name.out" ip netns exec "$NSB" env \
		SLUICE_RUN_REPORT="$D/$name.report" \
		SLUICE_RUN_FORK="${SLUICE_RUN_FORK:-}" "$SLUICE" run \
		--path "${RUN_PATH:-xdp}" -- "$@"
	t_udp_ready "$port" "$NSB" || return 1
	sleep "$settle"
}
A() { ip netns exec "$NSA" "$@"; }
B() { ip netns exec "$NSB" "$@"; }

t_done() {
	echo "1..$T_N"
	[ "$T_FAIL" -eq 0 ]
}
