#!/usr/bin/env python3
"""tests/differential/gen.py - data and expressions for the differential test.

    gen.py data FILE           write the fixed data set as OpenMetrics
    gen.py write URL           send it to a Prometheus remote-write receiver
                               (URL .../api/v1/write), with the series that
                               have stale markers, which OpenMetrics cannot carry
    gen.py exprs SEED N        print N cases "TIME_MS<TAB>EXPR" for SEED

The data set is fixed (its own seed) so that one Prometheus serves every
expression seed. Expressions are drawn from a grammar of PromQL: selectors
with matchers, offsets and @, range functions over range selectors and
subqueries, instant functions, aggregations with by/without, binary
operators with on/ignoring/group_left/group_right and bool, set operators,
scalars. Evaluation times fall inside the data with random milliseconds.
"""
import os
import random
import struct
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pbwire  # noqa: E402

T0 = 1_700_000_000_000          # ms; first sample
SPAN = 2 * 3600 * 1000          # data covers two hours
STEP = 15_000                   # nominal scrape interval
DATA_SEED = 20231114

JOBS = ["api", "db", "web"]
INSTANCES = ["i1", "i2"]
CODES = ["200", "500"]
LES = ["0.1", "0.5", "1", "+Inf"]


def fmt(v):
    if v != v:
        return "NaN"
    if v == float("inf"):
        return "+Inf"
    if v == float("-inf"):
        return "-Inf"
    return repr(float(v))


STALE = "stale"  # a stale marker (Prometheus's StaleNaN bits)


def build_data(with_stale):
    rnd = random.Random(DATA_SEED)
    fams = {}

    def series(name, labels, points):
        fams.setdefault(name, []).append((labels, points))

    def times(jitter=True, gap_prob=0.0):
        t = T0
        out = []
        while t <= T0 + SPAN:
            if rnd.random() >= gap_prob:
                out.append(t + (rnd.randint(-400, 400) if jitter else 0))
            t += STEP
        return out

    for job in JOBS:
        for inst in INSTANCES:
            for code in CODES:
                v = rnd.randint(0, 100)
                pts = []
                for t in times(gap_prob=0.02):
                    if rnd.random() < 0.01:
                        v = rnd.randint(0, 5)  # counter reset
                    else:
                        v += rnd.choice([0, 1, 2, 5, 0.5, 13])
                    pts.append((t, v))
                series("req_total", {"job": job, "instance": inst, "code": code}, pts)
            g = rnd.uniform(-20, 40)
            pts = []
            for t in times():
                g += rnd.uniform(-2, 2)
                v = round(g, rnd.choice([0, 1, 3, 6]))
                if rnd.random() < 0.005:
                    v = float("nan")
                pts.append((t, v))
            series("temp", {"job": job, "instance": inst}, pts)
            pts = [(t, float(rnd.random() < 0.9)) for t in times(jitter=False)]
            series("up", {"job": job, "instance": inst}, pts)
        counts = [0.0] * len(LES)
        pts_by_le = [[] for _ in LES]
        for t in times(jitter=False, gap_prob=0.01):
            inc = [rnd.randint(0, 4) for _ in LES]
            acc = 0
            for i in range(len(LES)):
                acc += inc[i]
                counts[i] += acc
                pts_by_le[i].append((t, counts[i]))
        for i, le in enumerate(LES):
            series("lat_bucket", {"job": job, "le": le}, pts_by_le[i])
        # sparse series: long gaps exercise the lookback
        pts = []
        t = T0
        while t <= T0 + SPAN:
            pts.append((t, rnd.choice([1, 2, 3, 1e-7, 2.5e21, -0.0, 42])))
            t += rnd.choice([60_000, 240_000, 299_000, 301_000, 600_000])
        series("sparse", {"job": job}, pts)

    if with_stale:
        # series that stop and come back: a stale marker ends each run, as a
        # scrape that lost its target writes one
        srnd = random.Random(DATA_SEED + 1)
        for job in JOBS:
            for inst in INSTANCES:
                pts, t, up_now, v = [], T0, True, srnd.randint(0, 50)
                while t <= T0 + SPAN:
                    if up_now:
                        v += srnd.choice([0, 1, 3])
                        pts.append((t, float(v)))
                        if srnd.random() < 0.04:
                            pts.append((t + STEP, STALE))
                            up_now = False
                            t += STEP
                    elif srnd.random() < 0.2:
                        up_now = True
                    t += STEP
                series("flap", {"job": job, "instance": inst}, pts)
    return fams


def gen_data(path):
    fams = build_data(False)
    with open(path, "w") as f:
        for name, ss in fams.items():
            f.write(f"# TYPE {name} unknown\n")
            for labels, pts in ss:
                lab = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                for t, v in pts:
                    f.write(f"{name}{{{lab}}} {fmt(v)} {t // 1000}.{t % 1000:03d}\n")
        f.write("# EOF\n")


# ---- remote write ----------------------------------------------------------------
# The WriteRequest is encoded by hand (tests/lib/pbwire.py) and sent as a snappy
# block made only of literals.

