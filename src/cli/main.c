/* src/cli/main.c - `stopgate`: find the subcommand, parse its flags, run it.
 *
 * Exit statuses follow SPEC.md: 0 success, 1 a negative answer or a
 * failure, 2 a usage error (unknown command or flag, missing or extra
 * argument; `stopgate` alone prints usage and exits 2).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "stopgate/base.h"

static const struct sg_cmd *const commands[] = {
    &sg_cmd_run,          &sg_cmd_check_config, &sg_cmd_check_rules, &sg_cmd_test_rules,
    &sg_cmd_query_instant, &sg_cmd_query_range, &sg_cmd_read,        &sg_cmd_preflight,
    &sg_cmd_backtest,     &sg_cmd_gate,         &sg_cmd_resume,      &sg_cmd_version,
};

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: stopgate COMMAND [flags] [args]\n"
            "\n"
            "Keeps Helm rollouts safe: checks rollout gates before a wave, evaluates stop\n"
            "conditions as PromQL over Prometheus remote read during it, and pauses or rolls\n"
            "back the release when one trips.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < SG_ARRAY_LEN(commands); i++) {
        const struct sg_cmd *c = commands[i];
        char name[64];
        snprintf(name, sizeof(name), "%s%s%s", c->name, c->sub ? " " : "", c->sub ? c->sub : "");
        fprintf(out, "  %-16s %s\n", name, c->summary);
    }
    fprintf(out, "\nRun 'stopgate COMMAND --help' for a command's flags.\n");
}

/* The subcommand words a command name takes ("config", "rules"), for messages. */
static void list_subs(const char *name, char *buf, size_t n)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < SG_ARRAY_LEN(commands); i++) {
        const struct sg_cmd *c = commands[i];
        if (strcmp(c->name, name) == 0 && c->sub) {
            int w = snprintf(buf + o, n - o, "%s%s", o ? " or " : "", c->sub);
            if (w < 0 || (size_t)w >= n - o)
                return;
            o += (size_t)w;
        }
    }
}

int main(int argc, char **argv)
{
    const struct sg_cmd *cmd = NULL;
    struct sg_cmd_args args;
    bool has_subs = false;
    int used = 2, rc;

    if (argc < 2) {
        print_usage(stderr);
        return SG_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc > 2 && strcmp(argv[1], "help") == 0) {
            /* `stopgate help query instant` */
            for (size_t i = 0; i < SG_ARRAY_LEN(commands); i++) {
                const struct sg_cmd *c = commands[i];
                if (strcmp(c->name, argv[2]) == 0 &&
                    (!c->sub || (argc > 3 && strcmp(c->sub, argv[3]) == 0))) {
                    sg_cli_print_help(c);
                    return SG_EXIT_OK;
                }
            }
        }
        print_usage(stdout);
        return SG_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return sg_cmd_version.run(&(struct sg_cmd_args){.cmd = &sg_cmd_version});
    if (argv[1][0] == '-')
        return sg_cli_usage_error(NULL, "unknown flag %s before the command", argv[1]);

    for (size_t i = 0; i < SG_ARRAY_LEN(commands); i++) {
        const struct sg_cmd *c = commands[i];
        if (strcmp(c->name, argv[1]) != 0)
            continue;
        if (!c->sub) {
            cmd = c;
            break;
        }
        has_subs = true;
        if (argc > 2 && strcmp(c->sub, argv[2]) == 0) {
            cmd = c;
            used = 3;
            break;
        }
    }
    if (!cmd) {
        char subs[128];
        if (!has_subs)
            return sg_cli_usage_error(NULL, "unknown command \"%s\"", argv[1]);
        list_subs(argv[1], subs, sizeof(subs));
        if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            printf("usage: stopgate %s %s ...\n\nRun 'stopgate %s SUBCOMMAND --help'.\n",
                   argv[1], subs, argv[1]);
            return SG_EXIT_OK;
        }
        if (argc > 2)
            return sg_cli_usage_error(NULL, "unknown subcommand \"%s %s\": expected %s", argv[1],
                                      argv[2], subs);
        return sg_cli_usage_error(NULL, "\"%s\" needs a subcommand: %s", argv[1], subs);
    }
    rc = sg_cli_parse(cmd, argc - used, argv + used, &args);
    if (rc < 0)
        rc = cmd->run(&args);
    sg_cli_args_cleanup(&args);
    return rc;
}
