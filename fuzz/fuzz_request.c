/*
 * Fuzz target for what users type into a request: an --input JSON file
 * (pf_request_load_file) and FIELD=VALUE / FIELD:=JSON arguments
 * (pf_request_add_string, pf_request_add_json, split the way the CLI's
 * pf_cli_add_argument splits them), then pf_request_to_json.
 *
 * Input: the --input text, then (after the first 0xFF byte, if any) one
 * argument per line. The --input text reaches pf_request_load_file
 * through a memfd's /proc/self/fd path: the same read path a file takes,
 * and no file on disk. FIELD=@PATH arguments are skipped (they name files).
 *
 * What the request prints must read back as the same request: loading
 * pf_request_to_json's output as --input prints it again unchanged.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preflight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads text into req as --input would; PF_OK or the load's code. */
static pf_err load_text(pf_ctx *ctx, pf_request *req, const void *text,
                        size_t len)
{
    char path[64];
    int fd = memfd_create("fuzz-input", 0);
    pf_err rc = PF_EIO;

    if (fd < 0)
        return PF_EIO;
    if (len && write(fd, text, len) != (ssize_t)len)
        goto out;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    rc = pf_request_load_file(ctx, req, path);
out:
    close(fd);
    return rc;
}

static void add_argument(pf_ctx *ctx, pf_request *req, char *arg)
{
    char *eq = strchr(arg, '=');
    size_t n;

    if (!eq || eq == arg)
        return;
    n = (size_t)(eq - arg);
    if (eq[-1] == ':')
        n--;
    if (n == 0 || n >= 256)
        return;
    if (eq[-1] == ':') {
        eq[-1] = '\0';
        (void)pf_request_add_json(ctx, req, arg, eq + 1);
    } else if (eq[1] != '@') {
        *eq = '\0';
        (void)pf_request_add_string(ctx, req, arg, eq + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_ctx *ctx = pf_ctx_new();
    pf_request *req = pf_request_new(), *again = pf_request_new();
    const uint8_t *sep = memchr(data, 0xff, size);
    size_t input_len = sep ? (size_t)(sep - data) : size;
    char *args = NULL, *json = NULL, *json2 = NULL;

    if (!ctx || !req || !again)
        goto out;
    if (input_len)
        (void)load_text(ctx, req, data, input_len);
    if (sep) {
        size_t n = size - input_len - 1;

        if (!(args = malloc(n + 1)))
            goto out;
        memcpy(args, sep + 1, n);
        args[n] = '\0';
        for (char *line = args, *next; line; line = next) {
            if ((next = strchr(line, '\n')))
                *next++ = '\0';
            add_argument(ctx, req, line);
        }
    }
    if (!(json = pf_request_to_json(req)))
        goto out;
    if (load_text(ctx, again, json, strlen(json)) != PF_OK)
        abort();
    if (!(json2 = pf_request_to_json(again)) || strcmp(json, json2) != 0)
        abort();
out:
    pf_free(json);
    pf_free(json2);
    free(args);
    pf_request_free(req);
    pf_request_free(again);
    pf_ctx_free(ctx);
    return 0;
}
