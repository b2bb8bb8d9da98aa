#!/usr/bin/env bash
# End-to-end test of `sluice bench` (TAP): a --quick run with --json and
# --svg, as root on the veth test bed or, without root, with pair and udp on
# loopback; the JSON is parsed and checked for every key of issue 4 (host
# facts; per path rx_mpps, fwd_mpps, rtt_us p50/p99/p999 in order,
# cpu_ns_per_pkt and the risk columns, or "skipped" with a reason), the SVG
# must be well-formed XML, and bad options must fail with exit 2 and a
# message naming them. As root with sockperf, `--run --quick` (sockperf
# with and without `sluice run`) must list every row with its figures or a
# reason, and say where each served socket ran. It never checks the speed:
# benchmarks report.
#
#   test_bench.sh PATH/TO/sluice [SOURCE_ROOT]
set -u
SLUICE=${1:?usage: test_bench.sh PATH/TO/sluice}
. "$(dirname "$0")/lib.sh"
export SLUICE_NO_STATUS=1
D=$T_DIR

# ---- errors of use ------------------------------------------------------
"$SLUICE" bench --bogus >/dev/null 2>"$D/e1"
rc=$?
if [ $rc -eq 2 ] && grep -q "sluice: bench: unknown option '--bogus'" "$D/e1"; then
	t_ok "bad option: exit 2, names the option"
else t_fail "bad option: exit 2, names the option" "rc=$rc $(cat "$D/e1")"; fi

"$SLUICE" bench --reps 0 >/dev/null 2>"$D/e2"
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--reps 0: too small" "$D/e2"; then
	t_ok "bad --reps: exit 2, says why"
else t_fail "bad --reps: exit 2, says why" "rc=$rc $(cat "$D/e2")"; fi

"$SLUICE" bench --only nosuch >/dev/null 2>"$D/e3"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown path 'nosuch'" "$D/e3"; then
	t_ok "bad --only: exit 2, names the path"
else t_fail "bad --only: exit 2, names the path" "rc=$rc $(cat "$D/e3")"; fi

"$SLUICE" bench --spin 5 >/dev/null 2>"$D/e4"
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--spin: only with --run" "$D/e4"; then
	t_ok "--spin without --run: exit 2, says why"
else t_fail "--spin without --run: exit 2, says why" "rc=$rc $(cat "$D/e4")"; fi

"$SLUICE" bench --help >"$D/help" 2>&1
if [ $? -eq 0 ] && grep -q "examples:" "$D/help" && grep -q -- "--run " "$D/help"; then
	t_ok "--help: usage with examples"
else t_fail "--help: usage with examples" "$(cat "$D/help")"; fi

# ---- a quick run --------------------------------------------------------
# (its time is reported, not asserted: the machine's load sets it; the
# timeout only bounds a hang)
start=$(date +%s)
timeout 60 "$SLUICE" bench --quick --json "$D/b.json" --svg "$D/b.svg" \
	>"$D/out" 2>"$D/err"
rc=$?
took=$(($(date +%s) - start))
if [ $rc -eq 0 ]; then
	t_ok "bench --quick exits 0 (${took} s)"
else
	t_fail "bench --quick exits 0" "rc=$rc $(tail -n 20 "$D/out" "$D/err")"
fi
if grep -q "^path .*rx Mpps.*fwd.*RTT p50.*CPU ns.*privileges" "$D/out"; then
	t_ok "prints the table with capability and risk columns"
else t_fail "prints the table with capability and risk columns" "$(cat "$D/out")"; fi