STALE_BITS = struct.pack("<Q", 0x7FF0000000000002)


def write_data(url):
    import urllib.request
    fams = build_data(True)
    series = []
    for name, ss in fams.items():
        for labels, pts in ss:
            series.append(pbwire.timeseries(
                sorted([("__name__", name)] + list(labels.items())),
                [(t, STALE_BITS if v == STALE else pbwire.f64(v)) for t, v in pts]))
    body = pbwire.snappy_block(pbwire.write_request(series))
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0"})
    with urllib.request.urlopen(req, timeout=60) as r:
        if r.status // 100 != 2:
            sys.exit(f"remote write answered {r.status}")


# ---- expressions ---------------------------------------------------------------

METRICS = {
    "req_total": ["job", "instance", "code"],
    "temp": ["job", "instance"],
    "up": ["job", "instance"],
    "lat_bucket": ["job", "le"],
    "sparse": ["job"],
    "flap": ["job", "instance"],
}
VALUES = {"job": JOBS + ["nope"], "instance": INSTANCES, "code": CODES, "le": LES}
ALL_LABELS = ["job", "instance", "code", "le", "__name__"]

RANGE_FUNCS = ["rate", "increase", "delta", "irate", "idelta", "avg_over_time",
               "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
               "last_over_time", "stddev_over_time", "stdvar_over_time", "changes",
               "resets", "deriv", "present_over_time", "absent_over_time"]
INSTANT_FUNCS = ["abs", "ceil", "floor", "sqrt", "sgn", "exp", "ln", "log2", "log10",
                 "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                 "asinh", "acosh", "atanh", "deg", "rad", "timestamp", "sort", "sort_desc",
                 "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour",
                 "minute", "month", "year", "histogram_count", "histogram_sum"]
AGGRS = ["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"]
ARITH = ["+", "-", "*", "/", "%", "^", "atan2"]
CMP = ["==", "!=", ">", "<", ">=", "<="]
SETOPS = ["and", "or", "unless"]
DURS = ["30s", "1m", "90s", "2m", "5m", "5m30s", "10m", "15m", "1h"]
OFFS = ["30s", "1m", "5m", "17s", "1h", "-1m", "-30s"]


