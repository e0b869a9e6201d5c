/* include/stopgate/config.h - the configuration model and its loader.
 *
 * A config is read from one YAML file (SPEC.md "Config"), bound field by
 * field through schema tables (src/config/schema.c), checked across fields
 * and then never changed: the daemon swaps a new one in whole on reload and
 * frees the old one with sg_config_free. Every string, list and map of a
 * config lives in the config's own arena.
 *
 * Conventions of the model:
 * - durations are milliseconds (int64_t *_ms), sizes are bytes (uint64_t);
 * - relative paths in the file are already resolved against the config
 *   file's directory (a config read from "etc/sg.yaml" with
 *   "rule_files: [rules/x.yaml]" holds "etc/rules/x.yaml");
 * - optional strings are NULL when not given;
 * - enums are parsed once here; nothing compares config strings later;
 * - string maps (headers, label maps) keep the file's order; label maps are
 *   sorted by name (they are label sets);
 * - every release and route remembers where it was written (sg_config_pos)
 *   so that later errors can point at the file.
 *
 * Defaults (SPEC.md's example values):
 *   remote_read: timeout 10s, response_type auto, max_response_bytes 1GiB,
 *                max_frame_bytes 64MiB, max_samples 50000000, retries {max 3,
 *                min_backoff 500ms, max_backoff 10s}
 *   evaluation_interval 15s, lookback_delta 5m, state_dir /var/lib/stopgate,
 *   dry_run false, web.listen_address 127.0.0.1:9097, web.read_timeout 10s,
 *   web.max_body_bytes 1MiB
 *   releases[]: wave_window 30m, revision_poll_interval 10s,
 *               on_query_errors {after 4, do pause}, on_no_data {after 4, do
 *               notify} (after: 0 turns either off), rollback.timeout 5m,
 *               rollback.require_schema_proof false; without `routes:` the
 *               routes are {stop: rollback} -> rollback, {stop: pause} ->
 *               pause, anything else -> notify
 *   notifiers[]: timeout 10s, send_resolved true, name = type (type-N when
 *                a type appears more than once)
 *   tools: helm "helm", kubectl "kubectl" (looked up on PATH at start),
 *          timeout 1m, kill_grace 10s
 * A release's `remote_read:` is merged over the global one: scalars and
 * sub-sections given in the release replace the global value field by
 * field, `headers` and `external_labels` are merged key by key (the
 * release's value wins); credentials are one unit (a release giving
 * bearer_token_file or basic_auth drops both global ones). The merged
 * result is the release's remote_read.
 * When both bearer_token_file and basic_auth are set, the bearer token is
 * sent and the load warns.
 */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

#define SG_CONFIG_MAX_BYTES    (4u << 20) /* largest config file read */
#define SG_CONFIG_MAX_PROBLEMS 200        /* problems recorded per load */

/* Where something was written in the config file (1-based). */
struct sg_config_pos {
    const char *file;
    uint32_t line, col;
};

/* One key/value pair of a string map (headers, label maps). */
struct sg_config_kv {
    const char *name;
    const char *value;
};

struct sg_config_map {
    struct sg_config_kv *v;
    size_t count;
};

/* ---- remote_read ----------------------------------------------------------- */

enum sg_rr_response_type {
    SG_RR_RESPONSE_AUTO = 0, /* SAMPLES for small windows, streamed chunks otherwise */
    SG_RR_RESPONSE_STREAMED, /* STREAMED_XOR_CHUNKS */
    SG_RR_RESPONSE_SAMPLES,  /* SAMPLES */
};

struct sg_tls_config {
    const char *ca_file;   /* PEM bundle; NULL: the system's */
    const char *cert_file; /* client certificate; given together with key_file */
    const char *key_file;
    const char *server_name; /* SNI / verification name override; NULL: the URL's host */
    bool insecure_skip_verify;
};

struct sg_basic_auth {
    const char *username;
    const char *password_file; /* read at use, never logged */
};

struct sg_retries {
    uint32_t max;           /* retries after the first attempt (0..10) */
    int64_t min_backoff_ms; /* first wait; doubles up to max_backoff_ms */
    int64_t max_backoff_ms;
};

struct sg_remote_read_config {
    const char *url; /* full endpoint, http or https; NULL when not given */
    int64_t timeout_ms;
    enum sg_rr_response_type response_type;
    const char *bearer_token_file; /* re-read on use (rotation); never logged */
    bool has_basic_auth;
    struct sg_basic_auth basic_auth;
    struct sg_config_map headers; /* extra headers, file order */
    struct sg_tls_config tls;
    struct sg_config_map external_labels; /* the server's; sorted by name */
    uint64_t max_response_bytes;          /* whole (decompressed) response */
    uint64_t max_frame_bytes;             /* one streamed frame */
    uint32_t max_samples;                 /* decoded samples per read */
    struct sg_retries retries;
};

/* ---- web ------------------------------------------------------------------- */

