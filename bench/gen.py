#!/usr/bin/env python3
"""bench/gen.py - the benchmark data generator (python3 standard library only).

Writes OpenMetrics text of realistic stop-condition metrics: each scrape
target (job, instance, namespace) exports GEN_SERIES_PER_TARGET series
(request counters by code and method, an error counter, a latency
histogram's buckets/_sum/_count, a jittered queue-depth gauge, a memory
gauge, a last-success timestamp gauge, `up`, a CPU-seconds counter and a
restart counter), one sample every 15 s. Everything is derived from a fixed
seed, so the same version writes the same bytes on every machine.

It does not build TSDB blocks or start servers (bench/run does that with
`promtool tsdb create-blocks-from openmetrics`, which needs a regular file:
it mmaps its input). The output is split into one file per 2 h block
window so promtool parses each sample only twice and the temporary files
stay small.

    bench/gen.py --series 1000 --out-dir DIR    # DIR/w0.om DIR/w1.om DIR/w2.om
"""

import argparse
import os
import random
import sys

# Bump whenever the output changes: bench/run keys its dataset cache on it.
GEN_VERSION = 2
SEED = 20230101

STEP_MS = 15_000
BLOCK_MS = 2 * 3600 * 1000
# The data covers [T0, T0 + HOURS h); T0 is aligned to promtool's 2 h blocks.
T0_S = 1_700_006_400
HOURS = 6
T_END_S = T0_S + HOURS * 3600
SAMPLES_PER_WINDOW = BLOCK_MS // STEP_MS  # 480
GEN_SERIES_PER_TARGET = 20

JOBS = ["api", "checkout", "payments", "search", "auth",
        "catalog", "gateway", "worker", "scheduler", "billing"]
NAMESPACES = ["prod", "staging", "canary"]
STUCK_JOB = "scheduler"
LE = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]

# One noise table shared by every series: cheap, deterministic jitter.
_NOISE_N = 4096


def _noise_table(rng):
    return [rng.random() for _ in range(_NOISE_N)]


def targets_for(series):
    """Number of scrape targets for a dataset of `series` series."""
    if series % GEN_SERIES_PER_TARGET:
        raise ValueError("series must be a multiple of %d" % GEN_SERIES_PER_TARGET)
    return series // GEN_SERIES_PER_TARGET


def _ts_strings(ms_list):
    # OpenMetrics timestamps are seconds; promtool truncates ts*1000 to an
    # integer, so a trailing 0.1 ms keeps every value on its millisecond.
    return ["%d.%03d1" % divmod(ms, 1000) for ms in ms_list]


