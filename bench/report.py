"""bench/report.py - docs/benchmarks.md's generated parts and its SVG plot.

Everything between `<!-- bench:begin NAME -->` and `<!-- bench:end NAME -->`
in docs/benchmarks.md is rewritten from bench/results.json; the prose
around the markers is kept as written. The plot (docs/benchmarks-scaling.svg)
is hand-written SVG: no plotting library. Nothing here measures anything.
"""

import math
import os
import re

import cases

SIZES = list(cases.SIZES)
FLOOR_TARGET = 1.25
RULES_TARGET = 10.0
READ_TARGET_SAMPLES = 5_000_000  # (5) judges reads of at least this many samples


def _t(sec):
    if sec is None:
        return "–"
    if sec < 1:
        return "%.1f ms" % (sec * 1000) if sec >= 0.01 else "%.2f ms" % (sec * 1000)
    return "%.2f s" % sec


def _cell(side):
    if not side:
        return "–"
    if side.get("status") == "missing":
        return "not implemented yet"
    if side.get("status") == "error":
        return "error"
    if "median" not in side:
        return "–"
    return "%s (%s–%s)" % (_t(side["median"]), _t(side["min"]), _t(side["max"]))


def _ratio(sides, a, b):
    x, y = sides.get(a) or {}, sides.get(b) or {}
    if "median" in x and "median" in y and y["median"] > 0:
        return x["median"] / y["median"]
    return None


def _r(v, target=None, higher_better=False):
    if v is None:
        return "–"
    s = "%.2f×" % v
    if target is not None:
        ok = v >= target if higher_better else v <= target
        s += "" if ok else " ✗"
    return s


def _rss(side):
    if not side or "rss_kb" not in side:
        return "–"
    # user + system time as GNU time reports it, in 10 ms ticks
    cpu = ""
    if "cpu" in side:
        cpu = ("%s / " % _t(side["cpu"])) if side["cpu"] > 0 else "< 10 ms / "
    return cpu + "%.1f MB" % (side["rss_kb"] / 1024)


def _agree(c):
    if "agree" not in c:
        return "–"
    return {True: "yes", False: "**no**", None: "?"}[c["agree"]]


def _query_table(section):
    rows = ["| case | resp. type | stopgate median (min–max) | floor median (min–max) | ÷ floor "
            "| Prometheus API | ÷ API | stopgate CPU / peak RSS | same result |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, c in section.items():
        s = c["sides"]
        for i, rt in enumerate(cases.RESPONSE_TYPES):
            sg = s.get("stopgate/" + rt)
            rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                name if i == 0 else "", rt, _cell(sg), _cell(s.get("floor/" + rt)),
                _r(_ratio(s, "stopgate/" + rt, "floor/" + rt), FLOOR_TARGET),
                _cell(s.get("prometheus")) if i == 0 else "",
                _r(_ratio(s, "stopgate/" + rt, "prometheus")), _rss(sg), _agree(c) if i == 0 else ""))
    return "\n".join(rows)


def _read_table(c):
    s = c["sides"]
    rows = ["| resp. type | stopgate median (min–max) | floor median (min–max) | ÷ floor | stopgate samples/s "
            "| Prometheus API (`%s[%dh]`) | stopgate CPU / peak RSS |" % (c["selector"], c["hours"]),
            "|---|---|---|---|---|---|---|"]
    for i, rt in enumerate(cases.RESPONSE_TYPES):
        sg = s.get("stopgate/" + rt) or {}
        rate = "%.1f M" % (c["samples"] / sg["median"] / 1e6) if "median" in sg else "–"
        rows.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            rt, _cell(sg), _cell(s.get("floor/" + rt)), _r(_ratio(s, "stopgate/" + rt, "floor/" + rt), FLOOR_TARGET),
            rate, _cell(s.get("prometheus")) if i == 0 else "", _rss(sg)))
    return "\n".join(rows)


