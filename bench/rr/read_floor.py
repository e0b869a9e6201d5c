#!/usr/bin/env python3
"""bench/rr/read_floor.py - `stopgate read` of 5 million raw samples against
the transport floor, for each response type.

Uses the benchmark data of bench/gen.py (10k series, 6 h at 15 s; the cached
TSDB of bench/run under $STOPGATE_BENCH_CACHE, built here when absent) and
one Prometheus 2.42 on a hard-linked copy of it. The selector is
http_request_duration_seconds_bucket over the whole 6 h: 3,500 series,
5,040,000 samples. For each response type it writes the exact request with
`stopgate read --write-request`, then alternates, run by run:
  floor        curl POSTing the same bytes, response to /dev/null
  read text    stopgate read (text to /dev/null)
  read json    stopgate read -o json (to /dev/null)
and prints one JSON object per measurement: median wall time, median CPU
time (user + sys) and peak RSS from /usr/bin/time.

    bench/rr/read_floor.py [--runs N]     STOPGATE: binary (default _build/release/src/stopgate)
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
sys.dont_write_bytecode = True
import gen  # noqa: E402  (bench/gen.py)

CACHE = os.environ.get("STOPGATE_BENCH_CACHE", "/var/tmp/stopgate-bench")
SERIES = 10000
SELECTOR = "http_request_duration_seconds_bucket"


def dataset():
    d = os.path.join(CACHE, "10k-%dh-g%d" % (gen.HOURS, gen.GEN_VERSION))
    if os.path.exists(os.path.join(d, "READY")):
        return d
    tmp = tempfile.mkdtemp(prefix="rr-read-floor.")
    print("# building the 10k dataset in %s (a few minutes)" % tmp, file=sys.stderr)
    for p in gen.generate(SERIES, tmp):
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet", p,
                        os.path.join(tmp, "tsdb")], check=True)
        os.unlink(p)
    return tmp


def link_tree(src, dst):
    for dirpath, _, files in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for f in files:
            os.link(os.path.join(dirpath, f), os.path.join(dst, rel, f))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(argv):
    """(wall s, cpu s, peak RSS KiB) of one run; output discarded."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%U %S %M"] + argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (argv[0], r.stderr.strip()[-300:]))
    u, s, m = r.stderr.strip().splitlines()[-1].split()
    return wall, float(u) + float(s), int(m)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    sg = os.environ.get("STOPGATE", os.path.join(ROOT, "_build", "release", "src", "stopgate"))
    work = tempfile.mkdtemp(prefix="rr-read-floor.")
    prom = None
    try:
        link_tree(os.path.join(dataset(), "tsdb"), os.path.join(work, "data"))
        port = free_port()
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 15s\n")
        prom = subprocess.Popen(["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(work, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % port, "--storage.tsdb.retention.time=100y",
                                 "--log.level=error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = "http://127.0.0.1:%d" % port
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        start, end = gen.T0_S, gen.T_END_S
        read = url + "/api/v1/read"
        for rt in ("streamed", "samples"):
            req = os.path.join(work, "req-%s.bin" % rt)
            base = [sg, "read", "--response-type=" + rt, "--timeout=600s", "--start=%d" % start,
                    "--end=%d" % end, read, SELECTOR]
            subprocess.run(base[:2] + ["--write-request=" + req] + base[2:], check=True,
                           stdout=subprocess.DEVNULL)
            sides = {
                "floor": ["curl", "-sS", "--fail", "-o", "/dev/null", "-H", "Expect:", "-H", "Content-Encoding: snappy",
                          "-H", "Content-Type: application/x-protobuf", "--data-binary", "@" + req, read],
                "read_text": base,
                "read_json": base[:2] + ["-o", "json"] + base[2:],
            }
            res = {k: [] for k in sides}
            for _ in range(a.runs):
                for k, argv in sides.items():
                    res[k].append(timed(argv))
            for k, runs in res.items():
                print(json.dumps({
                    "name": "%s_%s" % (rt, k), "samples": 5040000,
                    "wall_s": round(statistics.median(r[0] for r in runs), 3),
                    "wall_min_s": round(min(r[0] for r in runs), 3),
                    "cpu_s": round(statistics.median(r[1] for r in runs), 3),
                    "peak_rss_mb": round(max(r[2] for r in runs) / 1024, 1)}), flush=True)
    finally:
        if prom:
            prom.terminate()
            prom.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
