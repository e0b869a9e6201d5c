/* src/cli/cmd_test.c - `stopgate test rules FILE...`: promtool 2.42's unit
 * tests, with its output and exit status (0 when every file passed, 1 when
 * any failed). Like promtool, every argument must name an existing file
 * before anything runs. */
#include <stdio.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "stopgate/unittest.h"

static int run_test_rules(const struct sg_cmd_args *args)
{
    bool failed = false;

    for (size_t i = 0; i < args->npos; i++) {
        struct stat st;
        if (stat(args->pos[i], &st) != 0) {
            sg_cli_error("path '%s' does not exist", args->pos[i]);
            return SG_EXIT_FAIL;
        }
        if (S_ISDIR(st.st_mode)) {
            sg_cli_error("'%s' is a directory", args->pos[i]);
            return SG_EXIT_FAIL;
        }
    }
    for (size_t i = 0; i < args->npos; i++) {
        if (!sg_ut_run_file(args->pos[i], NULL, stdout, stderr))
            failed = true;
    }
    return failed ? SG_EXIT_FAIL : SG_EXIT_OK;
}

const struct sg_cmd sg_cmd_test_rules = {
    .name = "test",
    .sub = "rules",
    .args = "FILE...",
    .summary = "Unit-test rules in promtool 2.42's `test rules` format and execution model.",
    .details = "Runs each test file as `promtool test rules` 2.42 does and prints its report:\n"
               "\"Unit Testing:  FILE\", then SUCCESS or FAILED with every failure. Exit\n"
               "status 1 when any file failed.",
    .min_pos = 1,
    .max_pos = -1,
    .run = run_test_rules,
};