out=$(python3 - "$D/b.json" "$(id -u)" "$D/refused" <<'PY' 2>&1
import json, sys

d = json.load(open(sys.argv[1]))
root = sys.argv[2] == "0"
bad = []
host = d.get("host", {})
for k in ("kernel", "cpu_model", "cores", "driver", "modes", "queues",
          "date", "load_before"):
    if k not in host:
        bad.append("host lacks %s" % k)
res = d.get("results")
if not isinstance(res, list) or not res:
    bad.append("no results")
    res = []
known = {"udp", "packet", "xdp-copy", "xdp-zc", "udp-busypoll",
         "packet-busypoll", "xdp-copy-busypoll", "xdp-zc-busypoll",
         "xdp-drop", "pair", "testpmd-af_xdp", "testpmd-af_packet"}
ran = set()
for r in res:
    p = r.get("path")
    if p not in known:
        bad.append("unknown path %r" % p)
    risk = r.get("risk", {})
    for k in ("privileges", "kernel_no_longer_sees", "hardware_support"):
        if not risk.get(k):
            bad.append("%s: risk lacks %s" % (p, k))
    if "skipped" in r:
        if not r["skipped"]:
            bad.append("%s: skipped without a reason" % p)
        continue
    ran.add(p)
    for k in ("rx_mpps", "fwd_mpps", "rtt_us", "cpu_ns_per_pkt"):
        if k not in r:
            bad.append("%s: lacks %s" % (p, k))
    if not (isinstance(r.get("rx_mpps"), (int, float)) and r["rx_mpps"] > 0):
        bad.append("%s: rx_mpps %r not > 0" % (p, r.get("rx_mpps")))
    # the receive search: rx_mpps is the best point of its curve, and
    # never below what full speed gave
    curve = r.get("rx_curve")
    if not isinstance(curve, list) or not curve:
        bad.append("%s: no rx_curve" % p)
    else:
        for pt in curve:
            if not all(isinstance(pt.get(k), (int, float))
                       for k in ("offered_mpps", "rx_mpps")):
                bad.append("%s: rx_curve point %r" % (p, pt))
        got = [pt.get("rx_mpps") or 0 for pt in curve]
        if abs(max(got) - (r.get("rx_mpps") or 0)) > 1e-3:
            bad.append("%s: rx_mpps %r is not the curve's best %r"
                       % (p, r.get("rx_mpps"), max(got)))
    if not isinstance(r.get("rx_full_mpps"), (int, float)) or \
            r["rx_full_mpps"] > (r.get("rx_mpps") or 0) + 1e-3:
        bad.append("%s: rx_full_mpps %r" % (p, r.get("rx_full_mpps")))
    rt = r.get("rtt_us")
    if rt is not None:
        for k in ("p50", "p99", "p999"):
            if not isinstance(rt.get(k), (int, float)):
                bad.append("%s: rtt_us lacks %s" % (p, k))
        if all(isinstance(rt.get(k), (int, float)) for k in ("p50", "p99", "p999")):
            if not (0 < rt["p50"] <= rt["p99"] <= rt["p999"]):
                bad.append("%s: rtt_us out of order %r" % (p, rt))
# the host's jitter, one entry per CPU measured, gaps in order
jit = host.get("jitter")
if host.get("cores", 1) >= 2:
    if not isinstance(jit, list) or len(jit) != 2:
        bad.append("host jitter: %r" % (jit,))
    else:
        for j in jit:
            if not (0 <= j.get("gap_p50_us", -1) <= j.get("gap_p99_us", -1)
                    <= j.get("gap_max_us", -1)) or j.get("gaps_per_s", -1) < 0:
                bad.append("host jitter entry %r" % (j,))
# what must have run: the kernel socket always; the bed's paths as root
need = {"udp"} | ({"xdp-copy", "packet", "xdp-drop"} if root and host.get("test_bed") else {"pair"})
# ... unless this host's kernel refuses the bed's sender (live frames):
# then the paths are skipped with that reason, and the test says so
refused = set()
for p in sorted(need - ran):
    why = next((r.get("skipped", "") for r in res if r.get("path") == p), "")
    if "not supported on this host" in why:
        refused.add(p)
        open(sys.argv[3], "w").write(why)
    else:
        bad.append("path %s did not run" % p)
# every path of the issue is listed, measured or skipped with a reason
for p in ("udp", "packet", "xdp-copy", "xdp-zc"):
    if not any(r.get("path") == p for r in res):
        bad.append("path %s missing from the results" % p)
print("\n".join(bad) if bad else "ok: %d results, ran %s" % (len(res), ",".join(sorted(ran))))
sys.exit(1 if bad else 0)
PY
)
if [ $? -eq 0 ]; then t_ok "JSON has every key ($out)"; else t_fail "JSON has every key" "$out"; fi
if [ -s "$D/refused" ]; then
	t_skip "the test bed's paths were measured" "$(head -c 300 "$D/refused")"
