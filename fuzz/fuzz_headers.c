/*
 * Fuzz target for the response header values preflight parses: the status
 * line, Content-Length, Content-Range (which decides whether a server can
 * be trusted with Range requests), Retry-After (seconds or an HTTP date;
 * what a 429 makes us sleep for), Content-Type, ETag and Location. The
 * input is a raw header block as a server sends it; pf__http_parse_headers
 * runs it through the same libcurl header callbacks a transfer uses.
 *
 * Besides memory safety, the parsed facts must be consistent: a range is
 * ordered and inside its total, a wait is never negative other than the
 * "absent" -1 and never above the cap once clamped, strings terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pf_ctx *ctx;
    static struct pf__http *h;
    struct pf__http_reply reply;
    int64_t wait;

    /* One handle for the whole run, as a process keeps one: making a
     * libcurl handle per input would be most of the time spent. */
    if (!ctx && (!(ctx = pf_ctx_new()) || pf__http_new(ctx, &h) != PF_OK))
        abort();
    memset(&reply, 0, sizeof reply);
    pf__http_parse_headers(h, (const char *)data, size, &reply);
    if (reply.range_first >= 0 && reply.range_total >= 0 &&
        reply.range_first >= reply.range_total)
        abort();
    if (reply.range_first < -1 || reply.range_total < -1 ||
        reply.content_length < -1 || reply.retry_after_ms < -1)
        abort();
    wait = pf__http_retry_after_wait(&reply);
    if (wait < -1 || wait > PF__HTTP_RETRY_AFTER_MAX_MS ||
        (wait == -1) != (reply.retry_after_ms == -1))
        abort();
    if (memchr(reply.content_type, '\0', sizeof reply.content_type) == NULL ||
        memchr(reply.etag, '\0', sizeof reply.etag) == NULL ||
        memchr(reply.location, '\0', sizeof reply.location) == NULL)
        abort();
    pf__http_reply_free(&reply);
    return 0;
}
