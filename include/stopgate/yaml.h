/* include/stopgate/yaml.h - YAML documents as a small node tree with
 * positions, on libyaml.
 *
 * Every node records its file, line and column (1-based, as libyaml counts
 * them), so that config, rule-file and test-file errors can say
 * FILE:LINE:COL. Duplicate mapping keys are an error. Anchors and aliases
 * are supported (an alias shares the anchored node) with a cap on how many
 * aliases a document may use, so a "billion laughs" document fails with a
 * limit error instead of exhausting memory. Depth is capped too.
 * Multi-document streams: only the first document is read; a second one is
 * an error (Prometheus reads one document per file), unless the limits ask
 * for the first document only.
 */
#ifndef SG_YAML_H
#define SG_YAML_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

enum sg_yaml_kind { SG_YAML_SCALAR = 1, SG_YAML_SEQ, SG_YAML_MAP };

enum sg_yaml_style {
    SG_YAML_PLAIN = 0,
    SG_YAML_SINGLE_QUOTED,
    SG_YAML_DOUBLE_QUOTED,
    SG_YAML_LITERAL, /* | block */
    SG_YAML_FOLDED,  /* > block */
    SG_YAML_FLOW,    /* flow collection [..] / {..} */
    SG_YAML_BLOCK    /* block collection */
};

struct sg_yaml_node;

struct sg_yaml_pair {
    struct sg_yaml_node *key; /* always a scalar */
    struct sg_yaml_node *value;
};

struct sg_yaml_node {
    enum sg_yaml_kind kind;
    enum sg_yaml_style style;
    const char *tag;   /* explicit tag ("!!str", "tag:yaml.org,2002:int") or NULL */
    const char *file;  /* name used in messages; borrowed from the parse call's arena copy */
    uint32_t line;     /* start, 1-based */
    uint32_t col;      /* start, 1-based */
    uint32_t end_line; /* end mark, 1-based */
    uint32_t end_col;
    size_t start_off;  /* libyaml's mark index of the start and end */
    size_t end_off;
    struct sg_str value; /* scalar text after YAML unescaping/folding; NUL-terminated */
    size_t count;        /* items of a sequence, pairs of a mapping */
    struct sg_yaml_node **items;
    struct sg_yaml_pair *pairs;
};

struct sg_yaml_limits {
    uint32_t max_depth;   /* default 64 */
    uint32_t max_aliases; /* default 1000 */
    size_t max_nodes;     /* default 1,000,000 */
    bool first_document_only; /* stop after the first document and ignore the rest of the
                               * stream unread (yaml.v2's Unmarshal); default: a second
                               * document is an error */
};

/* Parse `text` (need not be NUL-terminated). All nodes and strings live in
 * `arena`. An empty document gives *root == NULL and SG_OK. Errors are
 * SG_EPARSE (with libyaml's problem and position), SG_ELIMIT, SG_ENOMEM,
 * each as "FILE:LINE:COL: message". */
SG_NODISCARD int sg_yaml_parse(struct sg_str text, const char *file, struct sg_arena *arena,
                               const struct sg_yaml_limits *limits, struct sg_yaml_node **root,
                               struct sg_err *err);

/* The value of `key` in a mapping, or NULL. */
struct sg_yaml_node *sg_yaml_get(const struct sg_yaml_node *map, const char *key);

/* True for a null scalar as YAML 1.1/1.2 core resolve it: untagged plain
 * "", "~", "null", "Null", "NULL". */
bool sg_yaml_is_null(const struct sg_yaml_node *n);

/* "scalar", "sequence", "mapping". */
const char *sg_yaml_kind_name(enum sg_yaml_kind kind);

/* Record an error at node n: "FILE:LINE:COL: message". */
int sg_yaml_err(struct sg_err *err, int code, const struct sg_yaml_node *n, const char *fmt, ...)
    SG_PRINTF(4, 5);

#endif