def _target(idx, noise):
    """Everything about target idx: labels and the per-series value lists."""
    rng = random.Random(SEED * 1_000_003 + idx)
    job = JOBS[idx % len(JOBS)]
    ns = NAMESPACES[(idx // len(JOBS)) % len(NAMESPACES)]
    inst = "10.%d.%d.%d:%d" % (idx >> 16 & 255, idx >> 8 & 255, idx & 255, 8080 + idx % 3)
    base = 'job="%s",instance="%s",namespace="%s"' % (job, inst, ns)
    n = SAMPLES_PER_WINDOW * (HOURS // 2)
    off = rng.randrange(0, 14_000)
    jitter = rng.random() < 0.5
    ms = [T0_S * 1000 + k * STEP_MS + off for k in range(n)]
    if jitter:
        j0 = rng.randrange(_NOISE_N)
        ms = [t + int(noise[(j0 + k) % _NOISE_N] * 4) for k, t in enumerate(ms)]
    nz = rng.randrange(_NOISE_N)

    def walk(k):
        return noise[(nz + 7 * k) % _NOISE_N]

    rate = 0.5 * (400 ** rng.random())       # 0.5 .. 200 req/s
    err_frac = 0.2 if rng.random() < 0.05 else 0.002 + 0.02 * rng.random()
    series = []

    # http_requests_total{code, method} and http_request_errors_total
    req = {}
    for code in ("200", "500"):
        for method, mfrac in (("GET", 0.7), ("POST", 0.3)):
            frac = (err_frac if code == "500" else 1 - err_frac) * mfrac
            mean = rate * frac * 15
            v, vals = rng.randrange(0, 100_000), []
            for k in range(n):
                v += int(mean * (0.8 + 0.4 * walk(k + len(req))) + 0.5)
                vals.append(v)
            req[(code, method)] = vals
            series.append(('http_requests_total{%s,code="%s",method="%s"}' % (base, code, method), vals))
    e0 = rng.randrange(0, 1000)
    series.append(("http_request_errors_total{%s}" % base,
                   [e0 + a + b for a, b in zip(req[("500", "GET")], req[("500", "POST")])]))

    # http_request_duration_seconds histogram
    slow = 0.05 + 0.6 * rng.random()
    cdf = [1 - (1 - min(0.999, float(le) / (4 * slow) if le != "+Inf" else 1.0)) ** 2 for le in LE]
    cnt, tot = rng.randrange(0, 100_000), 0.0
    counts, sums = [], []
    for k in range(n):
        inc = int(rate * 15 * (0.8 + 0.4 * walk(k + 11)) + 0.5)
        cnt += inc
        tot += inc * slow * (0.9 + 0.2 * walk(k + 13))
        counts.append(cnt)
        sums.append(round(tot, 3))
    for le, c in zip(LE, cdf):
        series.append(('http_request_duration_seconds_bucket{%s,le="%s"}' % (base, le),
                       [int(x * c) for x in counts]))
    series.append(("http_request_duration_seconds_sum{%s}" % base, sums))
    series.append(("http_request_duration_seconds_count{%s}" % base, counts))

    # queue_depth: a jittered gauge; a few targets climb over 900 near the end
    hot = rng.random() < 0.03
    level, vals = 100 + 500 * rng.random(), []
    for k in range(n):
        level += 40 * (walk(k + 17) - 0.5)
        if hot and k > n - 160:
            level += 8
        level = min(1000.0, max(0.0, level))
        vals.append(round(level + walk(k + 19), 2))
    series.append(("queue_depth{%s}" % base, vals))

    # process_resident_memory_bytes
    mem, vals = rng.randrange(100, 500) << 20, []
    for k in range(n):
        mem += (int(walk(k + 23) * 16) - 8) * 4096
        vals.append(mem)
    series.append(("process_resident_memory_bytes{%s}" % base, vals))

    # last_success_timestamp_seconds: a few targets stop succeeding, and every
    # target of one job does, so `time() - max by (job) (...) > 60` fires
    stuck_job = job == STUCK_JOB
    stuck = n - 1 - rng.randrange(8, 240) if stuck_job or rng.random() < 0.04 else n
    vals = [ms[min(k, stuck)] // 1000 for k in range(n)]
    series.append(("last_success_timestamp_seconds{%s}" % base, vals))

    # up: 1, one target in 50 is down for the last half hour
    down = idx % 50 == 7
    series.append(("up{%s}" % base, [0 if down and k >= n - 120 else 1 for k in range(n)]))

    # process_cpu_seconds_total: a float counter
    cpu, frac, vals = 1000 * rng.random(), 0.05 + rng.random(), []
    for k in range(n):
        cpu += 15 * frac * (0.9 + 0.2 * walk(k + 29))
        vals.append(round(cpu, 2))
    series.append(("process_cpu_seconds_total{%s}" % base, vals))

    # kube_pod_container_status_restarts_total: mostly flat
    r, vals = rng.randrange(0, 5), []
    for k in range(n):
        if walk(k + 31) > 0.9995:
            r += 1
        vals.append(r)
    series.append(("kube_pod_container_status_restarts_total{%s}" % base, vals))

    assert len(series) == GEN_SERIES_PER_TARGET
    return ms, series


def generate(series, out_dir):
    """Write out_dir/w<i>.om, one OpenMetrics file per 2 h window; returns the paths."""
    noise = _noise_table(random.Random(SEED))
    windows = HOURS // 2
    paths = [os.path.join(out_dir, "w%d.om" % w) for w in range(windows)]
    files = [open(p, "w", buffering=1 << 22) for p in paths]
    try:
        for idx in range(targets_for(series)):
            ms, ser = _target(idx, noise)
            ts = _ts_strings(ms)
            for w, f in enumerate(files):
                a, b = w * SAMPLES_PER_WINDOW, (w + 1) * SAMPLES_PER_WINDOW
                tw = ts[a:b]
                f.write("".join(["".join(["%s %r %s\n" % (name, v, t) for v, t in zip(vals[a:b], tw)])
                                 for name, vals in ser]))
        for f in files:
            f.write("# EOF\n")
    finally:
        for f in files:
            f.close()
    return paths


def main():
    ap = argparse.ArgumentParser(description="write the benchmark OpenMetrics data")
    ap.add_argument("--series", type=int, required=True)
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    for p in generate(a.series, a.out_dir):
        print(p)


if __name__ == "__main__":
    sys.exit(main())
