/* src/yaml/yaml.c - libyaml events to a node tree with positions.
 *
 * The tree is built with an explicit stack (no recursion on input depth).
 * Anchors are recorded by name; an alias points at the anchored node, so a
 * shared subtree is not copied. Each alias use counts against max_aliases,
 * and each node against max_nodes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "stopgate/yaml.h"

#define DEF_MAX_DEPTH   64
#define DEF_MAX_ALIASES 1000
#define DEF_MAX_NODES   1000000

struct anchor {
    const char *name;
    struct sg_yaml_node *node;
    struct anchor *next;
};

struct frame {
    struct sg_yaml_node *node;
    struct sg_yaml_node *pending_key; /* maps: key waiting for its value */
    size_t cap;
    const char *anchor;
};

struct builder {
    struct sg_arena *a;
    const char *file;
    struct sg_err *err;
    struct frame stack[256];
    size_t depth;
    struct anchor *anchors;
    uint32_t aliases;
    size_t nodes;
    struct sg_yaml_limits lim;
    struct sg_yaml_node *root;
};

int sg_yaml_err(struct sg_err *err, int code, const struct sg_yaml_node *n, const char *fmt, ...)
{
    char msg[SG_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!n)
        return sg_err_set(err, code, "%s", msg);
    return sg_err_set_linecol(err, code, n->file, n->line, n->col, "%s", msg);
}

const char *sg_yaml_kind_name(enum sg_yaml_kind kind)
{
    switch (kind) {
    case SG_YAML_SCALAR:
        return "scalar";
    case SG_YAML_SEQ:
        return "sequence";
    case SG_YAML_MAP:
        return "mapping";
    }
    return "node";
}

struct sg_yaml_node *sg_yaml_get(const struct sg_yaml_node *map, const char *key)
{
    if (!map || map->kind != SG_YAML_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++) {
        if (sg_str_eq_c(map->pairs[i].key->value, key))
            return map->pairs[i].value;
    }
    return NULL;
}

bool sg_yaml_is_null(const struct sg_yaml_node *n)
{
    if (!n)
        return true;
    if (n->kind != SG_YAML_SCALAR || n->style != SG_YAML_PLAIN)
        return false;
    if (n->tag && strcmp(n->tag, "tag:yaml.org,2002:null") != 0 && strcmp(n->tag, "!!null") != 0)
        return false;
    return n->value.len == 0 || sg_str_eq_c(n->value, "~") || sg_str_eq_c(n->value, "null") ||
           sg_str_eq_c(n->value, "Null") || sg_str_eq_c(n->value, "NULL");
}

static struct sg_yaml_node *new_node(struct builder *b, enum sg_yaml_kind kind,
                                     const yaml_event_t *ev)
{
    struct sg_yaml_node *n;

    if (++b->nodes > b->lim.max_nodes) {
        sg_err_set_linecol(b->err, SG_ELIMIT, b->file, (uint32_t)ev->start_mark.line + 1,
                           (uint32_t)ev->start_mark.column + 1, "more than %zu YAML nodes",
                           b->lim.max_nodes);
        return NULL;
    }
    n = sg_arena_alloc(b->a, sizeof(*n));
    if (!n) {
        sg_err_set(b->err, SG_ENOMEM, "%s: out of memory reading YAML", b->file);
        return NULL;
    }
    n->kind = kind;
    n->file = b->file;
    n->line = (uint32_t)ev->start_mark.line + 1;
    n->col = (uint32_t)ev->start_mark.column + 1;
    n->end_line = (uint32_t)ev->end_mark.line + 1;
    n->end_col = (uint32_t)ev->end_mark.column + 1;
    n->start_off = ev->start_mark.index;
    n->end_off = ev->end_mark.index;
    return n;
}

static int record_anchor(struct builder *b, const unsigned char *name, struct sg_yaml_node *n)
{
    struct anchor *an;

    if (!name)
        return SG_OK;
    an = sg_arena_alloc(b->a, sizeof(*an));
    if (!an)
        return sg_err_set(b->err, SG_ENOMEM, "%s: out of memory reading YAML", b->file);
    an->name = sg_arena_strdup(b->a, (const char *)name);
    if (!an->name)
        return sg_err_set(b->err, SG_ENOMEM, "%s: out of memory reading YAML", b->file);
    an->node = n;
    an->next = b->anchors; /* a redefined anchor shadows the older one */
    b->anchors = an;
    return SG_OK;
}

