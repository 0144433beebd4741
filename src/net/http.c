/*
 * HTTP over libcurl. Every request goes through one easy handle attached to
 * a private multi handle: the multi interface lets a body be pulled only as
 * far as the caller needs (the write callback pauses once enough is
 * buffered) and keeps finished connections for the next request.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_internal.h"

static pthread_once_t pf__http_once = PTHREAD_ONCE_INIT;
static CURLcode pf__http_init_rc = CURLE_FAILED_INIT;

static void pf__http_init_once(void)
{
    pf__http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

pf_err pf__http_global_init(pf_ctx *ctx)
{
    pthread_once(&pf__http_once, pf__http_init_once);
    if (pf__http_init_rc != CURLE_OK)
        return pf__error(ctx, PF_EINTERNAL, "libcurl: %s",
                         curl_easy_strerror(pf__http_init_rc));
    return PF_OK;
}

/* ---- callbacks ---------------------------------------------------------- */

static int64_t pf__http_parse_int(const char *s, const char **end)
{
    int64_t v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9') {
        *end = s;
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10) {     /* absurd: treat as absent */
            *end = s;
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    *end = p;
    return v;
}

/* "bytes first-last/total" or "bytes STAR/total"; fields stay -1 on any
 * deviation, which callers treat as a server they cannot trust. */
static void pf__http_parse_content_range(struct pf__http_response *r,
                                         const char *v)
{
    const char *p;
    int64_t first = -1, last = -1, total = -1;

    if (strncasecmp(v, "bytes", 5) != 0)
        return;
    v += 5;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v == '*') {
        p = v + 1;
    } else {
        first = pf__http_parse_int(v, &p);
        if (first < 0 || *p != '-')
            return;
        last = pf__http_parse_int(p + 1, &p);
        if (last < first)
            return;
    }
    if (*p != '/')
        return;
    if (p[1] != '*') {
        total = pf__http_parse_int(p + 1, &p);
        if (total < 0 || (last >= 0 && last >= total))
            return;
    }
    r->range_first = first;
    r->range_last = last;
    r->range_total = total;
}

static void pf__http_reset_response(struct pf__http_response *r)
{
    r->status = -1;
    r->content_length = -1;
    r->range_first = r->range_last = r->range_total = -1;
}

/* Called once per header line of every response, redirects and interim
 * 1xx responses included: a status line starts the record afresh, so what
 * is left when the body begins belongs to the final response. */
size_t pf__http_on_header(char *data, size_t size, size_t n, void *ud)
{
    struct pf__http *h = ud;
    size_t len = size * n;
    char line[512];
    char *colon, *v, *end;

    h->last_byte_ms = pf__now_ms();
    if (len >= sizeof line)     /* no header we parse is that long */
        return len;
    memcpy(line, data, len);
    line[len] = '\0';
    end = line + strcspn(line, "\r\n");
    *end = '\0';
    if (strncmp(line, "HTTP/", 5) == 0) {
        const char *p = line + strcspn(line, " ");
        const char *q;

        pf__http_reset_response(&h->resp);
        while (*p == ' ')
            p++;
        h->resp.status = (long)pf__http_parse_int(p, &q);
        return len;
    }
    if (!(colon = strchr(line, ':')))
        return len;
    *colon = '\0';
    for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
        ;
    for (char *t = v + strlen(v); t > v && (t[-1] == ' ' || t[-1] == '\t');)
        *--t = '\0';
    if (strcasecmp(line, "Content-Length") == 0) {
        const char *q;
        int64_t cl = pf__http_parse_int(v, &q);

        h->resp.content_length = *q ? -1 : cl;
    } else if (strcasecmp(line, "Content-Range") == 0) {
        pf__http_parse_content_range(&h->resp, v);
    }
    return len;
}

/* Buffers the body until `want` bytes are waiting, then pauses: the rest
 * stays in the socket, where TCP flow control stops the sender. */
