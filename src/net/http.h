/*
 * The HTTP layer: the only code in the project that includes curl.h.
 *
 * One struct pf__http per thread owns one CURL easy handle inside its own
 * multi handle, so consecutive requests to the same host reuse the
 * connection (a probe makes several small Range requests) and a transfer can
 * be driven a little at a time: a response body is a pull stream that is
 * read only as far as the caller needs, the rest left in the kernel's socket
 * buffers until the transfer is aborted.
 *
 * Every failure is said here, once, into the context: "URL: reason", the URL
 * always passed through pf__redact_url so a presigned signature never
 * reaches a message or a log. HTTP statuses >= 400 are PF_EHTTP, transport
 * failures (refused, reset, TLS, stalled, timed out) PF_ENET.
 *
 * Policy that holds for every request: http and https only (redirects too,
 * at most 5 followed), TLS peer and host verification always on, proxies
 * from the environment as libcurl reads them, no signals, a User-Agent of
 * "preflight/<version>", connect timeout 10 s, and stall detection rather
 * than a total timeout (uploads may legitimately take long) unless the
 * caller sets a deadline.
 */
#ifndef PF_NET_HTTP_H
#define PF_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"

struct pf__http;

/* What the headers of the final response said (after redirects). Numbers
 * that were absent or unparsable are -1. */
struct pf__http_response {
    long status;                /* 200, 206, 404... */
    int64_t content_length;     /* Content-Length */
    int64_t range_first;        /* Content-Range: bytes first-last/total */
    int64_t range_last;
    int64_t range_total;        /* also set by "bytes STAR/total" on a 416 */
};

/* Initialises libcurl once per process (pthread_once); later calls return
 * the first call's result. pf__http_new() calls it, so callers rarely need
 * to. PF_EINTERNAL with a message when libcurl cannot start. */
pf_err pf__http_global_init(pf_ctx *ctx);

/* A new handle bound to ctx for its messages, logs and timeouts: stall
 * detection after ctx->probe_timeout_ms without a byte. On failure returns
 * the code, sets the message and leaves *out NULL. Not thread-safe: one
 * handle per thread. */
pf_err pf__http_new(pf_ctx *ctx, struct pf__http **out);

/* Aborts any transfer in progress and frees the handle. Accepts NULL. */
void pf__http_free(struct pf__http *h);

/* No transfer started after budget_ms from now may still be running at that
 * moment: it fails with PF_ENET "URL: timed out after N s". 0 removes the
 * deadline. A probe bounds its whole run with this; an upload would not. */
void pf__http_set_deadline(struct pf__http *h, int64_t budget_ms);

/* A transfer that receives nothing for stall_ms fails with PF_ENET. The
 * default comes from ctx->probe_timeout_ms; <= 0 turns detection off. */
void pf__http_set_stall_timeout(struct pf__http *h, int stall_ms);

/* Body bytes received from the network by this handle since it was made,
 * counting every request, including bytes that were received and then
 * discarded (a re-read prefix, an error page). */
uint64_t pf__http_bytes_received(const struct pf__http *h);

/*
 * Reads bytes [off, off+len) of url into buf with a Range request.
 *
 * On a 206, *got is what the server sent of the range (short at the end of
 * the resource) and *total_size comes from Content-Range. On a 416 (off is
 * past the end) *got is 0 and *total_size is taken from "bytes STAR/N" when
 * the server says it. A server that ignores Range answers 200 with the whole
 * body: only its first off+len bytes are received, the transfer is then
 * abandoned, *range_honoured is 0 and *total_size comes from Content-Length.
 * Sizes unknown are -1.
 *
 * range_honoured and total_size may be NULL. On failure returns the code
 * with the message set; *got is 0 and the other outputs are untouched.
 */
pf_err pf__http_get_range(struct pf__http *h, const char *url, int64_t off,
                          size_t len, void *buf, size_t *got,
                          int64_t *total_size, int *range_honoured);

/*
 * The streaming form underneath pf__http_get_range, for callers that do not
 * know up front how much of a body they need.
 *
 * pf__http_stream_open() sends a GET (with "Range: bytes=off-(off+len-1)"
 * when len > 0, "bytes=off-" when len < 0 and off > 0, no Range otherwise),
 * follows redirects and returns once the final response's headers are in,
 * having received no body byte yet. A status >= 400 is an error (PF_EHTTP,
 * stream closed) except 416, which is returned in resp for the caller to
 * judge. Any stream still open on h is closed first.
 *
 * pf__http_stream_read() fills buf with up to len body bytes, waiting for
 * the network only while it has fewer than len buffered; *got is short only
 * at the end of the body and 0 after it. A transfer that broke after the
 * bytes returned so far reports its error on the next call.
 *
 * pf__http_stream_close() abandons what is left of the body (the connection
 * is then not reused unless the body was complete). Safe to call when no
 * stream is open, and twice.
 */
pf_err pf__http_stream_open(struct pf__http *h, const char *url, int64_t off,
                            int64_t len, struct pf__http_response *resp);
pf_err pf__http_stream_read(struct pf__http *h, void *buf, size_t len,
                            size_t *got);
void pf__http_stream_close(struct pf__http *h);

#endif
