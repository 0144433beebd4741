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

/* ---- requests with bodies, retries and error bodies (request.c) -------- */

/* One field of a multipart/form-data body (an S3 presigned POST's
 * "fields"), sent in order, before the file. */
struct pf__http_form_field {
    const char *name, *value;
};

struct pf__http_request {
    const char *method;             /* "GET" when NULL; "POST", "PUT",
                                     * "DELETE", "HEAD" */
    const char *url;
    /* NULL-terminated "Name: value" lines or NULL. Values may be secrets
     * (Authorization, X-API-Key): they are never logged or put in an
     * error message. */
    const char *const *headers;

    /* The body, at most one of: memory, a file, a form. */
    const void *body;               /* sent as is, body_len bytes */
    size_t body_len;
    int body_fd;                    /* >= 0: stream body_size bytes of this
                                     * file from offset 0 (pread, constant
                                     * memory, Content-Length always sent;
                                     * each retry starts again at 0) */
    int64_t body_size;
    const struct pf__http_form_field *form;   /* multipart/form-data: these */
    size_t nform;                   /* fields, then the body_fd file as */
    const char *form_file_field;    /* this field ("file") */
    const char *form_file_type;     /* its Content-Type, or NULL */

    /* Where a 2xx body goes: sink_fd >= 0 writes it there (from the fd's
     * current position; a retry truncates back to it), otherwise memory,
     * at most max_body bytes (0: 8 MiB; more is PF_ELIMIT). A body of a
     * status >= 400 always goes to memory (kept to 64 KiB) for the error. */
    int sink_fd;
    size_t max_body;
    int prefix_only;                /* a 2xx body longer than max_body is no
                                     * error: its first max_body bytes are
                                     * kept and the transfer abandoned (a
                                     * server that ignores Range sends the
                                     * whole file) */
    int64_t range_from;             /* > 0: GET "Range: bytes=N-" (resuming a
                                     * download); the caller checks status
                                     * 206 against 200 */
    int64_t range_len;              /* > 0: "Range: bytes=FROM-(FROM+LEN-1)"
                                     * instead, from range_from (0 too) */

    /* Attempts after the first, for connection errors, 408, 425, 429 and
     * 5xx, with exponential backoff from about 1 s (ctx->retry_base_ms),
     * full jitter, capped at 30 s, Retry-After honoured (seconds or an
     * HTTP date, clamped to 0..300 s). -1: the default, 4 for GET, HEAD,
     * PUT and DELETE, 0 for POST (a POST is retried only when the caller
     * knows it is safe: an idempotency guard, or no request was sent). */
    int retries;
    /* A failed connect (nothing was sent) is retried even for a POST,
     * unless this is set: then it is returned (reply->sent 0), for a
     * caller that records why before it waits and asks again itself. */
    int no_unsent_retry;

    /* Called as the body goes out or comes in, at most ~10 times a second;
     * total -1 when unknown. Return non-zero to abort (PF_EINTR). */
    int (*progress)(void *ud, int64_t up_done, int64_t up_total,
                    int64_t down_done, int64_t down_total);
    void *progress_ud;

    /* A 2xx JSON body with a non-empty "error_code" is a failure too
     * (PF_EAPI, its error_message said): RunComfy reports some errors with
     * HTTP 200. The reply is filled as for any answer. */
    int fail_on_error_code;

    /* A 404 is an answer the caller expects (a HEAD asking whether an
     * object exists yet): PF_OK with reply->status 404, not retried, and
     * no error said or logged. */
    int absent_ok;
};

/* Initialises a request: sink_fd = body_fd = -1, retries = -1, the rest 0. */
void pf__http_request_init(struct pf__http_request *req);