static size_t pf__http_on_body(char *data, size_t size, size_t n, void *ud)
{
    struct pf__http *h = ud;
    size_t len = size * n;

    h->body_started = 1;
    h->last_byte_ms = pf__now_ms();
    if (h->stage_len - h->stage_off >= h->want) {
        h->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (h->stage_off > 0) {
        memmove(h->stage, h->stage + h->stage_off, h->stage_len - h->stage_off);
        h->stage_len -= h->stage_off;
        h->stage_off = 0;
    }
    if (h->stage_len + len > h->stage_cap) {
        size_t cap = h->stage_cap ? h->stage_cap * 2 : 65536;
        uint8_t *grown;

        while (cap < h->stage_len + len)
            cap *= 2;
        if (!(grown = realloc(h->stage, cap))) {
            h->nomem = 1;
            return 0;           /* CURLE_WRITE_ERROR */
        }
        h->stage = grown;
        h->stage_cap = cap;
    }
    memcpy(h->stage + h->stage_len, data, len);
    h->stage_len += len;
    h->received += len;
    h->xfer_bytes += len;
    return len;
}

/* ---- handle ------------------------------------------------------------- */

pf_err pf__http_reset(struct pf__http *h)
{
    CURLcode cc = CURLE_OK;

    curl_easy_reset(h->easy);
    /* Each setopt can only fail for lack of memory or an option this
     * libcurl lacks; the first failure is reported. */
#define PF__SETOPT(opt, val)                                                 \
    do {                                                                     \
        if (cc == CURLE_OK)                                                  \
            cc = curl_easy_setopt(h->easy, opt, val);                        \
    } while (0)
    PF__SETOPT(CURLOPT_NOSIGNAL, 1L);
    PF__SETOPT(CURLOPT_USERAGENT, PF__HTTP_UA);
    PF__SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    PF__SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    PF__SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
    PF__SETOPT(CURLOPT_MAXREDIRS, PF__HTTP_MAX_REDIRS);
    /* libcurl's defaults, stated so no later edit can quietly drop them:
     * a media URL is fetched by the API over verified TLS too. */
    PF__SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    PF__SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    PF__SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
    PF__SETOPT(CURLOPT_HEADERFUNCTION, pf__http_on_header);
    PF__SETOPT(CURLOPT_HEADERDATA, h);
    PF__SETOPT(CURLOPT_WRITEFUNCTION, pf__http_on_body);
    PF__SETOPT(CURLOPT_WRITEDATA, h);
    PF__SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    /* Bodies are paused mid-transfer and abandoned; libcurl's HTTP/2
     * pause/unpause path has had stalls and lost data around this release
     * (curl issues 9180, 10988, 11982), its HTTP/1.1 path has not, and
     * small Range reads over one kept-alive connection gain nothing from
     * multiplexing. */
    PF__SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
#undef PF__SETOPT
    if (cc != CURLE_OK)
        return pf__error(h->ctx, PF_EINTERNAL, "libcurl: %s",
                         curl_easy_strerror(cc));
    pf__http_set_stall_timeout(h, h->stall_ms);
    return PF_OK;
}

pf_err pf__http_new(pf_ctx *ctx, struct pf__http **out)
{
    struct pf__http *h = NULL;
    pf_err rc;

    *out = NULL;
    if ((rc = pf__http_global_init(ctx)) != PF_OK)
        goto out;
    if (!(h = calloc(1, sizeof *h))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    h->ctx = ctx;
    if (!(h->easy = curl_easy_init()) || !(h->multi = curl_multi_init())) {
        rc = pf__error(ctx, PF_EINTERNAL, "libcurl: cannot create a handle");
        goto out;
    }
    h->stall_ms = ctx->probe_timeout_ms > 0 ? ctx->probe_timeout_ms : 0;
    if ((rc = pf__http_reset(h)) != PF_OK)
        goto out;
    *out = h;
    h = NULL;
out:
    pf__http_free(h);
    return rc;
}

void pf__http_free(struct pf__http *h)
{
    if (!h)
        return;
    pf__http_stream_close(h);
    if (h->easy)
        curl_easy_cleanup(h->easy);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    free(h->stage);
    free(h);
}

void pf__http_set_deadline(struct pf__http *h, int64_t budget_ms)
{
    h->budget_ms = budget_ms > 0 ? budget_ms : 0;
    h->deadline = budget_ms > 0 ? pf__now_ms() + budget_ms : 0;
}

void pf__http_set_stall_timeout(struct pf__http *h, int stall_ms)
{
    long connect_ms = PF__HTTP_CONNECT_MS;

    h->stall_ms = stall_ms > 0 ? stall_ms : 0;
    if (h->stall_ms && h->stall_ms < connect_ms)
        connect_ms = h->stall_ms;
    curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    /* libcurl's own low-speed check backs up the precise one in
     * pf__http_drive(); it averages over a few seconds, so it fires later. */
    curl_easy_setopt(h->easy, CURLOPT_LOW_SPEED_LIMIT, h->stall_ms ? 1L : 0L);
    curl_easy_setopt(h->easy, CURLOPT_LOW_SPEED_TIME,
                     h->stall_ms ? (long)(h->stall_ms + 999) / 1000 : 0L);
}

uint64_t pf__http_bytes_received(const struct pf__http *h)
{
    return h ? h->received : 0;
}

/* ---- errors ------------------------------------------------------------- */

const char *pf__http_reason(long status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

/* libcurl's messages name hosts, not URLs, but a redirect target could
 * still carry a signature: whatever follows a '?' is cut, to the next
 * space or quote. */
void pf__http_scrub(char *s)
{
    char *q;

    while ((q = strchr(s, '?')) != NULL) {
        size_t run = strcspn(q + 1, " \t\"'");

        if (run == 0) {
            s = q + 1;
            continue;
        }
        memcpy(q + 1, "...", 3);
        memmove(q + 4, q + 1 + run, strlen(q + 1 + run) + 1);
        s = q + 4;
    }
}

/* The error of a finished transfer, or of one we gave up on. */
pf_err pf__http_transfer_error(struct pf__http *h)
{
    char text[CURL_ERROR_SIZE];

    if (h->nomem)
        return pf__error(h->ctx, PF_ENOMEM, "%s: out of memory", h->name);
    pf__strlcpy(text, h->errbuf[0] ? h->errbuf : curl_easy_strerror(h->result),
                sizeof text);
    pf__http_scrub(text);
    if (h->result == CURLE_URL_MALFORMAT)
        return pf__error(h->ctx, PF_EUSAGE, "%s: %s", h->name, text);
    if (h->result == CURLE_OUT_OF_MEMORY)
        return pf__error(h->ctx, PF_ENOMEM, "%s: %s", h->name, text);
    return pf__error(h->ctx, PF_ENET, "%s: %s", h->name, text);
}

static pf_err pf__http_status_error(struct pf__http *h, long status)
{
    const char *reason = pf__http_reason(status);
    /* The usual cause of a 403 from a signed URL, worth saying. */
    const char *hint = status == 403 && strchr(h->name, '?')
                           ? " (a presigned URL may have expired)" : "";

    return pf__error(h->ctx, PF_EHTTP, "%s: HTTP %ld%s%s%s", h->name, status,
                     *reason ? " " : "", reason, hint);
}

/* ---- the transfer loop -------------------------------------------------- */

static int pf__http_headers_in(const struct pf__http *h)
{
    return h->body_started;
}

static int pf__http_have_wanted(const struct pf__http *h)
{
    return h->stage_len - h->stage_off >= h->want;
}

int pf__http_never(const struct pf__http *h)
{
    (void)h;
    return 0;
}

/* Runs the transfer until ready(h) holds or it ends (h->done; its result is
 * left for the caller to judge). Fails only for reasons the transfer itself
 * cannot report: a deadline passed, a stall, an interrupt, libcurl's multi
 * layer. Time spent between calls is not a stall: the clock starts on
 * entry. The interrupt flag is read at least every PF__HTTP_POLL_MS. */
pf_err pf__http_drive(struct pf__http *h,
                      int (*ready)(const struct pf__http *))
{
    int64_t now = pf__now_ms();

    h->last_byte_ms = now;
    for (;;) {
        int running, queued;
        CURLMcode mc = curl_multi_perform(h->multi, &running);
        CURLMsg *msg;
        int64_t wait = PF__HTTP_POLL_MS;

        if (mc != CURLM_OK)
            return pf__error(h->ctx, PF_EINTERNAL, "%s: libcurl: %s", h->name,
                             curl_multi_strerror(mc));
        while ((msg = curl_multi_info_read(h->multi, &queued)) != NULL) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == h->easy) {
                h->done = 1;
                h->result = msg->data.result;
            }
        }
        if (h->done || ready(h))
            return PF_OK;
        if (h->ctx->interrupted)
            return pf__error(h->ctx, PF_EINTR, "%s: interrupted", h->name);
        now = pf__now_ms();
        if (h->deadline && now >= h->deadline)
            return pf__error(h->ctx, PF_ENET, "%s: timed out after %.3g s",
                             h->name, (double)h->budget_ms / 1000);
        if (h->stall_ms && now - h->last_byte_ms >= h->stall_ms)
            return pf__error(h->ctx, PF_ENET,
                             "%s: no data received for %.3g s", h->name,
                             (double)h->stall_ms / 1000);
        if (h->deadline && h->deadline - now < wait)
            wait = h->deadline - now;
        if (h->stall_ms && h->last_byte_ms + h->stall_ms - now < wait)
            wait = h->last_byte_ms + h->stall_ms - now;
        mc = curl_multi_poll(h->multi, NULL, 0, (int)(wait > 0 ? wait : 1), NULL);
        if (mc != CURLM_OK)
            return pf__error(h->ctx, PF_EINTERNAL, "%s: libcurl: %s", h->name,
                             curl_multi_strerror(mc));
    }
}

void pf__http_stream_close(struct pf__http *h)
{
    long connects = 0;

    if (!h || !h->attached)
        return;
    curl_easy_getinfo(h->easy, CURLINFO_NUM_CONNECTS, &connects);
    /* One line per request, once its fate is known. */
    if (h->resp.status < 0)
        pf__log(h->ctx, "http: GET %s%s%s -> no response", h->name,
                h->range[0] ? " bytes=" : "", h->range);
    else
        pf__log(h->ctx, "http: GET %s%s%s -> %ld, %llu bytes%s%s", h->name,
                h->range[0] ? " bytes=" : "", h->range, h->resp.status,
                (unsigned long long)h->xfer_bytes,
                connects ? ", new connection" : "",
                h->done ? "" : ", rest abandoned");
    /* Removing an unfinished transfer closes its connection; a finished
     * one's goes back to the multi handle's cache for the next request. */
    curl_multi_remove_handle(h->multi, h->easy);
    h->attached = 0;
    h->paused = 0;
    h->stage_off = h->stage_len = 0;
}

pf_err pf__http_stream_open(struct pf__http *h, const char *url, int64_t off,
                            int64_t len, struct pf__http_response *resp)
{
    pf_err rc = PF_OK;
    CURLcode cc;
    CURLMcode mc;

    pf__http_stream_close(h);
    pf__redact_url(h->name, sizeof h->name, url);
    h->body_started = h->done = h->nomem = 0;
    h->result = CURLE_OK;
    h->want = 0;                /* pause on the first body byte */
    h->xfer_bytes = 0;
    h->errbuf[0] = '\0';
    pf__http_reset_response(&h->resp);
    h->range[0] = '\0';
    if (off < 0 || (len > 0 && off > INT64_MAX - len)) {
        rc = pf__error(h->ctx, PF_EINTERNAL, "%s: bad range request", h->name);
        goto out;
    }
    if (len > 0)
        snprintf(h->range, sizeof h->range, "%lld-%lld", (long long)off,
                 (long long)(off + len - 1));
    else if (len < 0 && off > 0)
        snprintf(h->range, sizeof h->range, "%lld-", (long long)off);
    if ((cc = curl_easy_setopt(h->easy, CURLOPT_URL, url)) != CURLE_OK ||
        (cc = curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L)) != CURLE_OK ||
        (cc = curl_easy_setopt(h->easy, CURLOPT_RANGE,
                               h->range[0] ? h->range : NULL)) != CURLE_OK) {
        h->result = cc;
        rc = pf__http_transfer_error(h);
        goto out;
    }
    if ((mc = curl_multi_add_handle(h->multi, h->easy)) != CURLM_OK) {
        rc = pf__error(h->ctx, PF_EINTERNAL, "%s: libcurl: %s", h->name,
                       curl_multi_strerror(mc));
        goto out;
    }
    h->attached = 1;
    if ((rc = pf__http_drive(h, pf__http_headers_in)) != PF_OK)
        goto out;
    /* A status >= 400 is judged before the transfer's result: its body
     * may have been cut short, but the status is the news. */
    if (h->resp.status >= 400 && h->resp.status != 416) {
        rc = pf__http_status_error(h, h->resp.status);
        goto out;
    }
    if (h->done && h->result != CURLE_OK) {
        rc = pf__http_transfer_error(h);
        goto out;
    }
    if (h->resp.status < 200 || (h->resp.status >= 300 && h->resp.status != 416)) {
        rc = pf__error(h->ctx, PF_EHTTP, "%s: unexpected HTTP %ld", h->name,
                       h->resp.status);
        goto out;
    }
    *resp = h->resp;
out:
    if (rc != PF_OK)
        pf__http_stream_close(h);
    return rc;
}

