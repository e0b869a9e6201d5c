/* src/config/config_int.h - the table-driven binder shared by config.c (the
 * engine) and schema.c (the tables and cross-field checks). Private to
 * src/config/.
 *
 * A schema is a list of fields. Each field names its YAML key, how the
 * value is read (type), where it goes (offsetof into the target struct) and
 * flags. Binding a mapping against a schema:
 *   1. every key of the mapping must be a field of the schema (unknown keys
 *      are errors at the key: a typo in a safety config must fail loudly);
 *   2. fields are then bound in table order (so `remote_read` is bound
 *      before `releases`, whatever the order in the file);
 *   3. required fields that are missing are errors at the mapping;
 *   4. the schema's check function runs (cross-field checks).
 * A failed field does not stop the others, so that one load reports every
 * problem. Null values (`key:` or `key: null`) count as not given.
 */
#ifndef SG_CONFIG_INT_H
#define SG_CONFIG_INT_H

#include <stddef.h>

#include "stopgate/config.h"
#include "stopgate/yaml.h"

enum sg_ftype {
    SG_FT_STRING = 1, /* any scalar, non-empty */
    SG_FT_PATH,       /* a string; relative paths resolved against the config dir */
    SG_FT_URL,        /* an http:// or https:// URL */
    SG_FT_DURATION,   /* Prometheus duration -> int64_t ms */
    SG_FT_SIZE,       /* 1GiB -> uint64_t bytes */
    SG_FT_UINT,       /* decimal -> uint32_t, within [min, max] */
    SG_FT_BOOL,       /* true/false (yes/no/on/off as YAML 1.1 reads them) */
    SG_FT_ENUM,       /* one of a table of names -> int */
    SG_FT_STRMAP,     /* mapping of strings -> sg_config_map, merged over what is there */
    SG_FT_LABELMAP,   /* same with label-name keys, sorted by name */
    SG_FT_STRLIST,    /* sequence of strings -> const char ** + size_t count at aux_off */
    SG_FT_URLLIST,    /* sequence of URLs, likewise */
    SG_FT_SUB,        /* mapping bound with a sub-schema into the struct at off */
    SG_FT_LIST,       /* sequence of mappings -> array of sub-schema structs + count */
    SG_FT_CUSTOM,     /* a function does it all */
};

/* Field flags. */
enum {
    SG_F_REQUIRED = 1u << 0,
    SG_F_POSITIVE = 1u << 1, /* durations and sizes: > 0 */
    SG_F_SECRET = 1u << 2,   /* a secret's file: never echoed in messages */
    SG_F_HAS = 1u << 3,      /* set the bool at aux_off when the field is given */
    SG_F_HEADERS = 1u << 4,  /* SG_FT_STRMAP of HTTP headers: names checked, reserved refused */
};

struct sg_bind;
struct sg_schema;

typedef void (*sg_bind_custom_fn)(struct sg_bind *b, const struct sg_yaml_node *n, void *field_ptr,
                                  void *obj);

struct sg_enum_name {
    const char *name;
    int value;
};

struct sg_field {
    const char *key;
    enum sg_ftype type;
    size_t off;           /* offsetof the target in the struct */
    unsigned flags;       /* SG_F_* */
    size_t aux_off;       /* count (lists) or has-flag (SG_F_HAS) offset */
    const void *ext;      /* sub-schema or enum table (NULL-name terminated) */
    uint32_t min, max;    /* SG_FT_UINT range */
    sg_bind_custom_fn fn; /* SG_FT_CUSTOM */
};

struct sg_schema {
    const struct sg_field *fields; /* NULL-key terminated */
    size_t size;                   /* element size for SG_FT_LIST */
    /* Defaults, before binding (obj is zeroed first for list elements). */
    void (*init)(struct sg_bind *b, void *obj);
    /* Cross-field checks after binding; n is the mapping. */
    void (*check)(struct sg_bind *b, const struct sg_yaml_node *n, void *obj);
    /* Extra fields decided by the mapping itself (a notifier's type); may be
     * NULL. Returns a second table or NULL. */
    const struct sg_field *(*extra)(struct sg_bind *b, const struct sg_yaml_node *n, void *obj);
};

struct sg_bind {
    struct sg_config *cfg;
    struct sg_arena *a;
    const char *file; /* the config file name, for messages and path resolution */
    unsigned flags;
    const struct sg_config_opts *opts; /* never NULL */
    struct sg_config_report *report;
    struct sg_err *err;
    int rc;         /* first error code, SG_OK while none */
    char path[256]; /* "releases[0].routes[1]" for messages */
    size_t path_len;
    size_t problems;
};

/* Record a problem at node n (NULL: no place). Errors go to err (first one)
 * and the report; warnings only to the report. Returns code. */
int sg_bind_error(struct sg_bind *b, int code, const struct sg_yaml_node *n, const char *fmt, ...)
    SG_PRINTF(4, 5);
void sg_bind_warn(struct sg_bind *b, const struct sg_yaml_node *n, const char *fmt, ...)
    SG_PRINTF(3, 4);
/* Same, with the position given explicitly. */
int sg_bind_problem_at(struct sg_bind *b, enum sg_config_severity sev, int code, const char *file,
                       uint32_t line, uint32_t col, const char *fmt, ...) SG_PRINTF(7, 8);
/* Out of memory: recorded once. */
int sg_bind_oom(struct sg_bind *b);

/* Path bookkeeping for messages: push "key" or "[i]"; pop restores. */
size_t sg_bind_push(struct sg_bind *b, const char *key);
size_t sg_bind_push_index(struct sg_bind *b, size_t i);
void sg_bind_pop(struct sg_bind *b, size_t mark);

/* Bind mapping n into obj with the schema (steps 1-4 above). A null n binds
 * nothing but still reports missing required fields at `parent`. */
void sg_bind_map(struct sg_bind *b, const struct sg_yaml_node *n, const struct sg_yaml_node *parent,
                 const struct sg_schema *s, void *obj);

/* Expect a scalar; reports "expected a string, got a sequence" otherwise. */
bool sg_bind_scalar(struct sg_bind *b, const struct sg_yaml_node *n, const char *what);
/* A copy of a path resolved against the config file's directory. */
const char *sg_bind_resolve(struct sg_bind *b, const char *p);
/* URL syntax check: http(s)://host[...]; reports at n. */
bool sg_bind_check_url(struct sg_bind *b, const struct sg_yaml_node *n, const char *url);
void sg_bind_set_pos(struct sg_bind *b, const struct sg_yaml_node *n, struct sg_config_pos *pos);

/* The top-level schema (schema.c). */
extern const struct sg_schema sg_config_schema;

#endif
