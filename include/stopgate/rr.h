/* include/stopgate/rr.h - Prometheus remote read: requests, response
 * decoding (SAMPLES and STREAMED_XOR_CHUNKS) and the client.
 *
 * One call reads every query in ONE ReadRequest (one Query per selector,
 * each with its own window and hints) and returns one series set per query,
 * in query order:
 *
 *   struct sg_rr_query q[2] = {...};            selectors + windows
 *   sg_rr_read(client, q, 2, arena, &res, err)  blocking (CLI)
 *   sg_rr_read_async(client, http, q, 2, arena, cb, arg, &req, err)
 *                                               on the daemon's loop
 *
 * Every set is sorted by label set; every series holds its samples in
 * strictly increasing time order, clipped to the query's [start, end]
 * (both inclusive), with overlapping and duplicate chunk samples removed.
 * Stale markers keep their exact NaN bits. Series without a sample in the
 * window are dropped. Native histogram chunks are skipped and counted.
 *
 * The codec functions at the end (CRC32C, XOR chunks, the response decoder)
 * take (ptr, len) and serve the client, the tests and the fuzz targets
 * alike. Nothing here aborts on any input; every size is capped.
 */
#ifndef SG_RR_H
#define SG_RR_H

#include <stdint.h>
#include <stdio.h>

#include "stopgate/base.h"
#include "stopgate/config.h"
#include "stopgate/err.h"
#include "stopgate/http.h"
#include "stopgate/labels.h"
#include "stopgate/store.h"

/* Defaults (Prometheus's where it has one). */
#define SG_RR_DEFAULT_TIMEOUT_MS      INT64_C(10000)
#define SG_RR_DEFAULT_MAX_RESPONSE    ((size_t)1 << 30)   /* 1 GiB */
#define SG_RR_DEFAULT_MAX_FRAME       ((size_t)50000000)  /* chunked_read_limit */
#define SG_RR_DEFAULT_MAX_SAMPLES     ((size_t)50000000)  /* decoded samples per call */
#define SG_RR_DEFAULT_RETRIES         2
#define SG_RR_DEFAULT_MIN_BACKOFF_MS  INT64_C(100)
#define SG_RR_DEFAULT_MAX_BACKOFF_MS  INT64_C(2000)
/* auto: SAMPLES when every window is at most this long (about one XOR chunk
 * of 120 samples at a 15s scrape interval), STREAMED_XOR_CHUNKS otherwise. */
#define SG_RR_AUTO_SAMPLES_MAX_WINDOW_MS INT64_C(1800000)

/* enum sg_rr_response_type (config.h): SG_RR_RESPONSE_AUTO chooses by window
 * length (above), SG_RR_RESPONSE_SAMPLES asks for one ReadResponse,
 * SG_RR_RESPONSE_STREAMED for framed ChunkedReadResponse messages. */

/* "auto", "samples", "streamed". */
const char *sg_rr_response_type_name(enum sg_rr_response_type t);
/* The reverse; SG_EINVAL naming the text and the choices. */
SG_NODISCARD int sg_rr_response_type_parse(const char *s, enum sg_rr_response_type *out,
                                           struct sg_err *err);

/* ---- client options ------------------------------------------------------ */

struct sg_rr_header {
    const char *name;
    const char *value;
};

/* Hands over one series of a response instead of keeping it
 * (sg_rr_options.on_series, sg_rr_decoder_on_series). query: the
 * index of its query. s, its labels and samples are valid during the call
 * only. A code other than SG_OK (with err filled) aborts the read with
 * that error. */
typedef int (*sg_rr_series_cb)(size_t query, const struct sg_series *s, void *arg,
                               struct sg_err *err);

