#!/usr/bin/env python3
"""The include rules of docs/architecture.md, checked on every file.

  layers.py SOURCE_ROOT

Every #include "..." and #include <sluice/...> in src/, bed/, tools/,
bench/, tests/lib/ and preload/ is resolved to the file it names, and each edge is
checked:

  - a library layer includes only its own layer and the layers below it
    (LAYERS, bottom up; the public header of a layer counts as that layer);
  - a driver includes, of the port layer, only port/driver.h (the driver
    interface), and no other driver's files (src/drivers/common/, which
    is no driver, is theirs to share); bpf/ only from the xdp driver;
  - preload/ (libsluice-preload.so, for `sluice run`) sees the library
    through include/sluice/ only and includes nothing of bed/, tools/,
    bench/ or tests/;
  - bed/ (the veth test bed and the benchmarks' receive core) sees the
    library through include/sluice/ only and includes nothing of tools/,
    bench/ or tests/;
  - tools/, bench/ and tests/ see the library through include/sluice/ only
    (tests/ may also include the library's internal headers: unit tests)
    and may all use bed/; tools/ includes nothing from bench/ or tests/,
    bench/ nothing from tests/.

It prints every edge that breaks a rule, with its line, and exits 1 if there
is one. Edges in KNOWN are allowed for now, each with the reason, and are
listed so they stay visible; there are none.
"""
import os
import re
import sys

# bottom up: a layer may include itself and any layer before it
LAYERS = ["core", "lcore", "mem", "ring", "net", "port", "drivers", "probe",
          "policy", "dma", "rdma", "telemetry"]
# public headers by layer
PUBLIC = {
    "core.h": "core", "privs.h": "core", "pkt.h": "mem", "mem.h": "mem",
    "ring.h": "ring", "net.h": "net", "udp.h": "net", "port.h": "port",
    "probe.h": "probe", "auto.h": "policy", "rdma.h": "rdma",
    "live.h": "drivers", "lcore.h": "lcore",
    "dma.h": "dma", "dma_topo.h": "dma", "telemetry.h": "telemetry",
    "sluice.h": "top",
}
# allowed for now: (from-file prefix, to-file) -> why
KNOWN = {}

INC = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(path):
    """(kind, layer) of a repository path."""
    p = path.split("/")
    if p[0] == "src":
        return "lib", p[1]
    if p[0] == "include":
        return "lib", PUBLIC.get(p[-1], "top")
    return p[0], None


def resolve(root, src, name, quote):
    d = os.path.dirname(src)
    if quote == "<":
        if not name.startswith("sluice/"):
            return None
        cands = [os.path.join("include", name)]
    else:
        cands = [os.path.join(d, name), os.path.join("src", name),
                 os.path.join("include", name),
                 os.path.join("bed", name),
                 os.path.join("tests/lib", name), os.path.join("bench", name),
                 os.path.join("tools", name), os.path.join("bpf", name)]
    for c in cands:
        c = os.path.normpath(c)
        if os.path.isfile(os.path.join(root, c)):
            return c
    return None


def check(src, tgt):
    """None if the edge is fine, else why not."""
    ks, ls = layer_of(src)
    kt, lt = layer_of(tgt)
    if ks == "lib":
        if tgt.startswith("bpf/"):
            return None if src.startswith("src/drivers/xdp/") else \
                "bpf/ is the xdp driver's"
        if kt != "lib":
            return "the library includes %s" % tgt
        if lt == "top":
            return "the library includes the umbrella header"
        if ls not in LAYERS or lt not in LAYERS:
            return "unknown layer (%s -> %s)" % (ls, lt)
        if LAYERS.index(lt) > LAYERS.index(ls):
            return "%s includes %s, a layer above it" % (ls, lt)
        if ls == "drivers":
            drv = src.split("/")[2]
            if tgt.startswith("src/drivers/") and \
                    tgt.split("/")[2] not in (drv, "common"):
                return "a driver includes another driver"
            if lt == "port" and tgt.startswith("src/port/") and \
                    tgt != "src/port/driver.h":
                return "a driver sees only port/driver.h of the port layer"
        return None
    if ks == "bed":
        if kt in ("tools", "bench", "tests"):
            return "bed/ includes %s/" % kt
        if tgt.startswith("src/"):
            return "bed/ sees the library through include/sluice/ only"
        return None
    if ks == "tools":
        if kt in ("bench", "tests"):
            return "tools/ includes %s/" % kt
        if tgt.startswith("src/"):
            return "tools/ sees the library through include/sluice/ only"
        return None
    if ks == "preload":
        if kt in ("tools", "bench", "tests", "bed"):
            return "preload/ includes %s/" % kt
        if tgt.startswith("src/"):
            return "preload/ sees the library through include/sluice/ only"
        return None
    if ks == "bench":
        if kt == "tests":
            return "bench/ includes tests/"
        if tgt.startswith("src/"):
            return "bench/ sees the library through include/sluice/ only"
        return None
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    bad = known = edges = 0
    for top in ("src", "bed", "tools", "bench", "tests/lib", "preload"):
        for dp, _, files in os.walk(os.path.join(root, top)):
            for fn in sorted(files):
                if not fn.endswith((".c", ".h")):
                    continue
                src = os.path.relpath(os.path.join(dp, fn), root)
                with open(os.path.join(root, src), errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        m = INC.match(line)
                        if not m:
                            continue
                        tgt = resolve(root, src, m.group(2), m.group(1))
                        if not tgt:
                            continue
                        edges += 1
                        why = check(src, tgt)
                        if not why:
                            continue
                        k = next((r for (a, b), r in KNOWN.items()
                                  if src.startswith(a) and tgt == b), None)
                        if k:
                            known += 1
                            print("known: %s:%d -> %s: %s" % (src, n, tgt, k))
                        else:
                            bad += 1
                            print("%s:%d: includes %s: %s" % (src, n, tgt,
                                                              why))
    print("layers: %d include edges, %d breaking the rules, %d known" %
          (edges, bad, known))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