pf_err pf__http_stream_read(struct pf__http *h, void *buf, size_t len,
                            size_t *got)
{
    size_t avail;
    pf_err rc;

    *got = 0;
    if (!h->attached || len == 0)
        return PF_OK;
    if (h->stage_len - h->stage_off < len && !h->done) {
        h->want = len;
        if (h->paused) {
            CURLcode cc;

            /* Hands the held chunk back to the write callback, which now
             * takes it, before returning. */
            h->paused = 0;
            if ((cc = curl_easy_pause(h->easy, CURLPAUSE_CONT)) != CURLE_OK) {
                h->result = cc;
                return pf__http_transfer_error(h);
            }
        }
        if ((rc = pf__http_drive(h, pf__http_have_wanted)) != PF_OK)
            return rc;
    }
    avail = h->stage_len - h->stage_off;
    if (avail == 0 && h->done && h->result != CURLE_OK)
        return pf__http_transfer_error(h);
    if (avail > len)
        avail = len;
    memcpy(buf, h->stage + h->stage_off, avail);
    h->stage_off += avail;
    if (h->stage_off == h->stage_len)
        h->stage_off = h->stage_len = 0;
    *got = avail;
    return PF_OK;
}

/* Reads and drops n body bytes; short only at the end of the body. */
static pf_err pf__http_stream_skip(struct pf__http *h, int64_t n, int64_t *skipped)
{
    uint8_t scratch[16384];
    pf_err rc = PF_OK;

    *skipped = 0;
    while (*skipped < n) {
        size_t want = n - *skipped < (int64_t)sizeof scratch
                          ? (size_t)(n - *skipped) : sizeof scratch;
        size_t got;

        if ((rc = pf__http_stream_read(h, scratch, want, &got)) != PF_OK || !got)
            break;
        *skipped += (int64_t)got;
    }
    return rc;
}

