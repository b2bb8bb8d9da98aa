#!/usr/bin/env python3
"""Count test results across meson test logs and a plain results file.

cmocka tests print TAP (CMOCKA_MESSAGE_OUTPUT=TAP): each "ok"/"not ok" line
is one test case, "# SKIP" marks a skipped one. Other tests count once, by
meson's verdict. Prints failures by name, each with the first lines of the
"# " diagnosis its test printed under it (CI keeps only the tail of a run,
so the why has to be here), then the closing line
"N passed, N failed, N skipped"; exits 1 if anything failed.
"""
import json
import re
import sys

WHY_LINES = 12
TAP = re.compile(r'^(not ok|ok)\b(?:\s+\d+)?\s*-?\s*(.*)$')


def main():
    passed = failed = skipped = 0
    failures = []
    results, logs = sys.argv[1], sys.argv[2:]
    with open(results) as f:
        for line in f:
            name, verdict = line.split()
            if verdict == 'PASS':
                passed += 1
            elif verdict == 'SKIP':
                skipped += 1
            else:
                failed += 1
                failures.append(name)
    for log in logs:
        build = log.split('/')[0]
        try:
            entries = [json.loads(l) for l in open(log) if l.strip()]
        except OSError:
            failed += 1
            failures.append(build + ': no test log')
            continue
        for e in entries:
            name = '%s/%s' % (build, e['name'])
            result = e['result']
            lines = (e.get('stdout') or '').splitlines()
            cases = [(TAP.match(l), i) for i, l in enumerate(lines)]
            cases = [(m, i) for m, i in cases if m]
            if not cases:
                if result == 'OK':
                    passed += 1
                elif result == 'SKIP':
                    skipped += 1
                else:
                    failed += 1
                    failures.append('%s (%s)' % (name, result))
                continue
            bad = 0
            for m, i in cases:
                if '# SKIP' in m.group(2) or '# skip' in m.group(2):
                    skipped += 1
                elif m.group(1) == 'ok':
                    passed += 1
                else:
                    failed += 1
                    bad += 1
                    why = []
                    for l in lines[i + 1:i + 1 + WHY_LINES]:
                        if not l.startswith('#'):
                            break
                        why.append('\n    ' + l[:200])
                    failures.append('%s: %s%s' % (name, m.group(2),
                                                  ''.join(why)))
            if result not in ('OK', 'SKIP', 'EXPECTEDFAIL') and not bad:
                # crashed or timed out outside a reported case
                failed += 1
                failures.append('%s (%s)' % (name, result))
    for f in failures:
        print('FAILED: ' + f)
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