else
	t_ok "the test bed's paths were measured (or not asked for: not root)"
fi

out=$(python3 - "$D/b.svg" <<'PY' 2>&1
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
texts = [t.text or "" for t in root.iter(ns + "text")]
assert any(t == "udp" for t in texts), "no udp label"
assert len(list(root.iter(ns + "rect"))) >= 3, "no bars"
print("ok")
PY
)
if [ $? -eq 0 ]; then t_ok "SVG is well-formed with labels and bars"; else t_fail "SVG is well-formed with labels and bars" "$out"; fi

# ---- --run: sockperf with and without sluice run ---------------------------
# every row prints numbers or says why not; the figures are never judged
if [ "$(id -u)" -ne 0 ]; then
	t_skip "bench --run --quick: a row per path, numbers or a reason" \
		"needs root (test bed)"
elif ! command -v sockperf >/dev/null; then
	t_skip "bench --run --quick: a row per path, numbers or a reason" \
		"sockperf not installed (scripts/deps.sh)"
else
	start=$(date +%s)
	timeout 240 "$SLUICE" bench --run --quick --json "$D/r.json" \
		>"$D/rout" 2>"$D/rerr"
	rc=$?
	took=$(($(date +%s) - start))
	if [ $rc -eq 0 ] && grep -q "^row .*p50 us.*p99.9.*Mmsg/s.*Gbit/s" "$D/rout" &&
		grep -q "HALF the round trip" "$D/rout"; then
		t_ok "bench --run --quick exits 0 and prints the table (${took} s)"
	else
		t_fail "bench --run --quick exits 0 and prints the table" \
			"rc=$rc $(tail -n 30 "$D/rout" "$D/rerr")"
	fi
	out=$(python3 - "$D/r.json" "$D/rout" <<'PY' 2>&1
import json, sys

rows = json.load(open(sys.argv[1]))["run"]
table = open(sys.argv[2]).read()
bad = []
names = [r["row"] for r in rows]
want = ["kernel (no sluice run)"] + ["%s: %s" % (p, v) for p in
        ("kernel", "packet", "xdp", "auto") for v in
        ("server", "both", "server, spin", "both, spin")]
if names != want:
    bad.append("rows %r, want %r" % (names, want))
measured = 0
for r in rows:
    n = r["row"]
    if n not in table:
        bad.append("%s: not in the table" % n)
    lat, tp = r.get("half_rtt_us"), r.get("mmsg_per_s")
    if lat is None or tp is None:
        if not r.get("why"):
            bad.append("%s: a figure missing and no reason" % n)
        continue
    if not 0 < lat["p50"] <= lat["p99"] <= lat["p999"]:
        bad.append("%s: percentiles out of order %r" % (n, lat))
    if not (tp > 0 and r.get("gbit_per_s", 0) > 0):
        bad.append("%s: throughput %r" % (n, tp))
    measured += 1
    if r["path"] in ("packet", "xdp") and r["server_on"] != r["path"] \
            and not r["server_on"].startswith("kernel: "):
        bad.append("%s: server ran on %r" % (n, r["server_on"]))
if not rows or rows[0].get("half_rtt_us") is None:
    bad.append("the baseline (plain programs) was not measured: %r" % rows[:1])
print("\n".join(bad) if bad else "ok: %d rows, %d measured" % (len(rows), measured))
sys.exit(1 if bad else 0)
PY
)
	if [ $? -eq 0 ]; then t_ok "bench --run: every row has numbers or a reason ($out)"
	else t_fail "bench --run: every row has numbers or a reason" "$out"; fi
fi

echo "1..$T_N"
[ $T_FAIL -eq 0 ]