/* Reads until len bytes or the end of the body. */
static pf_err pf__http_stream_read_full(struct pf__http *h, uint8_t *buf,
                                        size_t len, size_t *got)
{
    pf_err rc = PF_OK;

    *got = 0;
    while (*got < len) {
        size_t n;

        if ((rc = pf__http_stream_read(h, buf + *got, len - *got, &n)) != PF_OK
            || !n)
            break;
        *got += n;
    }
    return rc;
}

pf_err pf__http_get_range(struct pf__http *h, const char *url, int64_t off,
                          size_t len, void *buf, size_t *got,
                          int64_t *total_size, int *range_honoured)
{
    struct pf__http_response resp;
    int64_t skip = 0, skipped, total = -1;
    size_t n = 0;
    int honoured = 1;
    pf_err rc;

    *got = 0;
    if (len == 0 || len > INT64_MAX)
        return pf__error(h->ctx, PF_EINTERNAL, "bad range request");
    if ((rc = pf__http_stream_open(h, url, off, (int64_t)len, &resp)) != PF_OK)
        goto out;
    if (resp.status == 416) {
        total = resp.range_total;
        goto done;
    }
    if (resp.status == 206) {
        /* A server may answer with a range that starts earlier than asked
         * (whole blocks); later than asked would leave a hole. */
        if (resp.range_first < 0 || resp.range_first > off) {
            rc = pf__error(h->ctx, PF_ENET,
                           "%s: unusable Content-Range in answer to bytes=%s",
                           h->name, h->range);
            goto out;
        }
        skip = off - resp.range_first;
        total = resp.range_total;
    } else {
        /* 200 and the like: the whole body, from its first byte. */
        honoured = 0;
        skip = off;
        total = resp.content_length;
    }
    if ((rc = pf__http_stream_skip(h, skip, &skipped)) != PF_OK)
        goto out;
    if (skipped == skip &&
        (rc = pf__http_stream_read_full(h, buf, len, &n)) != PF_OK)
        goto out;
    /* The whole response read: let libcurl see its end, so the connection
     * is kept for the next request instead of being dropped. */
    if (!h->done && resp.content_length >= 0 &&
        (int64_t)h->xfer_bytes >= resp.content_length &&
        (rc = pf__http_drive(h, pf__http_never)) != PF_OK)
        goto out;
done:
    *got = n;
    if (total_size)
        *total_size = total;
    if (range_honoured)
        *range_honoured = honoured;
out:
    pf__http_stream_close(h);
    return rc;
}
