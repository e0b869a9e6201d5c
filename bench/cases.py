"""bench/cases.py - what bench/run measures: sizes, expressions, reads.

Every expression is a stop condition as users write them. Each lists the
selectors it reads and the window each one needs (range selector: its
range; instant selector: the 5 m lookback), which is what the transport
floor asks the server for when stopgate cannot write its own request bytes.
Changing anything here changes the published figures: re-run bench/run.
"""

import gen

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}

# Instant queries run at the end of the data; range queries over all 6 h.
INSTANT_TIME_S = gen.T_END_S
RANGE_START_S = gen.T0_S
RANGE_END_S = gen.T_END_S
RANGE_STEP = "15s"
LOOKBACK_MS = 5 * 60 * 1000


def _sel(metric, window_ms, func=""):
    return {"metric": metric, "window_ms": window_ms, "func": func}


M5, M10 = 5 * 60 * 1000, 10 * 60 * 1000

EXPRS = [
    {"name": "rate_by_job",
     "expr": "sum by (job) (rate(http_requests_total[5m]))",
     "selectors": [_sel("http_requests_total", M5, "rate")]},
    {"name": "increase",
     "expr": "increase(http_requests_total[10m])",
     "selectors": [_sel("http_requests_total", M10, "increase")],
     "instant_only": True},  # one output series per input series: JSON size, not a stop shape, over 6 h
    {"name": "max_over_time",
     "expr": "max_over_time(queue_depth[10m]) > 900",
     "selectors": [_sel("queue_depth", M10, "max_over_time")]},
    {"name": "error_ratio",
     "expr": "sum by (job) (rate(http_request_errors_total[5m])) / sum by (job) (rate(http_requests_total[5m]))",
     "selectors": [_sel("http_request_errors_total", M5, "rate"), _sel("http_requests_total", M5, "rate")]},
    {"name": "stale_job",
     "expr": "time() - max by (job) (last_success_timestamp_seconds) > 60",
     "selectors": [_sel("last_success_timestamp_seconds", LOOKBACK_MS)]},
    {"name": "by_label",
     "expr": "sum by (namespace, code) (increase(http_requests_total[10m]))",
     "selectors": [_sel("http_requests_total", M10, "increase")]},
    {"name": "p99",
     "expr": "histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))",
     "selectors": [_sel("http_request_duration_seconds_bucket", M5, "rate")]},
    {"name": "targets_down",
     "expr": "count by (job) (up == 0)",
     "selectors": [_sel("up", LOOKBACK_MS)]},
]

SMOKE_EXPRS = ["rate_by_job", "stale_job"]

# Raw reads of at least 5 M samples where the dataset has them:
# (selector metric, window in hours ending at the end of the data).
READS = {
    "1k": ("http_request_duration_seconds_bucket", 6),     # 350 series x 1440 = 0.5 M
    "10k": ("http_request_duration_seconds_bucket", 6),    # 3500 x 1440 = 5.0 M
    "100k": ("http_request_duration_seconds_bucket", 1),   # 35000 x 240 = 8.4 M
}

RESPONSE_TYPES = ["auto", "samples", "streamed"]
