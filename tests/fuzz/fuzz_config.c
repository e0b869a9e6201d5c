/* tests/fuzz/fuzz_config.c - the config loader on arbitrary bytes.
 *
 * YAML parse, binding and cross-field checks, without touching the
 * filesystem (SG_CONFIG_NO_FS). Whatever the input: no crash, no leak, and
 * either a config or an error with a message; a loaded config's releases
 * resolve by name.
 */
#include <stdint.h>
#include <string.h>

#include "stopgate/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_config_report report;
    struct sg_config *cfg = NULL;
    struct sg_err err;
    int rc;

    if (size > 16384)
        return 0;
    sg_config_report_init(&report);
    sg_err_clear(&err);
    rc = sg_config_parse(sg_str_make((const char *)data, size), "fuzz/config.yaml", SG_CONFIG_NO_FS,
                         &cfg, &report, &err);
    if (rc == SG_OK) {
        if (!cfg || report.errors != 0)
            __builtin_trap();
        for (size_t i = 0; i < cfg->releases_count; i++) {
            if (cfg->releases[i].name &&
                sg_config_release(cfg, sg_str_c(cfg->releases[i].name)) == NULL)
                __builtin_trap();
        }
    } else if (cfg || err.msg[0] == '\0') {
        __builtin_trap();
    }
    sg_config_free(cfg);
    sg_config_report_cleanup(&report);
    return 0;
}