/* Attach a finished node to its parent (or make it the root). */
static int attach(struct builder *b, struct sg_yaml_node *n)
{
    struct frame *f;

    if (b->depth == 0) {
        b->root = n;
        return SG_OK;
    }
    f = &b->stack[b->depth - 1];
    if (f->node->kind == SG_YAML_SEQ) {
        if (f->node->count == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 4;
            void *p = sg_arena_grow(b->a, f->node->items, f->cap * sizeof(*f->node->items),
                                    cap * sizeof(*f->node->items));
            if (!p)
                return sg_err_set(b->err, SG_ENOMEM, "%s: out of memory reading YAML", b->file);
            f->node->items = p;
            f->cap = cap;
        }
        f->node->items[f->node->count++] = n;
        return SG_OK;
    }
    /* mapping */
    if (!f->pending_key) {
        if (n->kind != SG_YAML_SCALAR)
            return sg_yaml_err(b->err, SG_EPARSE, n, "mapping keys must be scalars, not a %s",
                               sg_yaml_kind_name(n->kind));
        for (size_t i = 0; i < f->node->count; i++) {
            if (sg_str_eq(f->node->pairs[i].key->value, n->value))
                return sg_yaml_err(b->err, SG_EPARSE, n,
                                   "duplicate key \"%s\" (first at line %u)", n->value.ptr,
                                   f->node->pairs[i].key->line);
        }
        f->pending_key = n;
        return SG_OK;
    }
    if (f->node->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        void *p = sg_arena_grow(b->a, f->node->pairs, f->cap * sizeof(*f->node->pairs),
                                cap * sizeof(*f->node->pairs));
        if (!p)
            return sg_err_set(b->err, SG_ENOMEM, "%s: out of memory reading YAML", b->file);
        f->node->pairs = p;
        f->cap = cap;
    }
    f->node->pairs[f->node->count].key = f->pending_key;
    f->node->pairs[f->node->count].value = n;
    f->node->count++;
    f->pending_key = NULL;
    return SG_OK;
}

static enum sg_yaml_style scalar_style(yaml_scalar_style_t s)
{
    switch (s) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE:
        return SG_YAML_SINGLE_QUOTED;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
        return SG_YAML_DOUBLE_QUOTED;
    case YAML_LITERAL_SCALAR_STYLE:
        return SG_YAML_LITERAL;
    case YAML_FOLDED_SCALAR_STYLE:
        return SG_YAML_FOLDED;
    default:
        return SG_YAML_PLAIN;
    }
}

static const char *copy_tag(struct builder *b, const unsigned char *tag)
{
    return tag ? sg_arena_strdup(b->a, (const char *)tag) : NULL;
}

static int handle_event(struct builder *b, yaml_event_t *ev, bool *done)
{
    struct sg_yaml_node *n;
    int rc;

    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_START_EVENT:
        return SG_OK;
    case YAML_DOCUMENT_END_EVENT:
        *done = true;
        return SG_OK;
    case YAML_STREAM_END_EVENT:
        *done = true;
        return SG_OK;
    case YAML_ALIAS_EVENT: {
        struct anchor *an;
        if (++b->aliases > b->lim.max_aliases)
            return sg_err_set_linecol(b->err, SG_ELIMIT, b->file,
                                      (uint32_t)ev->start_mark.line + 1,
                                      (uint32_t)ev->start_mark.column + 1,
                                      "more than %u YAML aliases", b->lim.max_aliases);
        for (an = b->anchors; an; an = an->next) {
            if (strcmp(an->name, (const char *)ev->data.alias.anchor) == 0)
                break;
        }
        if (!an)
            return sg_err_set_linecol(b->err, SG_EPARSE, b->file,
                                      (uint32_t)ev->start_mark.line + 1,
                                      (uint32_t)ev->start_mark.column + 1,
                                      "unknown anchor \"%s\" referenced",
                                      (const char *)ev->data.alias.anchor);
        /* an alias of a collection that is still open would form a cycle */
        for (size_t i = 0; i < b->depth; i++) {
            if (b->stack[i].node == an->node)
                return sg_err_set_linecol(b->err, SG_EPARSE, b->file,
                                          (uint32_t)ev->start_mark.line + 1,
                                          (uint32_t)ev->start_mark.column + 1,
                                          "alias \"%s\" refers to an enclosing node",
                                          an->name);
        }
        return attach(b, an->node);
    }
    case YAML_SCALAR_EVENT:
        n = new_node(b, SG_YAML_SCALAR, ev);
        if (!n)
            return b->err ? b->err->code : SG_ENOMEM;
        n->style = scalar_style(ev->data.scalar.style);
        n->tag = copy_tag(b, ev->data.scalar.tag);
        n->value.ptr = sg_arena_strndup(b->a, (const char *)ev->data.scalar.value,
                                        ev->data.scalar.length);
        if (!n->value.ptr || (ev->data.scalar.tag && !n->tag))
            return sg_err_set(b->err, SG_ENOMEM, "%s: out of memory reading YAML", b->file);
        n->value.len = ev->data.scalar.length;
        rc = record_anchor(b, ev->data.scalar.anchor, n);
        if (rc != SG_OK)
            return rc;
        return attach(b, n);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_seq = ev->type == YAML_SEQUENCE_START_EVENT;
        if (b->depth >= b->lim.max_depth || b->depth >= SG_ARRAY_LEN(b->stack))
            return sg_err_set_linecol(b->err, SG_ELIMIT, b->file,
                                      (uint32_t)ev->start_mark.line + 1,
                                      (uint32_t)ev->start_mark.column + 1,
                                      "YAML nested deeper than %u levels", b->lim.max_depth);
        n = new_node(b, is_seq ? SG_YAML_SEQ : SG_YAML_MAP, ev);
        if (!n)
            return b->err ? b->err->code : SG_ENOMEM;
        if (is_seq) {
            n->tag = copy_tag(b, ev->data.sequence_start.tag);
            n->style = ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE ? SG_YAML_FLOW
                                                                                 : SG_YAML_BLOCK;
        } else {
            n->tag = copy_tag(b, ev->data.mapping_start.tag);
            n->style = ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE ? SG_YAML_FLOW
                                                                               : SG_YAML_BLOCK;
        }
        rc = record_anchor(b, is_seq ? ev->data.sequence_start.anchor
                                     : ev->data.mapping_start.anchor,
                           n);
        if (rc != SG_OK)
            return rc;
        b->stack[b->depth].node = n;
        b->stack[b->depth].pending_key = NULL;
        b->stack[b->depth].cap = 0;
        b->depth++;
        return SG_OK;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth == 0)
            return sg_err_set(b->err, SG_EPARSE, "%s: unbalanced YAML events", b->file);
        n = b->stack[--b->depth].node;
        n->end_line = (uint32_t)ev->end_mark.line + 1;
        n->end_col = (uint32_t)ev->end_mark.column + 1;
        n->end_off = ev->end_mark.index;
        return attach(b, n);
    default:
        return SG_OK;
    }
}

