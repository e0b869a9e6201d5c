#!/usr/bin/env python3
"""tests/differential/run.py - compare `stopgate query instant -o json` over
remote read with Prometheus 2.42's /api/v1/query on the same data.

    run.py --prom URL --stopgate PATH --seeds FILE [--per-seed N]
           [--fresh N] [--fresh-seed S] [--verbose]

With --limit-prom (a second Prometheus on the same data with a small
--query.max-samples), --limit-cases cases of --limit-seed run instant and
as range queries on both with the same limit: the sample limit must trip
on both sides or on neither.

Every --range-every'th case is also run as a range query over the 20
minutes before its time (step 37s) against /api/v1/query_range.

Prints TAP: one line per committed seed (every case must match) and one
for the fresh seed (at least 99% must match; the seed is always printed so
a failure can be reproduced and added to the seeds file once fixed).

A case matches when both sides fail (for execution errors stopgate's
message must contain Prometheus's), or both succeed with the same result
type and the same set of series, timestamps and values. Values must be
equal as printed (stopgate reproduces Go's math package; --go-math-ulp
allows 128 ulp for expressions using exp, ln, log2, log10, trigonometry, ^
or atan2; see values_match for the tolerances of range queries).
"""
import argparse
import json
import os
import random
import re
import struct
import subprocess
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

GO_MATH = re.compile(r"\b(exp|ln|log2|log10|sin|cos|tan|asin|acos|atan|sinh|cosh|tanh|asinh|"
                     r"acosh|atanh|atan2)\b|\^")
SUBQUERY = re.compile(r"\[[^\]]*:")
TIE_PICKERS = re.compile(r"\b(topk|bottomk)\b")
MAX_ULP = 128


def ts_str(t_ms):
    return f"{t_ms // 1000}.{t_ms % 1000:03d}"


