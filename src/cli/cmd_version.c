/* src/cli/cmd_version.c - `stopgate version`. */
#include <curl/curl.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <uv.h>
#include <yaml.h>

#include "cli/cli.h"
#include "sg_build_config.h"
#include "sg_revision.h"

static int run_version(const struct sg_cmd_args *args)
{
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

    (void)args;
    printf("stopgate, version %s (revision: %s)\n", SG_VERSION, SG_REVISION);
    printf("  build type:       %s\n", SG_BUILD_TYPE);
    printf("  compiler:         %s\n", SG_CC);
    printf("  promql parity:    Prometheus 2.42\n");
    printf("  libraries:        libcurl %s, libuv %s, jansson %s, libyaml %s, protobuf-c %s\n",
           cv ? cv->version : "?", uv_version_string(), JANSSON_VERSION, yaml_get_version_string(),
           protobuf_c_version());
    return SG_EXIT_OK;
}

const struct sg_cmd sg_cmd_version = {
    .name = "version",
    .summary = "Print the version and build information.",
    .min_pos = 0,
    .max_pos = 0,
    .run = run_version,
};