def _targets(res):
    """One line per target: the worst ratio over every size and case."""
    rows = ["| target | worst measured | where | met |", "|---|---|---|---|"]
    for kind, label in (("instant", "(1) query instant ≤ 1.25× floor"), ("range", "(2) query range ≤ 1.25× floor"),
                        ("read", "(5) read of ≥ 5 M samples ≤ 1.25× floor")):
        worst, where, n = None, "", 0
        for size in SIZES:
            sres = res.get("sizes", {}).get(size, {})
            if kind == "read":
                # the target is about reads of at least 5 M samples; the
                # smaller read of the 1k set is reported but not judged
                read = sres.get("read")
                items = {"read": read} if read and read.get("samples", 0) >= READ_TARGET_SAMPLES else {}
            else:
                items = sres.get(kind, {})
            for name, c in items.items():
                for rt in cases.RESPONSE_TYPES:
                    r = _ratio(c["sides"], "stopgate/" + rt, "floor/" + rt)
                    if r is None:
                        continue
                    n += 1
                    if worst is None or r > worst:
                        worst, where = r, "%s %s %s" % (size, name, rt)
        rows.append("| %s | %s | %s | %s |" % (label, _r(worst), where or "not measured yet",
                                               "–" if worst is None else ("yes" if worst <= FLOOR_TARGET else "**no**")))
    rules = res.get("rules", {}).get("sides", {})
    r = _ratio(rules, "promtool", "stopgate")
    rows.append("| (3) test rules ≥ 10× faster than promtool | %s | corpus | %s |" % (
        "%.1f× faster" % r if r else "–", "–" if r is None else ("yes" if r >= RULES_TARGET else "**no**")))
    xrows = res.get("xor", {}).get("rows") or []
    ir = {str(r.get("name", ""))[len("callgrind_"):]: r.get("instructions_per_sample")
          for r in xrows if str(r.get("name", "")).startswith("callgrind_")}
    for row in xrows:
        name = str(row.get("name", "?"))
        sps = xor_rate(row)
        if sps is None or not name.startswith("xor_"):
            continue
        tgt, what = (100e6, "regular counters") if "counter" in name else (50e6, "jittered gauges")
        extra = ", %.1f instructions/sample" % ir[name] if isinstance(ir.get(name), (int, float)) else ""
        rows.append("| (4) XOR decode, %s ≥ %d M samples/s | %.0f M samples/s%s | %s | %s |" % (
            what, tgt / 1e6, sps / 1e6, extra, name, "yes" if sps >= tgt else "**no**"))
    return "\n".join(rows)


def xor_rate(row):
    """Samples per second of a bench/rr/run line (samples_per_s or msamples_per_s)."""
    if isinstance(row.get("samples_per_s"), (int, float)):
        return float(row["samples_per_s"])
    if isinstance(row.get("msamples_per_s"), (int, float)):
        return float(row["msamples_per_s"]) * 1e6
    return None