struct sg_web_config {
    const char *listen_address; /* "host:port", "[v6]:port" */
    const char *token_file;     /* bearer token for POSTs; NULL: none */
    const char *external_url;   /* links in notifications; NULL: none */
    bool is_loopback;           /* listen_address names a loopback host */
    int64_t read_timeout_ms;    /* a request's headers and body must arrive within this */
    uint64_t max_body_bytes;
};

/* ---- releases -------------------------------------------------------------- */

enum sg_action_kind {
    SG_ACTION_NOTIFY = 0,
    SG_ACTION_PAUSE,
    SG_ACTION_ROLLBACK,
};

/* "notify", "pause", "rollback". */
const char *sg_action_kind_name(enum sg_action_kind k);

/* on_query_errors / on_no_data: after `after` consecutive bad evaluations,
 * do `action`. after == 0 means off. */
struct sg_config_threshold {
    uint32_t after;
    enum sg_action_kind action;
};

struct sg_route {
    struct sg_config_map match;    /* label equality; sorted by name */
    struct sg_config_map match_re; /* label regex (RE2 syntax, anchored); sorted by name */
    enum sg_action_kind action;    /* `do:` */
    uint32_t trip_m, trip_n;       /* trip_after "M of N"; 1 of 1 when not given */
    struct sg_config_pos pos;
};

struct sg_rollback_config {
    bool require_schema_proof;
    const char *schema_version_query;   /* PromQL; required with require_schema_proof */
    const char *max_schema_values_path; /* ".a.b" path into `helm get values` JSON */
    int64_t timeout_ms;                 /* helm rollback --timeout */
    struct sg_config_pos query_pos;     /* where schema_version_query was written */
};

struct sg_release_config {
    const char *name;
    const char *namespace_;
    const char *kube_context;                 /* NULL: the kubeconfig's current context */
    struct sg_remote_read_config remote_read; /* global one with the release's override merged */
    const char **rule_files; /* patterns as written, resolved against the config dir */
    size_t rule_files_count;
    struct sg_config_pos *rule_files_pos;
    const char **rule_paths; /* the patterns expanded (glob), sorted, unique */
    size_t rule_paths_count;
    int64_t wave_window_ms;
    int64_t revision_poll_interval_ms;
    struct sg_config_threshold on_query_errors;
    struct sg_config_threshold on_no_data;
    struct sg_config_map alert_match; /* sorted by name; empty: no Alertmanager alerts by label */
    struct sg_route *routes;          /* first match wins */
    size_t routes_count;
    bool routes_defaulted; /* no `routes:` in the file; the defaults above apply */
    struct sg_rollback_config rollback;
    const char **readiness; /* preflight URLs */
    size_t readiness_count;
    struct sg_config_pos pos;
};

/* ---- notifiers ------------------------------------------------------------- */

enum sg_notifier_type {
    SG_NOTIFIER_SLACK = 0,
    SG_NOTIFIER_MATTERMOST,
    SG_NOTIFIER_MSTEAMS,
    SG_NOTIFIER_GOOGLECHAT,
    SG_NOTIFIER_DISCORD,
    SG_NOTIFIER_WEBHOOK,
    SG_NOTIFIER_ALERTMANAGER,
};

/* "slack", "mattermost", ... */
const char *sg_notifier_type_name(enum sg_notifier_type t);

struct sg_notifier_config {
    enum sg_notifier_type type;
    const char *name;     /* metrics label `notifier`; defaulted as above */
    const char *url;      /* exactly one of url and url_file */
    const char *url_file; /* secret URL (chat webhooks), read at use */
    int64_t timeout_ms;
    bool send_resolved;
    /* slack, mattermost: channel, username, icon_emoji (slack), icon_url;
     * discord: username, avatar_url (in icon_url) */
    const char *channel;
    const char *username;
    const char *icon_emoji;
    const char *icon_url;
    /* webhook, alertmanager */
    struct sg_config_map headers;
    const char *bearer_token_file;
    bool has_basic_auth;
    struct sg_basic_auth basic_auth;
    struct sg_tls_config tls;
    struct sg_config_pos pos;
};

/* ---- tools ----------------------------------------------------------------- */

struct sg_tools_config {
    const char *helm;       /* a path (resolved against the config dir when it has a '/'), */
    const char *kubectl;    /* or a bare name looked up on PATH when the daemon starts */
    const char *kubeconfig; /* passed as KUBECONFIG; NULL: the environment's */
    int64_t timeout_ms;     /* per helm/kubectl command (helm rollback: rollback.timeout) */
    int64_t kill_grace_ms;  /* SIGTERM -> SIGKILL */
    const char **env;       /* names of environment variables passed through */
    size_t env_count;
};

/* ---- the whole config -------------------------------------------------------- */

