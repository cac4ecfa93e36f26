/*
 * fuzz_jobconf.c - libFuzzer harness for the job file parser (cli/config.c
 * over cli/ini.c): the input is a job file. Whatever it holds, the parse
 * ends with RSL_OK or an error naming FILE:LINE, and every string the job
 * keeps is freed (ASan/LSan check both).
 * Run: scripts/fuzz.sh jobconf SECONDS (tests/fuzz/README.md).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    rsl_job job;
    rsl_err err;
    rsl_err_clear(&err);
    if (rsl_config_parse(&job, "/fuzz/j.conf", text, &err) != RSL_OK && err.msg[0] == '\0')
        abort(); /* an error without a message */
    rsl_job_free(&job);
    free(text);
    return 0;
}