struct sg_rr_options {
    const char *url;                 /* full endpoint: http://host:9090/api/v1/read */
    int64_t timeout_ms;              /* whole call, retries and backoff included */
    const char *bearer_token_file;   /* re-read for every request (rotation) */
    const char *basic_auth_username; /* basic auth with the password read from */
    const char *basic_auth_password_file; /* this file for every request */
    const struct sg_rr_header *headers;   /* extra headers (X-Scope-OrgID, ...) */
    size_t nheaders;
    struct sg_http_tls tls;          /* CA, client cert/key, insecure_skip_verify */
    const struct sg_label *external_labels; /* the server's; matched and stripped */
    size_t nexternal_labels;
    size_t max_response_bytes;       /* body bytes, and SAMPLES uncompressed size */
    size_t max_frame_bytes;          /* one streamed frame's payload */
    size_t max_samples;              /* decoded samples per call */
    int retries;                     /* extra attempts on connection errors and 5xx */
    int64_t min_backoff_ms, max_backoff_ms;
    enum sg_rr_response_type response_type;
    const char *user_agent;          /* NULL: "stopgate/<version>" */
    /* When set, series are handed to on_series one by one instead of
     * being kept; the result's sets are then empty and its stats count
     * what was handed over. Per query they come in strictly increasing
     * label-set order, query after query. A STREAMED_XOR_CHUNKS answer is
     * handed over while it arrives: the protocol sends each series whole,
     * one after another, sorted by label set, so each is final when the
     * next begins; a server that breaks that order fails the read
     * (SG_EPROTO "series out of order"), so this is meant for reads whose
     * queries drop no external labels (dropping can reorder). A SAMPLES
     * answer promises no order (Prometheus 2.42 selects its series
     * without asking for them sorted): it is kept, put in
     * order and handed over at its end - or, with on_series_any_order,
     * handed over while it arrives, each series as soon as it is whole,
     * in the order the server sent them (a label set sent twice comes
     * twice), its samples decoded into one reused array and never kept. */
    sg_rr_series_cb on_series;
    void *on_series_arg;
    bool on_series_any_order;
    /* With on_series: called (with on_series_arg) when an answer's type
     * is known from its Content-Type, before any of its series is handed
     * over; once per answer (a retry's answer, or each query's when they
     * go one by one, calls it again). A code other than SG_OK aborts the
     * read with that error. NULL: not called. */
    int (*on_answer)(enum sg_rr_response_type type, void *arg, struct sg_err *err);
};

/* Fill o with the defaults above (url NULL, everything optional unset). */
void sg_rr_options_init(struct sg_rr_options *o);

/* Fill o from a config's remote_read section (defaults first, then every
 * value of cfg). o points into cfg (strings) and into a (the header and
 * external label arrays): both must outlive o, which sg_rr_client_new
 * copies. Callers apply command-line overrides afterwards. SG_ENOMEM. */
SG_NODISCARD int sg_rr_options_from_config(const struct sg_remote_read_config *cfg,
                                           struct sg_arena *a, struct sg_rr_options *o,
                                           struct sg_err *err);

/* ---- queries and results ------------------------------------------------- */

/* Advisory hints, sent as the Query's ReadHints (Prometheus's SelectHints). */
struct sg_rr_hints {
    int64_t start_ms, end_ms, step_ms, range_ms;
    const char *func;              /* NULL: none */
    const struct sg_str *grouping;
    size_t ngrouping;
    bool by;
};

struct sg_rr_query {
    int64_t start_ms, end_ms;      /* inclusive window */
    const struct sg_matcher *matchers; /* type, name and value are read */
    size_t nmatchers;
    const struct sg_rr_hints *hints;   /* NULL: no hints sent */
};

struct sg_rr_stats {
    uint64_t bytes;                /* response body bytes */
    uint64_t samples;              /* samples returned (after clipping) */
    uint64_t series;               /* series returned */
    uint64_t frames;               /* streamed frames decoded */
    uint64_t chunks;               /* XOR chunks decoded */
    uint64_t skipped_histogram_chunks;
    enum sg_rr_response_type response_type; /* what the server answered */
    int attempts;                  /* requests sent (1 + retries used) */
};

struct sg_rr_result {
    struct sg_series_set *sets;    /* one per query, in query order */
    size_t count;
    struct sg_rr_stats stats;
};

struct sg_promql_selection; /* promql.h */

/* Point q at a planned selection (promql.h): its window [mint, maxt], its
 * matchers and its hints (stored in *hints, which must live as long as q).
 * Views only: sel must outlive q. */
void sg_rr_query_from_selection(const struct sg_promql_selection *sel, struct sg_rr_query *q,
                                struct sg_rr_hints *hints);

/* ---- client -------------------------------------------------------------- */

struct sg_rr_client;
struct sg_rr_req;

/* Check and copy the options (every string and array is copied; nothing of
 * opts is kept). SG_EINVAL for a missing or non-http(s) URL, a header or
 * external label with an empty name, or a basic auth user without a
 * password file; SG_ENOMEM. Logs a warning when insecure_skip_verify is
 * set. Free with sg_rr_client_free. */
