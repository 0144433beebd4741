/*
 * Fuzz target for the probers: the input is a media file in memory, handed
 * to pf__probe_source exactly as pf_probe hands a local file or a decoded
 * data URI, so the magic-byte dispatch, the JPEG and PNG header readers and
 * the libavformat glue all see it. An input that starts with "data:" is
 * also given to pf_probe as a data URI, which reaches the base64 decoder
 * and the same probers through a decoded copy. Nothing touches the
 * filesystem or the network: pf_probe only opens a file or a URL for text
 * that does not start with "data:".
 *
 * The context's limits are tightened far below the defaults: a fuzzer runs
 * thousands of inputs a second, and a hostile header that makes libavformat
 * loop must end on our byte or time budget, not on libFuzzer's -timeout.
 *
 * Built two ways (CMakeLists.txt): with -fsanitize=fuzzer as fuzz_probe,
 * and with fuzz/replay_main.c as replay_probe, which ctest runs over
 * fuzz/corpus/probe.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"
#include "probe/probe_internal.h"

/* Big enough for every seed's header, small enough that a demuxer seeking
 * back and forth over a tiny input gives up quickly. */
#define FUZZ_MAX_PROBE_BYTES (1 << 20)
#define FUZZ_PROBE_TIMEOUT_MS 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* pf_probe over the input as a NUL-terminated data URI (cut at the first
 * NUL byte, as a C string would be). */
static void fuzz_data_uri(pf_ctx *ctx, const uint8_t *data, size_t size)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    char *uri;

    if (size < 5 || strncasecmp((const char *)data, "data:", 5) != 0 ||
        !(uri = malloc(size + 1)))
        return;
    memcpy(uri, data, size);
    uri[size] = '\0';
    (void)pf_probe(ctx, uri, &info);
    free(uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__source *src = NULL;
    pf_media_info info = PF_MEDIA_INFO_INIT;
    char *json = NULL;
    volatile size_t sink;

    if (!ctx)
        return 0;
    ctx->max_probe_bytes = FUZZ_MAX_PROBE_BYTES;
    ctx->probe_timeout_ms = FUZZ_PROBE_TIMEOUT_MS;
    fuzz_data_uri(ctx, data, size);
    if (pf__source_open_memory(ctx, "fuzz-input", data, size, &src) != PF_OK)
        goto out;
    if (pf__probe_source(src, &info) == PF_OK) {
        /* The facts of a successful probe are printed by every CLI path:
         * exercise the formatter on whatever the prober filled in. */
        json = pf_media_info_to_json(&info);
        (void)pf_media_kind_name(info.kind);
    }
    /* The message must stay a terminated string whatever failed. */
    sink = strlen(pf_ctx_error(ctx));
    (void)sink;
out:
    pf_free(json);
    pf__source_close(src);
    pf_ctx_free(ctx);
    return 0;
}