class Gen:
    def __init__(self, rnd, t_ms):
        self.r = rnd
        self.t = t_ms

    def pick(self, xs):
        return self.r.choice(xs)

    def matchers(self, metric):
        labs = METRICS[metric]
        out = []
        for _ in range(self.r.choice([0, 0, 1, 1, 2])):
            lab = self.pick(labs)
            op = self.pick(["=", "=", "!=", "=~", "!~"])
            if op in ("=~", "!~"):
                val = self.pick([".*", ".+", "a.*", "(api|db)", "i[12]", "2..", "[0-9.]+", ""])
            else:
                val = self.pick(VALUES[lab])
            out.append(f'{lab}{op}"{val}"')
        return out

    def modifiers(self):
        s = ""
        if self.r.random() < 0.15:
            s += " offset " + self.pick(OFFS)
        if self.r.random() < 0.1:
            k = self.r.random()
            if k < 0.3:
                s = " @ start()" + s
            elif k < 0.5:
                s = " @ end()" + s
            else:
                at = (self.t + self.r.randint(-3_600_000, 600_000)) / 1000.0
                s = f" @ {at:.3f}" + s
        return s

    def selector(self, metric=None):
        metric = metric or self.pick(list(METRICS))
        ms = self.matchers(metric)
        if ms and self.r.random() < 0.2:
            return "{" + ",".join([f'__name__="{metric}"'] + ms) + "}"
        return metric + ("{" + ",".join(ms) + "}" if ms else "")

    def range_arg(self, depth):
        if depth > 0 and self.r.random() < 0.15:
            inner = self.vector(depth - 1)
            step = self.pick(["", "1m", "30s", "2m", "45s"])
            return f"({inner})[{self.pick(DURS)}:{step}]" + self.modifiers()
        sel = self.selector()
        return f"{sel}[{self.pick(DURS)}]" + self.modifiers()

    def scalar(self, depth):
        k = self.r.random()
        if k < 0.45 or depth <= 0:
            return self.pick(["0", "1", "2", "0.5", "-1", "3", "100", "1e-3", "0.25", "10"])
        if k < 0.6:
            return "time()"
        if k < 0.8:
            return f"scalar({self.vector(depth - 1)})"
        return f"({self.scalar(depth - 1)} {self.pick(ARITH + [c + ' bool' for c in CMP])} {self.scalar(depth - 1)})"

    def grouping(self):
        k = self.r.random()
        labs = self.r.sample(ALL_LABELS[:-1], self.r.randint(0, 2))
        if k < 0.35:
            return ""
        if k < 0.75:
            return f" by ({', '.join(labs)})"
        return f" without ({', '.join(labs)})"

    def vector(self, depth):
        if depth <= 0:
            return self.selector() + self.modifiers()
        k = self.r.random()
        if k < 0.15:
            return self.selector() + self.modifiers()
        if k < 0.35:
            f = self.pick(RANGE_FUNCS + ["quantile_over_time", "predict_linear", "holt_winters"])
            a = self.range_arg(depth)
            if f == "quantile_over_time":
                return f"quantile_over_time({self.pick(['0', '0.5', '0.9', '1', '-1', '2'])}, {a})"
            if f == "predict_linear":
                return f"predict_linear({a}, {self.pick(['60', '0', '-300', '3600'])})"
            if f == "holt_winters":
                return f"holt_winters({a}, {self.pick(['0.5', '0.1', '0.9'])}, {self.pick(['0.5', '0.3'])})"
            return f"{f}({a})"
        if k < 0.45:
            f = self.pick(INSTANT_FUNCS + ["round", "clamp", "clamp_min", "clamp_max",
                                           "label_replace", "label_join", "absent",
                                           "histogram_quantile"])
            v = self.vector(depth - 1)
            if f == "round":
                return f"round({v}, {self.pick(['1', '0.5', '10', '0.1'])})"
            if f == "clamp":
                return f"clamp({v}, {self.pick(['-1', '0', '1'])}, {self.pick(['5', '0', '100'])})"
            if f in ("clamp_min", "clamp_max"):
                return f"{f}({v}, {self.scalar(depth - 1)})"
            if f == "label_replace":
                return (f'label_replace({v}, "{self.pick(["dst", "job", "__name__", "x"])}", '
                        f'"{self.pick(["$1", "${1}-z", "a$2b", "", "$name"])}", '
                        f'"{self.pick(ALL_LABELS)}", "{self.pick(["(.*)", "(a)(p)i", "i(.)", "(?P<name>.+)", ".*"])}")')
            if f == "label_join":
                return (f'label_join({v}, "{self.pick(["dst", "job"])}", "{self.pick(["-", ",", ""])}", '
                        f'"{self.pick(ALL_LABELS)}", "{self.pick(ALL_LABELS)}")')
            if f == "histogram_quantile":
                inner = self.pick(["lat_bucket", f"rate(lat_bucket[{self.pick(DURS)}])",
                                   f"sum by (le) (rate(lat_bucket[{self.pick(DURS)}]))",
                                   f"sum by (job, le) (lat_bucket)"])
                return f"histogram_quantile({self.pick(['0.5', '0.9', '0.99', '0', '1', '1.5'])}, {inner})"
            return f"{f}({v})"
        if k < 0.65:
            op = self.pick(AGGRS + ["topk", "bottomk", "quantile", "count_values"])
            v = self.vector(depth - 1)
            g = self.grouping()
            if op in ("topk", "bottomk"):
                return f"{op}{g} ({self.pick(['1', '2', '3', '0'])}, {v})"
            if op == "quantile":
                return f"quantile{g} ({self.pick(['0.5', '0.9', '0', '1', '-0.5'])}, {v})"
            if op == "count_values":
                return f'count_values{g} ("{self.pick(["value", "job"])}", {v})'
            return f"{op}{g} ({v})"
        if k < 0.8:
            l, r = self.vector(depth - 1), self.vector(depth - 1)
            op = self.pick(ARITH + CMP + SETOPS)
            mod = ""
            if op in CMP and self.r.random() < 0.4:
                mod += " bool"
            if self.r.random() < 0.4:
                labs = ", ".join(self.r.sample(["job", "instance", "code", "le"], self.r.randint(0, 2)))
                mod += f" {self.pick(['on', 'ignoring'])}({labs})"
                if op not in SETOPS and self.r.random() < 0.4:
                    mod += f" {self.pick(['group_left', 'group_right'])}({self.pick(['', 'code', 'instance'])})"
            return f"({l} {op}{mod} {r})"
        if k < 0.92:
            v = self.vector(depth - 1)
            s = self.scalar(depth - 1)
            op = self.pick(ARITH + CMP)
            if op in CMP and self.r.random() < 0.4:
                op += " bool"
            return f"({v} {op} {s})" if self.r.random() < 0.5 else f"({s} {op} {v})"
        if k < 0.96:
            return f"-({self.vector(depth - 1)})"
        return f"vector({self.scalar(depth - 1)})"

    def expr(self):
        k = self.r.random()
        if k < 0.08:
            return self.scalar(2)
        if k < 0.12:
            return self.range_arg(2)
        if k < 0.13:
            return '"' + self.pick(["a", "", "x<y>&z", "\\u00e9\\n"]) + '"'
        return self.vector(self.r.randint(1, 4))


def gen_exprs(seed, n):
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        t = T0 + rnd.randint(10 * 60_000, SPAN + 10 * 60_000)
        if rnd.random() < 0.5:
            t -= t % 1000
        out.append((t, Gen(rnd, t).expr()))
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "data":
        gen_data(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "write":
        write_data(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "exprs":
        for t, e in gen_exprs(int(sys.argv[2]), int(sys.argv[3])):
            print(f"{t}\t{e}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