int sg_yaml_parse(struct sg_str text, const char *file, struct sg_arena *arena,
                  const struct sg_yaml_limits *limits, struct sg_yaml_node **root,
                  struct sg_err *err)
{
    struct builder b;
    yaml_parser_t parser;
    yaml_event_t ev;
    bool done = false;
    int rc = SG_OK;

    memset(&b, 0, sizeof(b));
    b.a = arena;
    b.err = err;
    b.file = sg_arena_strdup(arena, file ? file : "<input>");
    if (!b.file)
        return sg_err_set(err, SG_ENOMEM, "out of memory reading YAML");
    b.lim.max_depth = limits && limits->max_depth ? limits->max_depth : DEF_MAX_DEPTH;
    b.lim.max_aliases = limits && limits->max_aliases ? limits->max_aliases : DEF_MAX_ALIASES;
    b.lim.max_nodes = limits && limits->max_nodes ? limits->max_nodes : DEF_MAX_NODES;
    if (!yaml_parser_initialize(&parser))
        return sg_err_set(err, SG_ENOMEM, "%s: cannot initialise the YAML parser", b.file);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text.ptr, text.len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            const char *problem = parser.problem ? parser.problem : "invalid YAML";
            if (parser.error == YAML_MEMORY_ERROR)
                rc = sg_err_set(err, SG_ENOMEM, "%s: out of memory reading YAML", b.file);
            else if (parser.context)
                rc = sg_err_set_linecol(err, SG_EPARSE, b.file,
                                        (uint32_t)parser.problem_mark.line + 1,
                                        (uint32_t)parser.problem_mark.column + 1, "%s %s",
                                        problem, parser.context);
            else
                rc = sg_err_set_linecol(err, SG_EPARSE, b.file,
                                        (uint32_t)parser.problem_mark.line + 1,
                                        (uint32_t)parser.problem_mark.column + 1, "%s", problem);
            break;
        }
        rc = handle_event(&b, &ev, &done);
        if (rc == SG_OK && ev.type == YAML_DOCUMENT_END_EVENT && limits &&
            limits->first_document_only) {
            yaml_event_delete(&ev);
            break;
        }
        if (rc == SG_OK && ev.type == YAML_DOCUMENT_END_EVENT) {
            /* a second document is an error */
            yaml_event_t ev2;
            if (!yaml_parser_parse(&parser, &ev2)) {
                yaml_event_delete(&ev);
                rc = sg_err_set_linecol(err, SG_EPARSE, b.file,
                                        (uint32_t)parser.problem_mark.line + 1,
                                        (uint32_t)parser.problem_mark.column + 1, "%s",
                                        parser.problem ? parser.problem : "invalid YAML");
                break;
            }
            if (ev2.type == YAML_DOCUMENT_START_EVENT)
                rc = sg_err_set_linecol(err, SG_EPARSE, b.file,
                                        (uint32_t)ev2.start_mark.line + 1,
                                        (uint32_t)ev2.start_mark.column + 1,
                                        "more than one YAML document in the file");
            yaml_event_delete(&ev2);
        }
        yaml_event_delete(&ev);
        if (rc != SG_OK)
            break;
    }
    yaml_parser_delete(&parser);
    if (rc != SG_OK)
        return rc;
    *root = b.root;
    return SG_OK;
}
