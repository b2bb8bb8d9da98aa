# shellcheck shell=bash
# Sourced by the lab's tests (tests/lab/*.sh) after tests/tools/lib.sh,
# with NAMES (every test's name), LAB (scripts/lab.sh) and D set.
#
#   lab_start TAG [COMMAND...]  skip every test with the reason unless root,
#                               qemu, each COMMAND and a lab kernel are
#                               there; then LAB_KERNEL is the kernel's
#                               version and NS (sl-TAG<PID>) the test's
#                               namespace, made, and removed on exit
#   ns_up, ns_down              make NS again (with lo up), remove it
#   lab_tap_up ADDR             (in the background) wait for the guest's
#                               tap in NS, then give it ADDR/24
#   skip_all REASON             every test skipped, exit
skip_all() {
	local n
	for n in "${NAMES[@]}"; do t_skip "$n" "$1"; done
	t_done
	exit 0
}
ns_down() { ip netns del "$NS" 2>/dev/null || true; }
ns_up() {
	ip netns add "$NS" || skip_all "cannot make a network namespace"
	ip -n "$NS" link set lo up
}
lab_start() {
	local tag=$1 c
	shift
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (a tap in a namespace)"
	command -v qemu-system-x86_64 >/dev/null ||
		skip_all "qemu-system-x86 is not installed (scripts/deps.sh installs it)"
	for c in "$@"; do
		command -v "$c" >/dev/null ||
			skip_all "$c is not installed (scripts/deps.sh installs it)"
	done
	LAB_KERNEL=$("$LAB" fetch 2>"$D/fetch.err") ||
		skip_all "no lab kernel: $(tail -n 1 "$D/fetch.err")"
	NS=sl-$tag$$
	NS=${NS:0:13}
	trap 'ns_down; t_cleanup' EXIT
	trap 'exit 1' INT TERM
}
lab_tap_up() {
	local i
	for i in $(seq 600); do
		ip -n "$NS" link show sl-labtap >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$NS" addr add "$1/24" dev sl-labtap
}