SG_NODISCARD int sg_rr_client_new(const struct sg_rr_options *opts, struct sg_rr_client **out,
                                  struct sg_err *err);
void sg_rr_client_free(struct sg_rr_client *c);

/* Read: every query in one ReadRequest, with retries and backoff inside the
 * client's timeout.
 * qs:     read during the call only.
 * arena:  every series array, label string and sample of the result; on
 *         failure partial allocations stay there until the arena is reset.
 * out:    one sorted set per query; untouched on failure.
 * err:    SG_EHTTP (status and the start of the body), SG_ETIMEDOUT, SG_EIO
 *         (connection), SG_EPROTO (framing, CRC, protobuf, XOR chunk, content
 *         type, result count), SG_ELIMIT (response, frame, sample caps or the
 *         arena's), SG_EINVAL (token or password file unreadable), SG_ENOMEM.
 * Runs a private uv loop; never call it from a loop callback. */
SG_NODISCARD int sg_rr_read(struct sg_rr_client *c, const struct sg_rr_query *qs, size_t n,
                            struct sg_arena *arena, struct sg_rr_result *out, struct sg_err *err);

/* Called exactly once, from the loop, never from inside sg_rr_read_async.
 * res is NULL when err is set; both are valid during the call only (the
 * series data itself lives in the arena). SG_ECANCELED after sg_rr_cancel. */
typedef void (*sg_rr_done_cb)(const struct sg_rr_result *res, const struct sg_err *err, void *arg);

/* The same read on http's loop. The client, http and arena must stay alive
 * until cb has run; qs is read during the call only. *out (may be NULL)
 * identifies the read for sg_rr_cancel until cb has run. When it returns an
 * error, cb is not called. */
SG_NODISCARD int sg_rr_read_async(struct sg_rr_client *c, struct sg_http *http,
                                  const struct sg_rr_query *qs, size_t n, struct sg_arena *arena,
                                  sg_rr_done_cb cb, void *arg, struct sg_rr_req **out,
                                  struct sg_err *err);

/* Abort a read in flight; its callback runs later with SG_ECANCELED. */
void sg_rr_cancel(struct sg_rr_req *req);

/* The exact request body sg_rr_read sends for these queries (protobuf
 * ReadRequest, snappy block compressed), appended to out; for tools that
 * replay the request (the benchmark's transport floor). */
SG_NODISCARD int sg_rr_build_request(const struct sg_rr_client *c, const struct sg_rr_query *qs,
                                     size_t n, struct sg_buf *out, struct sg_err *err);

/* The response types the request lists, in order of preference (1 or 2
 * entries; wire values: 0 SAMPLES, 1 STREAMED_XOR_CHUNKS). */
size_t sg_rr_accepted_types(enum sg_rr_response_type t, const struct sg_rr_query *qs, size_t n,
                            int wire_types[2]);

/* ---- codec: CRC32C ------------------------------------------------------- */

/* CRC-32C (Castagnoli) of p[0..n), continuing from `crc` (0 to start), with
 * the usual pre and post inversion: sg_rr_crc32c(0, "123456789", 9) ==
 * 0xE3069283. Uses the SSE4.2 crc32 instruction when the CPU has it. */
uint32_t sg_rr_crc32c(uint32_t crc, const void *p, size_t n);
/* The portable table version (tests compare the two). */
uint32_t sg_rr_crc32c_sw(uint32_t crc, const void *p, size_t n);
/* True when sg_rr_crc32c uses the hardware instruction. */
bool sg_rr_crc32c_hw(void);

/* ---- codec: XOR chunks --------------------------------------------------- */

/* The sample count in the 2-byte header; SG_EPROTO when len < 2. */
SG_NODISCARD int sg_rr_xor_count(const void *p, size_t len, size_t *n, struct sg_err *err);

/* Decode a whole XOR chunk (header included) into out[0..count). cap must
 * be at least the header's count. Reads only p[0..len): a chunk that ends
 * early is SG_EPROTO ("XOR chunk truncated at sample 17 of 120"). No check
 * of time order here. */
SG_NODISCARD int sg_rr_xor_decode(const void *p, size_t len, struct sg_sample *out, size_t cap,
                                  size_t *count, struct sg_err *err);

/* Encode samples as Prometheus's XOR chunk (for tests, fixtures and the
 * benchmark); n <= 65535, appended to out. */
