/* src/cli/rr_flags.c - remote-read options from the command line
 * (SG_CLI_RR_FLAGS) and from --config.file's remote_read: section, shared by
 * `read` and `query`.
 *
 * Order: defaults, then the config's remote_read (when --config.file is
 * given), then the flags, so flags override config values. Repeated
 * --header and --external-label flags replace a config entry of the same
 * name and add the others. The URL argument of the command is the endpoint.
 * The command line retries a read at most SG_RR_DEFAULT_RETRIES times
 * whatever remote_read.retries.max says (a smaller max is kept); the
 * daemon keeps the config's value.
 * Bad values are errors (exit 1) naming the flag; nothing here reads a
 * secret (the client reads token and password files for every request).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "stopgate/config.h"
#include "stopgate/duration.h"
#include "stopgate/labels.h"
#include "stopgate/rr.h"

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

static int add_header(struct sg_arena *a, struct sg_rr_options *o, const char *spec,
                      struct sg_err *err)
{
    const char *colon = strchr(spec, ':');
    char *name, *value;
    struct sg_rr_header *h;

    if (!colon || colon == spec)
        return sg_err_set(err, SG_EINVAL, "--header=%s: expected NAME:VALUE", spec);
    name = sg_arena_strndup(a, spec, (size_t)(colon - spec));
    value = sg_arena_strdup(a, colon + 1);
    if (!name || !value)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    name = trim(name);
    value = trim(value);
    h = sg_arena_alloc_array(a, o->nheaders + 1, sizeof(*h));
    if (!h)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    if (o->nheaders)
        memcpy(h, o->headers, o->nheaders * sizeof(*h));
    o->headers = h;
    for (size_t i = 0; i < o->nheaders; i++) {
        if (strcasecmp(h[i].name, name) == 0) {
            h[i].value = value;
            return SG_OK;
        }
    }
    h[o->nheaders].name = name;
    h[o->nheaders].value = value;
    o->nheaders++;
    return SG_OK;
}

static int add_external_label(struct sg_arena *a, struct sg_rr_options *o, const char *spec,
                              struct sg_err *err)
{
    const char *eq = strchr(spec, '=');
    struct sg_label *l;
    struct sg_str name, value;

    if (!eq || eq == spec)
        return sg_err_set(err, SG_EINVAL, "--external-label=%s: expected NAME=VALUE", spec);
    name = sg_str_make(spec, (size_t)(eq - spec));
    value = sg_str_c(eq + 1);
    if (!sg_label_name_valid(name))
        return sg_err_set(err, SG_EINVAL, "--external-label=%s: invalid label name \"%.*s\"",
                          spec, (int)name.len, name.ptr);
    l = sg_arena_alloc_array(a, o->nexternal_labels + 1, sizeof(*l));
    if (!l)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    if (o->nexternal_labels)
        memcpy(l, o->external_labels, o->nexternal_labels * sizeof(*l));
    o->external_labels = l;
    for (size_t i = 0; i < o->nexternal_labels; i++) {
        if (sg_str_eq(l[i].name, name)) {
            l[i].value = value;
            return SG_OK;
        }
    }
    l[o->nexternal_labels].name = name;
    l[o->nexternal_labels].value = value;
    o->nexternal_labels++;
    return SG_OK;
}

int sg_cli_rr_options(const struct sg_cmd_args *args, const char *url, struct sg_arena *a,
                      struct sg_rr_options *o, struct sg_config **cfg_out, struct sg_err *err)
{
    const char *cfg_path = sg_cli_flag(args, "config.file"), *v;
    const struct sg_flag_val *multi;
    struct sg_config *cfg = NULL;
    int rc;

    *cfg_out = NULL;
    sg_rr_options_init(o);
    if (cfg_path) {
        rc = sg_config_load_file(cfg_path, &cfg, err);
        if (rc != SG_OK)
            return rc;
        *cfg_out = cfg;
        rc = sg_rr_options_from_config(&cfg->remote_read, a, o, err);
        if (rc != SG_OK)
            return rc;
        if (o->retries > SG_RR_DEFAULT_RETRIES)
            o->retries = SG_RR_DEFAULT_RETRIES;
    }
    if (url)
        o->url = url;
    if ((v = sg_cli_flag(args, "timeout")) != NULL) {
        rc = sg_duration_parse(sg_str_c(v), &o->timeout_ms, err);
        if (rc != SG_OK) {
            sg_err_prefix(err, "--timeout: ");
            return rc;
        }
        if (o->timeout_ms <= 0)
            return sg_err_set(err, SG_EINVAL, "--timeout must be positive");
    }
    if ((v = sg_cli_flag(args, "response-type")) != NULL) {
        rc = sg_rr_response_type_parse(v, &o->response_type, err);
        if (rc != SG_OK) {
            sg_err_prefix(err, "--response-type: ");
            return rc;
        }
    }
    if ((v = sg_cli_flag(args, "bearer-token-file")) != NULL) {
        o->bearer_token_file = v;
        o->basic_auth_username = o->basic_auth_password_file = NULL; /* one credential */
    }
    if ((v = sg_cli_flag(args, "tls.ca-file")) != NULL)
        o->tls.ca_file = v;
    multi = sg_cli_flag_val(args, "header");
    for (size_t i = 0; multi && i < multi->count; i++) {
        rc = add_header(a, o, multi->values[i], err);
        if (rc != SG_OK)
            return rc;
    }
    multi = sg_cli_flag_val(args, "external-label");
    for (size_t i = 0; multi && i < multi->count; i++) {
        rc = add_external_label(a, o, multi->values[i], err);
        if (rc != SG_OK)
            return rc;
    }
    return SG_OK;
}

int sg_cli_write_file(const char *path, const void *data, size_t len, struct sg_err *err)
{
    FILE *f = fopen(path, "wb");

    if (!f)
        return sg_err_set(err, SG_EIO, "cannot write %s", path);
    if (len && fwrite(data, 1, len, f) != len) {
        fclose(f);
        return sg_err_set(err, SG_EIO, "cannot write %s", path);
    }
    if (fclose(f) != 0)
        return sg_err_set(err, SG_EIO, "cannot write %s", path);
    return SG_OK;
}