def results_md(res):
    out = ["Measured %d times per side, sides alternating run by run; medians with min–max. "
           "`÷ floor` is stopgate's median over the floor's (✗: over the %.2f× target); `÷ API` "
           "is stopgate's median over Prometheus's own query API. A case whose round takes minutes runs fewer "
           "rounds, at least 3 (`runs` per side in bench/results.json)." % (res.get("runs", 0), FLOOR_TARGET), "",
           "### Targets", "", _targets(res), ""]
    for size in SIZES:
        sres = res.get("sizes", {}).get(size)
        if not sres:
            continue
        out += ["### %s series (%s, measured %s)" % (size, sres.get("dataset", ""), sres.get("when", "")), ""]
        if sres.get("load"):
            out += ["Load average (1, 5, 15 min) before → after: %s." % sres["load"], ""]
        base = sres.get("baseline", {})
        if base:
            out += ["Process start baselines: %s." % "; ".join(
                "`%s` %s" % (k, _cell(v)) for k, v in base.items()), ""]
        if sres.get("instant"):
            out += ["Instant queries at the end of the data:", "", _query_table(sres["instant"]), ""]
        if sres.get("range"):
            out += ["Range queries over 6 h at 15 s:", "", _query_table(sres["range"]), ""]
        profs = []
        for kind in ("instant", "range"):
            for name, c in sres.get(kind, {}).items():
                r = _ratio(c["sides"], "stopgate/auto", "floor/auto")
                if c.get("profile") and r is not None and r > FLOOR_TARGET:
                    profs.append(("%s %s (%.2f× floor)" % (kind, name, r), c["profile"]))
        if sres.get("read", {}).get("profile"):
            profs.append(("read", sres["read"]["profile"]))
        if profs:
            out += ["<details><summary>Profiles of stopgate/auto (perf, cpu-clock, share of stopgate's CPU "
                    "samples) where it is over the target</summary>", ""]
            for title, rows in profs:
                out += ["**%s**: " % title + ", ".join("%s %.0f%%" % (r["sym"].split()[0][:60], r["pct"])
                                                         for r in rows[:10]), ""]
            out += ["</details>", ""]
        if sres.get("read"):
            c = sres["read"]
            when = " (measured %s)" % c["when"] if c.get("when") and c["when"] != sres.get("when") else ""
            out += ["`stopgate read` of `%s` over %d h: %d samples%s:" % (c["selector"], c["hours"], c["samples"],
                                                                        when), "",
                    _read_table(c), ""]
    rules = res.get("rules")
    if rules:
        s = rules["sides"]
        out += ["### `test rules` over the conformance corpus", "",
                "%d files, %d test groups (%d known failures left out)." % (
                    rules["files"], rules["groups"], rules["excluded"]), "",
                "| command | median (min–max) | CPU / peak RSS |", "|---|---|---|"]
        for name in ("stopgate", "promtool"):
            if name in s:
                out.append("| `%s test rules` | %s | %s |" % (name, _cell(s[name]), _rss(s[name])))
        r = _ratio(s, "promtool", "stopgate")
        out += ["", "stopgate is %s faster than promtool." % ("%.1f×" % r if r else "– (not measured)"), ""]
    xor = res.get("xor")
    if xor:
        out += ["### XOR chunk decode (bench/rr/)", ""]
        if xor.get("status") != "ok":
            out += ["Not measured: %s." % xor.get("note", xor.get("status")), ""]
        else:
            keys = []
            for row in xor["rows"]:
                for k in row:
                    if k not in keys:
                        keys.append(k)
            out += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
            for row in xor["rows"]:
                out.append("| " + " | ".join(_fmt_val(row.get(k, "")) for k in keys) + " |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _fmt_val(v):
    if isinstance(v, float):
        if v >= 1e6:
            return "%.1f M" % (v / 1e6)
        return "%.4g" % v
    return str(v)


def machine_md(res):
    m = res.get("machine", {})
    rows = ["| | |", "|---|---|"]
    for k, label in (("cpu", "CPU"), ("nproc", "nproc"), ("memory", "memory"), ("kernel", "kernel"), ("os", "OS"),
                     ("load_at_start", "load average at start"), ("stopgate", "stopgate"),
                     ("prometheus", "Prometheus"), ("promtool", "promtool"), ("curl", "curl"),
                     ("python", "python3")):
        if k in m:
            rows.append("| %s | %s |" % (label, str(m[k]).replace("|", "\\|")))
    return "\n".join(rows) + "\n"


# --- the plot -------------------------------------------------------------------------

PLOT_SIDES = [("stopgate/auto", "stopgate", "#1f77b4"), ("floor/auto", "transport floor (curl)", "#2ca02c"),
              ("prometheus", "Prometheus query API", "#d62728")]


def _panel_points(res, kind):
    """({side: [(series, seconds)]}, cases): the sum of the medians over the
    cases that every plotted side finished at every size, so the lines stay
    comparable when one case failed somewhere."""
    per = {}
    for size in SIZES:
        sres = res.get("sizes", {}).get(size, {})
        items = {"read": sres["read"]} if kind == "read" and "read" in sres else \
            (sres.get(kind, {}) if kind != "read" else {})
        if items:
            per[size] = items
    common = None
    for items in per.values():
        ok = {n for n, c in items.items()
              if all(c["sides"].get(side, {}).get("median") is not None for side, _, _ in PLOT_SIDES)}
        common = ok if common is None else common & ok
    common = sorted(common or [])
    pts = {}
    if not common:
        return pts, 0
    for size, items in per.items():
        for side, _, _ in PLOT_SIDES:
            pts.setdefault(side, []).append((cases.SIZES[size], sum(items[n]["sides"][side]["median"] for n in common)))
    return pts, len(common)


def svg(res):
    panels = [("instant", "instant queries (sum over %d expressions)"),
              ("range", "range queries, 6 h at 15 s (sum over %d)"), ("read", "raw read (0.5 M, 5 M, 8.4 M samples)")]
    W, H, PW, PH, ML, MT = 960, 360, 250, 220, 70, 50
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="11">' % (W, H, W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="14" font-weight="bold">Median wall time vs series count '
           '(log–log; lower is better)</text>' % ML]
    for pi, (kind, title) in enumerate(panels):
        x0, y0 = ML + pi * (PW + 70), MT
        pts, ncases = _panel_points(res, kind)
        if "%d" in title:
            title = title % ncases
        out.append('<text x="%d" y="%d" font-size="12">%s</text>' % (x0, y0 - 8, title))
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>' % (x0, y0, PW, PH))
        vals = [t for p in pts.values() for _, t in p]
        if not vals:
            out.append('<text x="%d" y="%d" fill="#888">not measured yet</text>' % (x0 + 60, y0 + PH // 2))
            continue
        lo = 10 ** math.floor(math.log10(min(vals)))
        hi = 10 ** math.ceil(math.log10(max(vals)))
        if hi <= lo:
            hi = lo * 10
        xs = [cases.SIZES[s] for s in SIZES]
        xl, xh = math.log10(min(xs)) - 0.15, math.log10(max(xs)) + 0.15

        def X(n):
            return x0 + (math.log10(n) - xl) / (xh - xl) * PW

        def Y(t):
            return y0 + PH - (math.log10(t) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * PH
        d = lo
        while d <= hi * 1.0001:
            y = Y(d)
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (x0, y, x0 + PW, y))
            out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (
                x0 - 4, y + 4, "%g ms" % round(d * 1000, 3) if d < 1 else "%g s" % d))
            d *= 10
        for s in SIZES:
            x = X(cases.SIZES[s])
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x, y0, x, y0 + PH))
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, y0 + PH + 15, s))
        out.append('<text x="%d" y="%d" text-anchor="middle">series in the dataset</text>' % (
            x0 + PW // 2, y0 + PH + 32))
        for side, _, color in PLOT_SIDES:
            p = pts.get(side)
            if not p:
                continue
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (
                color, " ".join("%.1f,%.1f" % (X(n), Y(t)) for n, t in p)))
            for n, t in p:
                out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %s</title></circle>' % (
                    X(n), Y(t), color, side, n, _t(t)))
    lx = ML
    for side, label, color in PLOT_SIDES:
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>' % (
            lx, H - 18, lx + 20, H - 18, color))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 25, H - 14, label))
        lx += 220
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _replace(text, name, body):
    begin, end = "<!-- bench:begin %s -->" % name, "<!-- bench:end %s -->" % name
    pat = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    block = begin + "\n" + body.rstrip("\n") + "\n" + end
    if pat.search(text):
        return pat.sub(lambda _: block, text)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def write_docs(res, root):
    page = os.path.join(root, "docs", "benchmarks.md")
    with open(page) as f:
        text = f.read()
    text = _replace(text, "machine", machine_md(res))
    text = _replace(text, "results", results_md(res))
    with open(page, "w") as f:
        f.write(text)
    with open(os.path.join(root, "docs", "benchmarks-scaling.svg"), "w") as f:
        f.write(svg(res))