SG_NODISCARD int sg_rr_xor_encode(const struct sg_sample *s, size_t n, struct sg_buf *out,
                                  struct sg_err *err);

/* ---- codec: snappy -------------------------------------------------------- */

/* Incremental decompressor for snappy's block format (SAMPLES bodies): feed
 * the compressed bytes in pieces of any size as they arrive. The declared
 * length is checked against max_len before any output is allocated; the
 * output is final as soon as it is produced, so a reader may consume it
 * while the rest is still on its way. Accepts exactly what the snappy
 * library's RawUncompress accepts (tests/fuzz/fuzz_snappy.c), with one
 * limit once the reader releases output (sg_rr_snappy_release): a copy
 * may reach back at most hist bytes (SG_RR_SNAPPY_HISTORY unless set
 * after init), where every known encoder stays within 64 KiB.
 *
 * out[0 .. have - base) holds output bytes [base, have); base stays 0 and
 * out holds everything produced until the reader releases a prefix. The
 * fields are private except out, base, len, have and hist. */
#define SG_RR_SNAPPY_HISTORY ((size_t)256 << 10)

struct sg_rr_snappy {
    uint8_t *out;      /* output bytes [base, have), once the length is known (owned) */
    size_t base;       /* the output offset of out[0] */
    size_t len;        /* the declared length */
    size_t have;       /* output bytes produced so far */
    size_t hist;       /* how far back a copy may reach once output is released */
    size_t max;        /* cap on the declared length */
    size_t cap;        /* bytes allocated at out (past them: slack) */
    size_t released;   /* the reader needs no output before this offset */
    uint64_t declared; /* the length varint being read */
    unsigned vbytes;   /* its bytes so far */
    int state;
    uint8_t tag[5];    /* an element header split across pieces */
    unsigned tag_have;
    size_t lit_left;   /* bytes of a literal still to come */
    size_t far;        /* the offset of a copy that reaches too far */
};

void sg_rr_snappy_init(struct sg_rr_snappy *z, size_t max_len);
/* SG_EPROTO ("not snappy compressed data" for a bad length, "corrupt
 * snappy data" for the rest, "reaches back ... bytes" for a copy past the
 * kept history), SG_ELIMIT (declared length over max_len), SG_ENOMEM.
 * After an error only sg_rr_snappy_cleanup may follow. */
SG_NODISCARD int sg_rr_snappy_feed(struct sg_rr_snappy *z, const void *p, size_t n,
                                   struct sg_err *err);
/* End of input: SG_OK when the output is whole (have == len), SG_EPROTO
 * when the stream ended early (inside the length, an element, or short of
 * the declared length). */
SG_NODISCARD int sg_rr_snappy_finish(struct sg_rr_snappy *z, struct sg_err *err);
/* The reader no longer needs output before offset upto (<= have): the
 * decoder may drop it, keeping the last hist bytes for copies, when it
 * next needs room. Output never released is kept. */
void sg_rr_snappy_release(struct sg_rr_snappy *z, size_t upto);
/* Free the output (out becomes NULL). */
void sg_rr_snappy_cleanup(struct sg_rr_snappy *z);

/* ---- codec: responses ---------------------------------------------------- */

/* A frame as the server writes it: uvarint length, big-endian CRC32C of the
 * payload, payload. Appended to out (for tests and test servers). */
SG_NODISCARD int sg_rr_frame_encode(const void *payload, size_t len, struct sg_buf *out);

/* What the decoder needs to know of each query. */
struct sg_rr_decode_query {
    int64_t start_ms, end_ms;          /* samples outside are dropped */
    const struct sg_str *drop_labels;  /* label names removed from results */
    size_t ndrop_labels;
};

struct sg_rr_decode_limits {
    size_t max_response_bytes; /* 0: SG_RR_DEFAULT_MAX_RESPONSE */
    size_t max_frame_bytes;    /* 0: SG_RR_DEFAULT_MAX_FRAME */
    size_t max_samples;        /* 0: SG_RR_DEFAULT_MAX_SAMPLES */
};

/* Incremental response decoder: feed body bytes as they arrive, then
 * finish. Streamed responses are decoded frame by frame (only the frame
 * being received is buffered); SAMPLES bodies are decompressed as they
 * arrive (sg_rr_snappy, the output allocated once at its declared size)
 * and each TimeSeries is decoded as soon as it is whole. qs is copied.
 * Results are allocated in arena. */