struct pf__http_reply {
    long status;                    /* final status, -1 when none */
    char *body;                     /* malloc'ed, NUL-terminated (body_len
                                     * does not count the NUL); NULL when the
                                     * body went to sink_fd */
    size_t body_len;                /* or the bytes written to sink_fd */
    int64_t content_length;         /* -1 when absent */
    int64_t range_first;            /* from Content-Range, -1 when absent */
    int64_t range_total;
    char content_type[128];         /* "" when absent */
    char etag[128];
    char location[1024];            /* a Location header, for 201/303 */
    int64_t retry_after_ms;         /* the final answer's Retry-After
                                     * (seconds or an HTTP date) as the
                                     * server said it, unclamped; -1 when
                                     * absent or unreadable */
    int attempts;                   /* 1 + retries made */
    int sent;                       /* some attempt wrote request bytes: a
                                     * POST that then failed may have been
                                     * acted on (outcome unknown) */
};

/* The longest wait a Retry-After is obeyed for: a server asking for more
 * is asked again after this long instead of stalling a run for hours. */
#define PF__HTTP_RETRY_AFTER_MAX_MS 300000

/* How long the reply's Retry-After asks the client to wait before asking
 * again, clamped to 0..PF__HTTP_RETRY_AFTER_MAX_MS as pf__http_request
 * clamps it for its own retries; -1 when the reply has none. For callers
 * that repeat a request themselves (a POST only they know is safe to
 * send again). */
int64_t pf__http_retry_after_wait(const struct pf__http_reply *reply);

/*
 * Sends a request, retrying as req->retries allows, and returns the final
 * reply. PF_OK for a 2xx (and 3xx that redirects did not follow). For a
 * status >= 400 after retries: the reply is still filled (status, body) so
 * a provider can read its own error shape, and the message is set from the
 * body when it says something: S3's XML <Code> and <Message>, a JSON
 * "error_code"/"error_message" (RunComfy), "error": {"message"} or
 * "message"/"detail"; otherwise "HTTP 404 Not Found". The code is PF_EAUTH
 * for 401 and for 403 with InvalidAccessKeyId, SignatureDoesNotMatch,
 * AccessDenied or an expired presigned URL (never retried), PF_EHTTP for
 * the rest. Transport failures are PF_ENET ("URL: no data received for
 * 20 s", "URL: connection refused"), a full sink PF_ENOSPC, an aborting
 * progress callback PF_EINTR. A server that answers early (403 in the
 * middle of an upload) is reported with its status and body, not as a
 * broken pipe.
 *
 * Every request is logged once (method, redacted URL, status, bytes,
 * attempt) through ctx's log; no header value and no query string is.
 * Plain http:// is refused unless the host is a loopback address
 * (127.0.0.0/8, ::1, localhost): PF_EUSAGE. The reply's strings are freed
 * with pf__http_reply_free, also after a failure.
 */
pf_err pf__http_request(struct pf__http *h, const struct pf__http_request *req,
                        struct pf__http_reply *reply);

/* The scheme policy of pf__http_request, for URLs read another way (a
 * pull stream): https anywhere, http only to a loopback host. PF_EUSAGE
 * with the redacted URL otherwise. */
pf_err pf__http_check_url(pf_ctx *ctx, const char *url);

/* Fuzz targets and tests: reads a raw response header block (a status
 * line, then "Name: value" lines, as a server sends them) with the header
 * callbacks pf__http_request uses, and fills the reply's header fields
 * (status, Content-Length, Content-Range, Content-Type, ETag, Location,
 * Retry-After) as a transfer would. No network. */
void pf__http_parse_headers(struct pf__http *h, const char *block, size_t len,
                            struct pf__http_reply *reply);

/* Frees the reply's body and resets it; accepts a zeroed reply, twice. */
void pf__http_reply_free(struct pf__http_reply *reply);

/* What an error body says, in one line each: S3's XML <Code>/<Message>,
 * RunComfy's JSON "error_code"/"error_message", {"error": {"message",
 * "code"|"type"}}, {"error": "text"}, "message", "detail" (a string or
 * FastAPI's [{"msg"}]). body is NUL-terminated at len. Returns 1 when code
 * or msg was found ("" for the other), 0 when the body says nothing. For
 * providers that must read a 2xx body for errors as well. */
int pf__http_body_error(const char *body, size_t len, char *code,
                        size_t code_size, char *msg, size_t msg_size);

#endif
