/* src/cli/cli.h - the command table and the flag parser shared by the
 * subcommands. Private to src/cli/.
 *
 * Flags are promtool-like: `--name=value` and `--name value`, short `-o`
 * likewise; a bool flag takes no value (`--dry-run`) or an explicit
 * `--dry-run=false`; `--` ends flags, so `stopgate query instant URL --
 * -rate(x[5m])` passes an expression that starts with a minus.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <stdbool.h>
#include <stddef.h>

#define SG_CLI_MAX_FLAGS 32

/* Exit statuses of SPEC.md. */
enum { SG_EXIT_OK = 0, SG_EXIT_FAIL = 1, SG_EXIT_USAGE = 2, SG_EXIT_LINT = 3 };

enum sg_flag_kind { SG_FLAG_BOOL, SG_FLAG_VALUE, SG_FLAG_MULTI };

struct sg_flag_def {
    const char *name;  /* long name without dashes: "config.file" */
    char short_name;   /* 'o', or 0 */
    enum sg_flag_kind kind;
    const char *metavar; /* "FILE" */
    const char *help;
};

struct sg_flag_val {
    bool set;
    const char *value;    /* last value given (SG_FLAG_VALUE, SG_FLAG_BOOL: "true"/"false") */
    const char **values;  /* every value (SG_FLAG_MULTI), in order */
    size_t count;
};

struct sg_cmd;

struct sg_cmd_args {
    const struct sg_cmd *cmd;
    struct sg_flag_val flags[SG_CLI_MAX_FLAGS]; /* parallel to cmd->flags */
    const char **pos;                           /* positional arguments */
    size_t npos;
};

struct sg_cmd {
    const char *name;     /* "query" */
    const char *sub;      /* "instant", or NULL */
    const char *args;     /* "URL EXPR" for the usage line */
    const char *summary;  /* one line */
    const char *details;  /* extra help text, or NULL */
    const struct sg_flag_def *flags; /* NULL-name terminated */
    int min_pos, max_pos; /* positional argument counts; max_pos -1 = unbounded */
    int (*run)(const struct sg_cmd_args *args);
};

/* The value of flag `name` (NULL when not given). */
const char *sg_cli_flag(const struct sg_cmd_args *a, const char *name);
/* Every value of a repeatable flag. */
const struct sg_flag_val *sg_cli_flag_val(const struct sg_cmd_args *a, const char *name);
/* A bool flag: given without a value or with true/1. */
bool sg_cli_flag_bool(const struct sg_cmd_args *a, const char *name);

/* Print "stopgate: <msg>" on stderr. */
void sg_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a usage error and the hint to use --help; returns SG_EXIT_USAGE. */
int sg_cli_usage_error(const struct sg_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A command that is declared but not built yet. */
int sg_cli_not_implemented(const struct sg_cmd_args *args);

/* Command table entries, one per subcommand (defined in cmd_*.c). */
extern const struct sg_cmd sg_cmd_run, sg_cmd_check_config, sg_cmd_check_rules,
    sg_cmd_test_rules, sg_cmd_query_instant, sg_cmd_query_range, sg_cmd_read, sg_cmd_preflight,
    sg_cmd_backtest, sg_cmd_gate, sg_cmd_resume, sg_cmd_version;

/* Parse argv (after the command words) for cmd. Returns -1 on success,
 * else the exit status to use (usage error printed, or help printed). */
int sg_cli_parse(const struct sg_cmd *cmd, int argc, char **argv, struct sg_cmd_args *out);

/* Free what sg_cli_parse allocated. */
void sg_cli_args_cleanup(struct sg_cmd_args *a);

/* Print the command's help on stdout. */
void sg_cli_print_help(const struct sg_cmd *cmd);

/* The remote-read flags shared by `query` and `read` (SPEC.md). */
#define SG_CLI_RR_FLAGS                                                                            \
    {"config.file", 0, SG_FLAG_VALUE, "FILE", "config file whose remote_read: settings apply"},  \
    {"header", 0, SG_FLAG_MULTI, "K:V", "extra HTTP header sent with every request"},            \
    {"bearer-token-file", 0, SG_FLAG_VALUE, "FILE", "send the token in this file as bearer"},  \
    {"tls.ca-file", 0, SG_FLAG_VALUE, "FILE", "CA certificates to verify the server with"},     \
    {"external-label", 0, SG_FLAG_MULTI, "K=V",                                                  \
     "the server's external label: added as matcher, stripped from results"},                  \
    {"timeout", 0, SG_FLAG_VALUE, "DURATION", "time limit for the whole command (default 10s)"}, \
    {"response-type", 0, SG_FLAG_VALUE, "TYPE",                                                  \
     "remote-read response type: auto, samples or streamed (default auto)"}

struct sg_arena;
struct sg_config;
struct sg_err;
struct sg_rr_options;

/* Remote-read options for a command that takes SG_CLI_RR_FLAGS: defaults,
 * then --config.file's remote_read (the loaded config is returned in
 * *cfg_out for the caller to sg_config_free; NULL without the flag), then
 * the flags; url (the command's URL argument, may be NULL) replaces the
 * config's. Strings point into args, the config and arena a. SG_EINVAL
 * naming the flag for a bad value; config load errors as loaded. */
int sg_cli_rr_options(const struct sg_cmd_args *args, const char *url, struct sg_arena *a,
                      struct sg_rr_options *o, struct sg_config **cfg_out, struct sg_err *err);

/* Write data to path (created or truncated). SG_EIO naming the path. */
int sg_cli_write_file(const char *path, const void *data, size_t len, struct sg_err *err);

#endif