struct sg_rr_decoder;

SG_NODISCARD int sg_rr_decoder_new(enum sg_rr_response_type type,
                                   const struct sg_rr_decode_query *qs, size_t n,
                                   const struct sg_rr_decode_limits *limits,
                                   struct sg_arena *arena, struct sg_rr_decoder **out,
                                   struct sg_err *err);
/* SG_EPROTO for framing errors (each has its own message: length varint
 * overflow, frame over the cap, CRC mismatch, bad protobuf, unknown chunk
 * encoding), SG_ELIMIT, SG_ENOMEM. After an error the decoder only accepts
 * sg_rr_decoder_free. */
SG_NODISCARD int sg_rr_decoder_feed(struct sg_rr_decoder *d, const void *p, size_t n,
                                    struct sg_err *err);
/* Hand the series to cb instead of keeping them (see
 * sg_rr_options.on_series and on_series_any_order); before the first
 * feed. */
void sg_rr_decoder_on_series(struct sg_rr_decoder *d, sg_rr_series_cb cb, void *arg,
                             bool any_order);
/* The body's announced length (Content-Length), when known: a body longer
 * than the response cap fails now (SG_ELIMIT) instead of during the
 * download. Optional. */
SG_NODISCARD int sg_rr_decoder_expect(struct sg_rr_decoder *d, uint64_t body_len,
                                      struct sg_err *err);
/* End of body: a partial frame is "truncated frame"; a SAMPLES body must
 * be a whole snappy stream of whole messages with one result per query.
 * Fills out (sets and stats other than attempts). */
SG_NODISCARD int sg_rr_decoder_finish(struct sg_rr_decoder *d, struct sg_rr_result *out,
                                      struct sg_err *err);
void sg_rr_decoder_free(struct sg_rr_decoder *d);

/* Content-Type of a response -> its type: SG_RR_RESPONSE_SAMPLES for
 * application/x-protobuf, SG_RR_RESPONSE_STREAMED for application/x-streamed-protobuf;
 * proto=prometheus.ChunkedReadResponse; SG_EPROTO naming anything else. */
SG_NODISCARD int sg_rr_content_type(const char *content_type, enum sg_rr_response_type *out,
                                    struct sg_err *err);

/* ---- printing series (stopgate read) --------------------------------------- */

/* Prints series to f as `stopgate read` does: text, one line per sample
 *   <metric{labels}> <value> <timestamp_ms>
 * (values as Prometheus 2.42's JSON writes them, `stale` for a stale
 * marker), or JSON, Prometheus 2.42's matrix
 *   {"resultType":"matrix","result":[{"metric":{...},"values":[[ts,"v"],...]},...]}
 * (timestamps in seconds with three decimals unless the milliseconds are
 * zero; values in Go's shortest 'f' form, 'e' below 1e-6 and from 1e21).
 * Output goes through a 64 KiB buffer, written when full. */
struct sg_rr_printer;

/* f is borrowed (must outlive the printer). SG_ENOMEM. */
SG_NODISCARD int sg_rr_printer_new(FILE *f, bool json, struct sg_rr_printer **out,
                                   struct sg_err *err);
/* From now on, print on a thread of the printer's own: each series is
 * copied and printed there, in order, while the caller goes on (the
 * caller must not write to f until sg_rr_printer_end). SG_ENOMEM when the
 * thread cannot be started (the printer then prints as before). */
SG_NODISCARD int sg_rr_printer_background(struct sg_rr_printer *pr, struct sg_err *err);
/* One series, after those printed before (the caller orders them). SG_EIO
 * once a write failed (in the background: noticed a little later),
 * SG_ENOMEM. */
SG_NODISCARD int sg_rr_printer_series(struct sg_rr_printer *pr, const struct sg_series *s,
                                      struct sg_err *err);
/* The end: the JSON matrix closed (an empty one when no series came),
 * everything written (the printing thread, if any, finished) and f
 * flushed. SG_EIO, SG_ENOMEM. */
SG_NODISCARD int sg_rr_printer_end(struct sg_rr_printer *pr, struct sg_err *err);
/* Free without writing what is still buffered (a printing thread is
 * stopped first). NULL is a no-op. */
void sg_rr_printer_free(struct sg_rr_printer *pr);

#endif
