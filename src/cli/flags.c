/* src/cli/flags.c - the flag parser of every subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "stopgate/base.h"

void sg_cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("stopgate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void cmd_name(const struct sg_cmd *cmd, char *buf, size_t n)
{
    if (cmd->sub)
        snprintf(buf, n, "%s %s", cmd->name, cmd->sub);
    else
        snprintf(buf, n, "%s", cmd->name);
}

int sg_cli_usage_error(const struct sg_cmd *cmd, const char *fmt, ...)
{
    char name[64];
    va_list ap;

    fputs("stopgate: ", stderr);
    if (cmd) {
        cmd_name(cmd, name, sizeof(name));
        fprintf(stderr, "%s: ", name);
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, " (see 'stopgate %s --help')\n", name);
    else
        fputs(" (see 'stopgate --help')\n", stderr);
    return SG_EXIT_USAGE;
}

int sg_cli_not_implemented(const struct sg_cmd_args *args)
{
    char name[64];

    cmd_name(args->cmd, name, sizeof(name));
    sg_cli_error("%s: not implemented yet", name);
    return SG_EXIT_FAIL;
}

void sg_cli_args_cleanup(struct sg_cmd_args *a)
{
    for (size_t i = 0; i < SG_CLI_MAX_FLAGS; i++)
        sg_free(a->flags[i].values);
    sg_free(a->pos);
    a->pos = NULL;
    a->npos = 0;
}

static int find_flag(const struct sg_cmd *cmd, const char *name, size_t len, char short_name)
{
    if (!cmd->flags)
        return -1;
    for (int i = 0; cmd->flags[i].name; i++) {
        const struct sg_flag_def *f = &cmd->flags[i];
        if (short_name) {
            if (f->short_name == short_name)
                return i;
        } else if (strlen(f->name) == len && memcmp(f->name, name, len) == 0) {
            return i;
        }
    }
    return -1;
}

const struct sg_flag_val *sg_cli_flag_val(const struct sg_cmd_args *a, const char *name)
{
    int i = find_flag(a->cmd, name, strlen(name), 0);

    return i < 0 ? NULL : &a->flags[i];
}

const char *sg_cli_flag(const struct sg_cmd_args *a, const char *name)
{
    const struct sg_flag_val *v = sg_cli_flag_val(a, name);

    return v && v->set ? v->value : NULL;
}

bool sg_cli_flag_bool(const struct sg_cmd_args *a, const char *name)
{
    const char *v = sg_cli_flag(a, name);

    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

void sg_cli_print_help(const struct sg_cmd *cmd)
{
    char name[64];

    cmd_name(cmd, name, sizeof(name));
    printf("usage: stopgate %s [flags]%s%s\n\n%s\n", name, cmd->args ? " " : "",
           cmd->args ? cmd->args : "", cmd->summary);
    if (cmd->details)
        printf("\n%s\n", cmd->details);
    printf("\nflags:\n");
    printf("  -h, --help%*s%s\n", 24, "", "show this help");
    for (int i = 0; cmd->flags && cmd->flags[i].name; i++) {
        const struct sg_flag_def *f = &cmd->flags[i];
        char left[80];
        int n;
        if (!f->help)
            continue; /* accepted but not listed */
        if (f->short_name)
            n = snprintf(left, sizeof(left), "  -%c, --%s", f->short_name, f->name);
        else
            n = snprintf(left, sizeof(left), "      --%s", f->name);
        if (f->kind != SG_FLAG_BOOL && n > 0 && (size_t)n < sizeof(left))
            snprintf(left + n, sizeof(left) - (size_t)n, "=%s", f->metavar ? f->metavar : "VALUE");
        /* a flag too long for the column gets its help on the next line */
        if (strlen(left) >= 35)
            printf("%s\n%36s", left, "");
        else
            printf("%-36s", left);
        printf("%s%s\n", f->help, f->kind == SG_FLAG_MULTI ? " (repeatable)" : "");
    }
}

static int set_flag(const struct sg_cmd *cmd, struct sg_cmd_args *out, int idx, const char *value,
                    const char *spelled)
{
    const struct sg_flag_def *f = &cmd->flags[idx];
    struct sg_flag_val *v = &out->flags[idx];

    if (f->kind == SG_FLAG_BOOL) {
        if (!value)
            value = "true";
        else if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0 &&
                 strcmp(value, "1") != 0 && strcmp(value, "0") != 0)
            return sg_cli_usage_error(cmd, "flag %s takes true or false, not \"%s\"", spelled,
                                      value);
    }
    if (f->kind == SG_FLAG_MULTI) {
        const char **vals = sg_reallocarray(v->values, v->count + 1, sizeof(*vals));
        if (!vals) {
            sg_cli_error("out of memory");
            return SG_EXIT_FAIL;
        }
        vals[v->count++] = value;
        v->values = vals;
    }
    v->set = true;
    v->value = value;
    return -1;
}

int sg_cli_parse(const struct sg_cmd *cmd, int argc, char **argv, struct sg_cmd_args *out)
{
    bool flags_done = false;
    int i, rc;

    memset(out, 0, sizeof(*out));
    out->cmd = cmd;
    out->pos = sg_calloc((size_t)argc + 1, sizeof(*out->pos));
    if (!out->pos) {
        sg_cli_error("out of memory");
        return SG_EXIT_FAIL;
    }
    for (i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq, *name, *value = NULL;
        size_t len;
        char short_name = 0, spelled[128];
        int idx;

        if (flags_done || arg[0] != '-' || arg[1] == '\0') {
            out->pos[out->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            sg_cli_print_help(cmd);
            return SG_EXIT_OK;
        }
        if (arg[1] == '-') {
            name = arg + 2;
            eq = strchr(name, '=');
            len = eq ? (size_t)(eq - name) : strlen(name);
            if (eq)
                value = eq + 1;
            snprintf(spelled, sizeof(spelled), "--%.*s", (int)len, name);
            idx = find_flag(cmd, name, len, 0);
        } else {
            short_name = arg[1];
            if (arg[2] == '=')
                value = arg + 3;
            else if (arg[2] != '\0')
                value = arg + 2; /* -ojson */
            snprintf(spelled, sizeof(spelled), "-%c", short_name);
            idx = find_flag(cmd, NULL, 0, short_name);
        }
        if (idx < 0)
            return sg_cli_usage_error(cmd, "unknown flag %s", spelled);
        if (cmd->flags[idx].kind != SG_FLAG_BOOL && !value) {
            if (i + 1 >= argc)
                return sg_cli_usage_error(cmd, "flag %s needs a value", spelled);
            value = argv[++i];
        }
        rc = set_flag(cmd, out, idx, value, spelled);
        if (rc >= 0)
            return rc;
    }
    if ((int)out->npos < cmd->min_pos) {
        return sg_cli_usage_error(cmd, "missing argument%s: expected %s",
                                  cmd->min_pos - (int)out->npos > 1 ? "s" : "",
                                  cmd->args ? cmd->args : "arguments");
    }
    if (cmd->max_pos >= 0 && (int)out->npos > cmd->max_pos)
        return sg_cli_usage_error(cmd, "unexpected argument \"%s\"", out->pos[cmd->max_pos]);
    return -1;
}