def prom_query(base, expr, t_ms):
    body = urllib.parse.urlencode({"query": expr, "time": ts_str(t_ms)}).encode()
    req = urllib.request.Request(base + "/api/v1/query", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def prom_query_range(base, expr, start, end, step_s):
    body = urllib.parse.urlencode({"query": expr, "start": ts_str(start), "end": ts_str(end),
                                   "step": str(step_s)}).encode()
    req = urllib.request.Request(base + "/api/v1/query_range", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def stopgate_query_range(binary, url, expr, start, end, step_s):
    p = subprocess.run([binary, "query", "range", "-o", "json", "--response-type=streamed",
                        "--start", ts_str(start), "--end", ts_str(end), "--step", f"{step_s}s",
                        url, "--", expr], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def stopgate_query(binary, url, expr, t_ms):
    p = subprocess.run([binary, "query", "instant", "-o", "json", "--response-type=streamed",
                        "--time", ts_str(t_ms),
                        url, "--", expr], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def ordered(f):
    b = struct.unpack("<q", struct.pack("<d", f))[0]
    return b if b >= 0 else -(b & 0x7FFFFFFFFFFFFFFF)


def values_match(a, b, tolerant):
    """tolerant: False (exact), True (Go math: 128 ulp, or a relative 1e-11
    when a Go-math result went through further functions that amplify its
    last-bit differences, like cos(ln(x))), or "range" (range queries: 2.42
    orders intermediate series by Go map iteration, so order-dependent
    aggregations differ in the last bits; relative 1e-9)."""
    if a == b:
        return True
    if not tolerant:
        return False
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if x != x or y != y or x in (float("inf"), float("-inf")) or y in (float("inf"), float("-inf")):
        return False
    if abs(ordered(x) - ordered(y)) <= MAX_ULP:
        return True
    rel = 1e-9 if tolerant == "range" else 1e-11
    return abs(x - y) <= rel * max(abs(x), abs(y))


def key(metric):
    return tuple(sorted(metric.items()))


def compare(prom, sg, tolerant):
    """None when equal, else a description of the first difference."""
    if prom.get("resultType") != sg.get("resultType"):
        return f"result type {prom.get('resultType')} vs {sg.get('resultType')}"
    rt, pr, sr = prom["resultType"], prom["result"], sg["result"]
    if rt in ("scalar", "string"):
        if pr[0] != sr[0]:
            return f"timestamp {pr[0]} vs {sr[0]}"
        if rt == "string":
            return None if pr[1] == sr[1] else f"string {pr[1]!r} vs {sr[1]!r}"
        return None if values_match(pr[1], sr[1], tolerant) else f"scalar {pr[1]} vs {sr[1]}"
    field = "value" if rt == "vector" else "values"
    # a matrix series may have no "values" at all (2.42 writes none)
    pm = {key(s["metric"]): s.get(field, []) for s in pr}
    sm = {key(s["metric"]): s.get(field, []) for s in sr}
    if len(pm) != len(pr) or len(sm) != len(sr):
        return "duplicate series"
    if pm.keys() != sm.keys() and tolerant and len(pm) == len(sm):
        # count_values and label_* may turn a value into a label: pair the
        # series in order and allow the same ulp distance in label values
        pairs = list(zip(sorted(pm), sorted(sm)))
        if all(len(a) == len(b) and all(x[0] == y[0] and values_match(x[1], y[1], True)
                                        for x, y in zip(a, b)) for a, b in pairs):
            sm = {a: sm[b] for a, b in pairs}
    if pm.keys() != sm.keys():
        only_p = sorted(pm.keys() - sm.keys())[:3]
        only_s = sorted(sm.keys() - pm.keys())[:3]
        return f"series differ: only prometheus {only_p}, only stopgate {only_s}"
    for k, pv in pm.items():
        sv = sm[k]
        pts_p = [pv] if rt == "vector" else pv
        pts_s = [sv] if rt == "vector" else sv
        if len(pts_p) != len(pts_s):
            return f"{dict(k)}: {len(pts_p)} points vs {len(pts_s)}"
        for a, b in zip(pts_p, pts_s):
            if a[0] != b[0]:
                return f"{dict(k)}: timestamp {a[0]} vs {b[0]}"
            if not values_match(a[1], b[1], tolerant):
                return f"{dict(k)}: value {a[1]} vs {b[1]}"
    return None


def run_case(args, t_ms, expr, as_range=False):
    """None when stopgate agrees with Prometheus, else a description."""
    if (as_range or SUBQUERY.search(expr)) and TIE_PICKERS.search(expr):
        # topk/bottomk break ties by input order, which 2.42 leaves to Go's
        # map iteration in range evaluations: its own answer varies by run
        return None
    if as_range:
        start, step = t_ms - 20 * 60_000, 37
        prom = prom_query_range(args.prom, expr, start, t_ms, step)
        rc, out, err = stopgate_query_range(args.stopgate, args.prom + "/api/v1/read", expr, start,
                                            t_ms, step)
        if prom.get("status") != "success" and prom.get("errorType") == "bad_data":
            return None  # not a range expression (matrix or string result)
    else:
        prom = prom_query(args.prom, expr, t_ms)
        rc, out, err = stopgate_query(args.stopgate, args.prom + "/api/v1/read", expr, t_ms)
    tolerant = args.go_math_ulp and bool(GO_MATH.search(expr))
    if as_range or SUBQUERY.search(expr):
        # 2.42 orders the series of every range evaluation (and so of every
        # subquery) by Go map iteration
        tolerant = "range"
    if prom.get("status") != "success":
        if rc == 0:
            return f"prometheus failed ({prom.get('error')}), stopgate answered {out.strip()[:200]}"
        # which two duplicates are named depends on series order, which
        # Prometheus leaves to Go's map iteration inside range evaluations
        def norm(m):
            m = re.sub(r"operation: \[.*\];", "operation: [...];", m)
            return re.sub(r"match group \{.*?\} on", "match group {...} on", m)
        want, got = norm(prom.get("error", "")), norm(err)
        if prom.get("errorType") == "execution" and want not in got:
            return f"error text differs: prometheus {prom.get('error')!r}, stopgate {err.strip()!r}"
        return None
    if rc != 0:
        return f"stopgate failed: {err.strip()[:300]}"
    try:
        sg = json.loads(out)
    except ValueError:
        return f"stopgate printed invalid JSON: {out[:200]}"
    return compare(prom["data"], sg, tolerant)


def limit_case(args, t_ms, expr, as_range):
    """None when both sides agree on hitting the sample limit, else a note."""
    lim = str(args.max_samples)
    if as_range:
        start = t_ms - 20 * 60_000
        prom = prom_query_range(args.limit_prom, expr, start, t_ms, 37)
        if prom.get("errorType") == "bad_data":
            return None
        argv = [args.stopgate, "query", "range", "-o", "json", "--response-type=streamed",
                "--query.max-samples", lim, "--start", ts_str(start), "--end", ts_str(t_ms),
                "--step", "37s"]
    else:
        prom = prom_query(args.limit_prom, expr, t_ms)
        argv = [args.stopgate, "query", "instant", "-o", "json", "--response-type=streamed",
                "--query.max-samples", lim, "--time", ts_str(t_ms)]
    p = subprocess.run(argv + [args.limit_prom + "/api/v1/read", "--", expr],
                       capture_output=True, text=True, timeout=60)
    want = "too many samples" in prom.get("error", "")
    got = "too many samples" in p.stderr
    if want == got:
        return None
    return f"prometheus {'hit' if want else 'did not hit'} the limit, stopgate {'did' if got else 'did not'}"


def run_seed(args, seed, n):
    fails = []
    for i, (t_ms, expr) in enumerate(gen.gen_exprs(seed, n)):
        d = run_case(args, t_ms, expr)
        if d is None and args.range_every and i % args.range_every == 0:
            d = run_case(args, t_ms, expr, as_range=True)
            if d is not None:
                d = "range query: " + d
        if d is not None:
            fails.append((t_ms, expr, d))
        if args.verbose:
            print(f"# {'FAIL' if d else 'ok'} t={ts_str(t_ms)} {expr}" + (f"\n#   {d}" if d else ""))
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prom", required=True)
    ap.add_argument("--stopgate", required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--per-seed", type=int, default=50)
    ap.add_argument("--fresh", type=int, default=100)
    ap.add_argument("--fresh-seed", type=int, default=None)
    ap.add_argument("--range-every", type=int, default=4,
                    help="also compare a 20m range query (step 37s) for every Nth case")
    ap.add_argument("--cases", default=None, help="fixed cases, TIME_MS<TAB>EXPR per line")
    ap.add_argument("--go-math-ulp", action="store_true",
                    help="allow 128 ulp for Go-math functions (default: exact; stopgate "
                         "reproduces Go's math package)")
    ap.add_argument("--limit-prom", default=None,
                    help="a Prometheus on the same data started with --query.max-samples")
    ap.add_argument("--max-samples", type=int, default=300)
    ap.add_argument("--limit-seed", type=int, default=300)
    ap.add_argument("--limit-cases", type=int, default=150)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    seeds = []
    with open(args.seeds) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                seeds.append(int(line))
    n, failed = 0, 0
    for s in seeds:
        fails = run_seed(args, s, args.per_seed)
        n += 1
        if fails:
            failed += 1
            print(f"not ok {n} - seed {s}: {len(fails)} of {args.per_seed} cases differ")
            for t_ms, expr, d in fails[:10]:
                print(f"#   time={ts_str(t_ms)} expr={expr}\n#     {d}")
        else:
            print(f"ok {n} - seed {s}: {args.per_seed} cases")
    if args.fresh > 0:
        seed = args.fresh_seed if args.fresh_seed is not None else random.SystemRandom().randrange(1 << 31)
        fails = run_seed(args, seed, args.fresh)
        n += 1
        rate = 1 - len(fails) / args.fresh
        ok = rate >= 0.99
        if not ok:
            failed += 1
        print(f"{'ok' if ok else 'not ok'} {n} - fresh seed {seed}: {args.fresh - len(fails)} of "
              f"{args.fresh} cases match")
        for t_ms, expr, d in fails[:10]:
            print(f"#   seed={seed} time={ts_str(t_ms)} expr={expr}\n#     {d}")
    if args.cases:
        fails = []
        with open(args.cases) as f:
            lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
        for line in lines:
            t_s, expr = line.split("\t", 1)
            for as_range in (False, True):
                d = run_case(args, int(t_s), expr, as_range)
                if d is not None:
                    fails.append((int(t_s), expr, ("range: " if as_range else "") + d))
        n += 1
        if fails:
            failed += 1
        print(f"{'not ok' if fails else 'ok'} {n} - fixed cases: {2 * len(lines) - len(fails)} of "
              f"{2 * len(lines)} match")
        for t_ms, expr, d in fails[:10]:
            print(f"#   time={ts_str(t_ms)} expr={expr}\n#     {d}")
    if args.limit_prom:
        # the sample limit must trip exactly when Prometheus's does
        fails = []
        for i, (t_ms, expr) in enumerate(gen.gen_exprs(args.limit_seed, args.limit_cases)):
            for as_range in (False, True):
                d = limit_case(args, t_ms, expr, as_range)
                if d is not None:
                    fails.append((t_ms, expr, ("range: " if as_range else "") + d))
        n += 1
        if fails:
            failed += 1
        print(f"{'not ok' if fails else 'ok'} {n} - sample limit {args.max_samples}, seed "
              f"{args.limit_seed}: {2 * args.limit_cases - len(fails)} of {2 * args.limit_cases} agree")
        for t_ms, expr, d in fails[:10]:
            print(f"#   time={ts_str(t_ms)} expr={expr}\n#     {d}")
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