struct sg_config {
    const char *path; /* the file it was read from, as given */
    struct sg_remote_read_config remote_read;
    bool has_remote_read; /* a top-level remote_read: section was given */
    int64_t evaluation_interval_ms;
    int64_t lookback_delta_ms;
    const char *state_dir;
    bool dry_run;
    struct sg_web_config web;
    struct sg_release_config *releases;
    size_t releases_count;
    struct sg_notifier_config *notifiers;
    size_t notifiers_count;
    struct sg_tools_config tools;
    struct sg_arena arena; /* owns everything above */
};

/* ---- problems ---------------------------------------------------------------- */

enum sg_config_severity { SG_CONFIG_ERROR = 0, SG_CONFIG_WARNING };

struct sg_config_problem {
    enum sg_config_severity severity;
    int code;         /* SG_EPARSE, SG_EINVAL, SG_ELIMIT, SG_EIO ... */
    const char *file; /* NULL for problems without a place */
    uint32_t line, col;
    const char *msg; /* the whole line: "FILE:LINE:COL: message" */
};

/* Every problem of one load, in file order of discovery. Caller's storage:
 * sg_config_report_init / sg_config_report_cleanup. */
struct sg_config_report {
    struct sg_config_problem *v;
    size_t count, cap;
    size_t errors, warnings;
    bool truncated; /* more than SG_CONFIG_MAX_PROBLEMS */
    struct sg_arena arena;
};

void sg_config_report_init(struct sg_config_report *r);
void sg_config_report_cleanup(struct sg_config_report *r);

/* Load options. */
enum {
    /* Do not touch the filesystem: rule_files globs are not expanded and
     * rule_paths stays empty (fuzzing, pure tests). */
    SG_CONFIG_NO_FS = 1u << 0,
};

/* Checks the config module cannot make itself (it sits below the PromQL
 * parser): the caller passes them in. */
struct sg_config_opts {
    unsigned flags; /* SG_CONFIG_* */
    /* Validate a PromQL expression (rollback.schema_version_query). On
     * error return non-OK with err->msg the message (a "NAME:LINE:COL: "
     * prefix is dropped) and err->line/col the place inside the
     * expression. NULL: expressions are not checked. */
    int (*check_expr)(void *arg, const char *expr, struct sg_err *err);
    void *check_expr_arg;
};

/* Parse and validate a config from text.
 *
 * text:   the YAML, need not be NUL-terminated; read during the call only.
 * path:   the file name used in messages and to resolve relative paths
 *         (copied).
 * flags:  SG_CONFIG_* above.
 * out:    on success, a new config the caller frees with sg_config_free;
 *         untouched on failure.
 * report: may be NULL; when given, every problem found (errors and
 *         warnings) is appended to it. The load goes on after an error in
 *         one field so that all of them can be reported.
 * err:    the first error, "FILE:LINE:COL: message"; SG_EPARSE (YAML),
 *         SG_EINVAL (values and cross-field checks), SG_ELIMIT, SG_ENOMEM,
 *         SG_EIO (a referenced file).
 * Warnings alone do not fail the load.
 */
SG_NODISCARD int sg_config_parse(struct sg_str text, const char *path, unsigned flags,
                                 struct sg_config **out, struct sg_config_report *report,
                                 struct sg_err *err);

/* Read the file (capped at SG_CONFIG_MAX_BYTES) and sg_config_parse it. */
SG_NODISCARD int sg_config_load_file_ex(const char *path, unsigned flags, struct sg_config **out,
                                        struct sg_config_report *report, struct sg_err *err);
/* The same with options (flags and the expression checker). opts may be
 * NULL. */
SG_NODISCARD int sg_config_load_file_opts(const char *path, const struct sg_config_opts *opts,
                                          struct sg_config **out, struct sg_config_report *report,
                                          struct sg_err *err);
SG_NODISCARD int sg_config_parse_opts(struct sg_str text, const char *path,
                                      const struct sg_config_opts *opts, struct sg_config **out,
                                      struct sg_config_report *report, struct sg_err *err);
/* The same with flags 0 and no report. */
SG_NODISCARD int sg_config_load_file(const char *path, struct sg_config **out, struct sg_err *err);

/* NULL is a no-op. */
void sg_config_free(struct sg_config *cfg);

/* The release named `name`, or NULL. */
const struct sg_release_config *sg_config_release(const struct sg_config *cfg, struct sg_str name);

/* Parse a byte size as the config does: an integer with an optional unit
 * B, KB, KiB, MB, MiB, GB, GiB, TB, TiB (all powers of 1024, as Prometheus's
 * units.Base2Bytes reads them). SG_EINVAL naming the text. */
SG_NODISCARD int sg_config_parse_size(struct sg_str s, uint64_t *out, struct sg_err *err);

/* Parse "M of N" (1 <= M <= N <= 100). SG_EINVAL naming the text. */
SG_NODISCARD int sg_config_parse_trip_after(struct sg_str s, uint32_t *m, uint32_t *n,
                                            struct sg_err *err);

/* True when the host of a "host:port" listen address is loopback
 * (127.0.0.0/8, ::1, localhost). An empty host (":9097") is not. */
bool sg_config_listen_is_loopback(const char *listen_address);

#endif
