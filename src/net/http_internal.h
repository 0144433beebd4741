/*
 * What http.c and request.c share: the handle's layout and the few helpers
 * both transfer styles (pull streams and whole requests) use. Only src/net
 * includes this header, since it includes curl.h.
 */
#ifndef PF_NET_HTTP_INTERNAL_H
#define PF_NET_HTTP_INTERNAL_H

#include <curl/curl.h>

#include "http.h"

#define PF__HTTP_UA "preflight/" PF_VERSION
#define PF__HTTP_CONNECT_MS 10000
#define PF__HTTP_MAX_REDIRS 5L
/* How long one curl_multi_poll() may sleep before timeouts are checked. */
#define PF__HTTP_POLL_MS 200

struct pf__http {
    pf_ctx *ctx;
    CURL *easy;
    CURLM *multi;
    int stall_ms;               /* <= 0: no stall detection */
    int64_t deadline;           /* CLOCK_MONOTONIC ms, 0: none */
    int64_t budget_ms;          /* what the deadline was set from */
    uint64_t received;          /* body bytes, every request */
    char errbuf[CURL_ERROR_SIZE];

    /* The transfer in progress, if attached to the multi handle. */
    int attached;
    int body_started;           /* the write callback has been called */
    int done;                   /* CURLMSG_DONE seen */
    CURLcode result;
    int paused;
    int nomem;
    size_t want;                /* pause once this much is buffered */
    uint8_t *stage;             /* received, not yet read: [stage_off, stage_len) */
    size_t stage_off, stage_len, stage_cap;
    int64_t last_byte_ms;
    uint64_t xfer_bytes;
    struct pf__http_response resp;
    char range[64];
    char name[1024];            /* redacted URL */
};


/* Puts the easy handle back to the state pf__http_new() left it in: every
 * option of a previous request (method, body callbacks, headers, a form,
 * a range) is dropped, the policy options and the stall timeout are set
 * again. Live connections and caches survive (curl_easy_reset). The handle
 * must not be attached to the multi handle. */
pf_err pf__http_reset(struct pf__http *h);

/* The header callback of pull streams: keeps h->resp for the final
 * response (a status line starts it afresh) and feeds stall detection.
 * request.c calls it from its own header callback. */
size_t pf__http_on_header(char *data, size_t size, size_t n, void *ud);

/* Runs the attached transfer until ready(h) holds or it ends (h->done, its
 * result left for the caller). Fails with the message set for what the
 * transfer cannot report itself: a deadline, a stall, an interrupt
 * (ctx->interrupted, PF_EINTR), libcurl's multi layer. */
pf_err pf__http_drive(struct pf__http *h,
                      int (*ready)(const struct pf__http *));
int pf__http_never(const struct pf__http *h);

/* "Not Found" for 404; "" for statuses without a common reason phrase. */
const char *pf__http_reason(long status);

/* Cuts what follows a '?' in a libcurl message, in place. */
void pf__http_scrub(char *s);

/* The message and code of a finished transfer's CURLcode (h->result). */
pf_err pf__http_transfer_error(struct pf__http *h);

#endif
