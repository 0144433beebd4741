/*
 * Whole requests over the handle of http.c: a method, headers, a body from
 * memory, a file or a multipart form, a reply into memory or a file, and
 * the retry policy of http.h. The pull streams of http.c and these share
 * the easy handle (and so the connection cache); every request starts and
 * ends with pf__http_reset(), so no option of one (an upload, a form, a
 * range) leaks into the next.
 *
 * A file body is read with pread() at the offset libcurl asks for, into
 * libcurl's own upload buffer: memory stays constant whatever the file's
 * size, and a retry or a redirect rewinds by setting the offset back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "http_internal.h"

#define PF__REQ_MAX_BODY ((size_t)8 << 20)      /* a 2xx body in memory */
#define PF__REQ_ERROR_BODY ((size_t)64 << 10)   /* an error body kept */
#define PF__REQ_RETRIES 4
#define PF__REQ_BACKOFF_CAP_MS 30000
#define PF__REQ_PROGRESS_MS 100
/* libcurl's default upload buffer is 64 KiB; a larger one halves the
 * read callbacks and syscalls per byte for a multi-gigabyte upload, which
 * is what keeps pace with `curl -T` on loopback. Still constant memory. */
#define PF__REQ_UPLOAD_BUFFER (512L * 1024)
#define PF__REQ_MSG 300                         /* of a server's message */

/* One request's state, shared by its attempts and libcurl's callbacks. */
struct pf__xfer {
    struct pf__http *h;
    const struct pf__http_request *req;
    const char *method;
    int64_t send_size;          /* body bytes, -1 when there is none */
    int64_t send_off;           /* next body byte libcurl gets */
    int read_errno;             /* pread failed (or -1: the file shrank) */

    char *mem;                  /* a body kept in memory, NUL-terminated */
    size_t mem_len, mem_cap, mem_max;
    int too_big;
    int cut;                    /* prefix_only: the rest of a 2xx body was
                                 * abandoned on purpose */
    int64_t sink_start;         /* sink_fd's position, -1: not seekable */
    int64_t sink_len;           /* bytes written to sink_fd this attempt */
    int sink_errno;

    int no_resend;              /* a POST without retries: never resent */
    int aborted;                /* the progress callback asked to stop */
    int64_t last_progress_ms;
    int64_t retry_after_ms;     /* -1: absent */
    char content_type[128], etag[128], location[1024];
};

void pf__http_request_init(struct pf__http_request *req)
{
    memset(req, 0, sizeof *req);
    req->body_fd = req->sink_fd = -1;
    req->retries = -1;
}

void pf__http_reply_free(struct pf__http_reply *reply)
{
    if (!reply)
        return;
    free(reply->body);
    memset(reply, 0, sizeof *reply);
    reply->status = reply->content_length = -1;
    reply->range_first = reply->range_total = -1;
    reply->retry_after_ms = -1;
}

/* ---- callbacks ---------------------------------------------------------- */

static void pf__req_copy_value(char *dst, size_t size, const char *v, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* Milliseconds to wait from a Retry-After value: delta-seconds or an HTTP
 * date (RFC 9110 10.2.3); -1 when it is neither. */
static int64_t pf__req_parse_retry_after(const char *v)
{
    time_t when, now;

    if (*v >= '0' && *v <= '9') {
        int64_t s = 0;

        for (; *v >= '0' && *v <= '9'; v++)
            s = s < 100000000 ? s * 10 + (*v - '0') : s;
        return *v ? -1 : s * 1000;
    }
    if ((when = curl_getdate(v, NULL)) < 0)
        return -1;
    now = time(NULL);
    return when > now ? (int64_t)(when - now) * 1000 : 0;
}

static int64_t pf__req_clamp_retry_after(int64_t ms)
{
    if (ms < 0)
        return -1;
    return ms < PF__HTTP_RETRY_AFTER_MAX_MS ? ms : PF__HTTP_RETRY_AFTER_MAX_MS;
}

int64_t pf__http_retry_after_wait(const struct pf__http_reply *reply)
{
    return pf__req_clamp_retry_after(reply->retry_after_ms);
}

static size_t pf__req_on_header(char *data, size_t size, size_t n, void *ud)
{
    struct pf__xfer *x = ud;
    size_t len = size * n, name_len, vlen;
    const char *v, *end = data + len;

    pf__http_on_header(data, size, n, x->h);
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new response (a redirect, a 100 Continue, the final one):
         * only the final one's headers are kept. */
        x->content_type[0] = x->etag[0] = x->location[0] = '\0';
        x->retry_after_ms = -1;
        return len;
    }
    while (end > data && (end[-1] == '\r' || end[-1] == '\n' ||
                          end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (!(v = memchr(data, ':', (size_t)(end - data))))
        return len;
    name_len = (size_t)(v - data);
    for (v++; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    vlen = (size_t)(end - v);
#define PF__IS(hdr) (name_len == sizeof hdr - 1 && strncasecmp(data, hdr, name_len) == 0)
    if (PF__IS("Content-Type")) {
        pf__req_copy_value(x->content_type, sizeof x->content_type, v, vlen);
    } else if (PF__IS("ETag")) {
        pf__req_copy_value(x->etag, sizeof x->etag, v, vlen);
    } else if (PF__IS("Location")) {
        pf__req_copy_value(x->location, sizeof x->location, v, vlen);
    } else if (PF__IS("Retry-After")) {
        char tmp[128];

        pf__req_copy_value(tmp, sizeof tmp, v, vlen);
        x->retry_after_ms = pf__req_parse_retry_after(tmp);
    }
#undef PF__IS
    return len;
}

/* What the final response's headers said, into the reply. */
static void pf__req_reply_headers(const struct pf__xfer *x,
                                  struct pf__http_reply *reply)
{
    reply->status = x->h->resp.status;
    reply->content_length = x->h->resp.content_length;
    reply->range_first = x->h->resp.range_first;
    reply->range_total = x->h->resp.range_total;
    reply->retry_after_ms = x->retry_after_ms;
    pf__strlcpy(reply->content_type, x->content_type, sizeof reply->content_type);
    pf__strlcpy(reply->etag, x->etag, sizeof reply->etag);
    pf__strlcpy(reply->location, x->location, sizeof reply->location);
}

void pf__http_parse_headers(struct pf__http *h, const char *block, size_t len,
                            struct pf__http_reply *reply)
{
    struct pf__xfer x;
    const char *p = block, *end = block + len;

    memset(&x, 0, sizeof x);
    x.h = h;
    x.retry_after_ms = -1;
    h->resp.status = h->resp.content_length = -1;
    h->resp.range_first = h->resp.range_last = h->resp.range_total = -1;
    /* libcurl hands the callback one line at a time, CRLF included. */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char *line = malloc(n ? n : 1);

        if (!line)
            break;
        memcpy(line, p, n);
        pf__req_on_header(line, 1, n, &x);
        free(line);
        p += n;
    }
    pf__req_reply_headers(&x, reply);
}

/* Appends to the in-memory body; a 2xx body over its limit fails the
 * transfer, an error body is quietly cut at 64 KiB whatever the caller's
 * limit (its head says what went wrong). */
static size_t pf__req_keep(struct pf__xfer *x, const char *data, size_t len,
                           int is_error)
{
    size_t take = len, max = is_error ? PF__REQ_ERROR_BODY : x->mem_max;

    if (x->mem_len + len > max) {
        if (!is_error && !x->req->prefix_only) {
            x->too_big = 1;
            return 0;
        }
        take = max - x->mem_len;
        x->cut = !is_error;
    }
    if (x->mem_len + take + 1 > x->mem_cap) {
        size_t cap = x->mem_cap ? x->mem_cap : 4096;
        char *grown;

        while (cap < x->mem_len + take + 1)
            cap *= 2;
        if (!(grown = realloc(x->mem, cap))) {
            x->h->nomem = 1;
            return 0;
        }
        x->mem = grown;
        x->mem_cap = cap;
    }
    memcpy(x->mem + x->mem_len, data, take);
    x->mem_len += take;
    x->mem[x->mem_len] = '\0';
    /* Returning short ends the transfer: what the caller needs is in. */
    return x->cut ? 0 : len;
}

static size_t pf__req_sink(struct pf__xfer *x, const char *data, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t w = x->sink_start >= 0
                        ? pwrite(x->req->sink_fd, data + done, len - done,
                                 (off_t)(x->sink_start + x->sink_len))
                        : write(x->req->sink_fd, data + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->sink_errno = w < 0 ? errno : ENOSPC;
            return 0;
        }
        done += (size_t)w;
        x->sink_len += w;
    }
    return len;
}

static size_t pf__req_on_write(char *data, size_t size, size_t n, void *ud)
{
    struct pf__xfer *x = ud;
    size_t len = size * n;
    long status = x->h->resp.status;

    x->h->last_byte_ms = pf__now_ms();
    x->h->received += len;
    x->h->xfer_bytes += len;
    if (status >= 200 && status < 300 && x->req->sink_fd >= 0)
        return pf__req_sink(x, data, len);
    return pf__req_keep(x, data, len, status >= 400);
}

static size_t pf__req_on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct pf__xfer *x = ud;
    int64_t left = x->send_size - x->send_off;
    size_t want = size * n;

    if (left <= 0)
        return 0;
    if ((int64_t)want > left)
        want = (size_t)left;
    x->h->last_byte_ms = pf__now_ms();
    if (x->req->body_fd >= 0) {
        ssize_t got;

        do
            got = pread(x->req->body_fd, buf, want, (off_t)x->send_off);
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            /* A file that shrank under us would otherwise leave the
             * server waiting for bytes promised in Content-Length. */
            x->read_errno = got < 0 ? errno : -1;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)got;
    } else {
        memcpy(buf, (const char *)x->req->body + x->send_off, want);
    }
    x->send_off += (int64_t)want;
    return want;
}

/* libcurl rewinds the body to resend it: after a redirect, an
 * authentication round or a connection that died as it was reused. */
static int pf__req_on_seek(void *ud, curl_off_t off, int origin)
{
    struct pf__xfer *x = ud;

    if (origin != SEEK_SET || off < 0 || off > x->send_size)
        return CURL_SEEKFUNC_CANTSEEK;
    x->send_off = off;
    return CURL_SEEKFUNC_OK;
}

static int pf__req_on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                               curl_off_t ultotal, curl_off_t ulnow)
{
    struct pf__xfer *x = ud;
    const struct pf__http_request *req = x->req;
    int64_t now;

    if (x->h->ctx->interrupted)
        return 1;
    if (!req->progress)
        return 0;
    now = pf__now_ms();
    if (now - x->last_progress_ms < PF__REQ_PROGRESS_MS)
        return 0;
    x->last_progress_ms = now;
    if (req->progress(req->progress_ud, ulnow, ultotal > 0 ? ultotal : -1,
                      dlnow, dltotal > 0 ? dltotal : -1)) {
        x->aborted = 1;
        return 1;
    }
    return 0;
}

/* ---- error bodies ------------------------------------------------------- */

/* Copies a server's words into a one-line message: XML entities decoded,
 * control characters made spaces, runs of spaces folded, cut at size. */
static void pf__req_clean(char *dst, size_t size, const char *s, size_t n)
{
    static const struct { const char *ent; char c; } ents[] = {
        {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'},
        {"&apos;", '\''},
    };
    size_t o = 0;

    for (size_t i = 0; i < n && o + 1 < size; i++) {
        char c = s[i];

        if (c == '&') {
            for (size_t e = 0; e < sizeof ents / sizeof ents[0]; e++) {
                size_t el = strlen(ents[e].ent);

                if (n - i >= el && memcmp(s + i, ents[e].ent, el) == 0) {
                    c = ents[e].c;
                    i += el - 1;
                    break;
                }
            }
        }
        if ((unsigned char)c < 0x20 || c == 0x7f)
            c = ' ';
        if (c == ' ' && (o == 0 || dst[o - 1] == ' '))
            continue;
        dst[o++] = c;
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

/* The text of <tag>...</tag>, first occurrence, or 0. */
static int pf__req_xml_tag(const char *body, const char *tag, char *out,
                           size_t size)
{
    char open[32], close[32];
    const char *p, *q;

    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    if (!(p = strstr(body, open)))
        return 0;
    p += strlen(open);
    if (!(q = strstr(p, close)))
        return 0;
    pf__req_clean(out, size, p, (size_t)(q - p));
    return out[0] != '\0';
}

static void pf__req_json_string(const cJSON *v, char *out, size_t size)
{
    if (cJSON_IsString(v) && v->valuestring)
        pf__req_clean(out, size, v->valuestring, strlen(v->valuestring));
    else if (cJSON_IsNumber(v))
        snprintf(out, size, "%g", v->valuedouble);
}

int pf__http_body_error(const char *body, size_t len, char *code,
                        size_t code_size, char *msg, size_t msg_size)
{
    cJSON *doc = NULL;
    const char *p = body;

    code[0] = msg[0] = '\0';
    if (!body || !len)
        return 0;
    while (p < body + len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (*p == '<') {
        /* S3 and its kin: <Error><Code>..</Code><Message>..</Message>. */
        pf__req_xml_tag(body, "Code", code, code_size);
        pf__req_xml_tag(body, "Message", msg, msg_size);
    } else if ((*p == '{') && (doc = cJSON_ParseWithLength(body, len))) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "detail");

        /* RunComfy: {"error_code", "error_message"}. */
        pf__req_json_string(cJSON_GetObjectItemCaseSensitive(doc, "error_code"),
                            code, code_size);
        pf__req_json_string(cJSON_GetObjectItemCaseSensitive(doc, "error_message"),
                            msg, msg_size);
        /* {"error": {"message", "code"|"type"}} or {"error": "text"}. */
        if (!msg[0] && cJSON_IsObject(e)) {
            pf__req_json_string(cJSON_GetObjectItemCaseSensitive(e, "message"),
                                msg, msg_size);
            if (!code[0])
                pf__req_json_string(cJSON_GetObjectItemCaseSensitive(e, "code"),
                                    code, code_size);
            if (!code[0])
                pf__req_json_string(cJSON_GetObjectItemCaseSensitive(e, "type"),
                                    code, code_size);
        } else if (!msg[0] && cJSON_IsString(e)) {
            pf__req_json_string(e, msg, msg_size);
        }
        if (!msg[0])
            pf__req_json_string(cJSON_GetObjectItemCaseSensitive(doc, "message"),
                                msg, msg_size);
        /* {"detail": "text"} or FastAPI's {"detail": [{"msg"}]}. */
        if (!msg[0] && cJSON_IsString(d))
            pf__req_json_string(d, msg, msg_size);
        else if (!msg[0] && cJSON_IsArray(d) && cJSON_GetArraySize(d) > 0)
            pf__req_json_string(cJSON_GetObjectItemCaseSensitive(
                                    cJSON_GetArrayItem(d, 0), "msg"),
                                msg, msg_size);
        cJSON_Delete(doc);
    }
    return code[0] || msg[0];
}

/* Codes after which only new credentials or a new URL help. */
static int pf__req_auth_code(long status, const char *code, const char *msg)
{
    static const char *const codes[] = {
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
        "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
        "AuthorizationQueryParametersError", "AuthorizationHeaderMalformed",
        "RequestTimeTooSkewed", "InvalidSecurity",
    };

    if (status == 401)
        return 1;
    if (status != 400 && status != 403)
        return 0;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    /* S3 says an expired presigned URL as AccessDenied "Request has
     * expired"; others only in the message. */
    return status == 403 && strstr(msg, "expired") != NULL;
}

/* The message of a final status >= 400, said once. */
static pf_err pf__req_status_error(struct pf__xfer *x, long status,
                                   const char *suffix)
{
    const char *reason = pf__http_reason(status);
    const char *name = x->h->name;
    char code[128], msg[PF__REQ_MSG], words[PF__REQ_MSG + 160] = "";
    pf_err err = PF_EHTTP;

    if (pf__http_body_error(x->mem, x->mem_len, code, sizeof code, msg,
                            sizeof msg)) {
        snprintf(words, sizeof words, ": %s%s%s", code, code[0] && msg[0] ? ": " : "",
                 msg);
    } else if (x->mem_len && x->mem_len <= 200 &&
               strncasecmp(x->content_type, "text/plain", 10) == 0) {
        /* A short plain-text body is usually the whole explanation. */
        pf__req_clean(msg, sizeof msg, x->mem, x->mem_len);
        if (msg[0])
            snprintf(words, sizeof words, ": %s", msg);
    } else if (status == 403 && strchr(name, '?')) {
        /* The usual cause of a bare 403 from a signed URL, worth saying. */
        snprintf(words, sizeof words, " (a presigned URL may have expired)");
    }
    if (pf__req_auth_code(status, code, msg))
        err = PF_EAUTH;
    return pf__error(x->h->ctx, err, "%s: HTTP %ld%s%s%s%s", name, status,
                     *reason ? " " : "", reason, words, suffix);
}

/* ---- one attempt -------------------------------------------------------- */

static int pf__req_is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
        return 1;
    return strncmp(host, "127.", 4) == 0 &&
           strspn(host, "0123456789.") == strlen(host);
}

/* https anywhere; plain http only to this machine, where no one between
 * could read a token or a presigned URL. */
static pf_err pf__req_check_url(pf_ctx *ctx, const char *name, const char *url,
                                int *plain_http)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    pf_err rc = PF_OK;

    *plain_http = 0;
    if (!u) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = pf__error(ctx, PF_EUSAGE, "%s: not a valid URL", name);
        goto out;
    }
    if (strcasecmp(scheme, "https") == 0)
        goto out;
    if (strcasecmp(scheme, "http") != 0) {
        rc = pf__error(ctx, PF_EUSAGE, "%s: only https URLs are supported",
                       name);
        goto out;
    }
    if (!pf__req_is_loopback(host)) {
        rc = pf__error(ctx, PF_EUSAGE,
                       "%s: plain http is refused for a host other than this "
                       "machine; use https", name);
        goto out;
    }
    *plain_http = 1;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

pf_err pf__http_check_url(pf_ctx *ctx, const char *url)
{
    char name[1024];
    int plain;

    pf__redact_url(name, sizeof name, url);
    return pf__req_check_url(ctx, name, url, &plain);
}

static int pf__req_has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);

    for (; headers && *headers; headers++)
        if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
            return 1;
    return 0;
}

/* Sets every option of the request once; its attempts share them. */
static pf_err pf__req_setup(struct pf__xfer *x, int plain_http,
                            struct curl_slist **hdrs, curl_mime **mime)
{
    struct pf__http *h = x->h;
    const struct pf__http_request *req = x->req;
    const char *m = x->method;
    int has_body = x->send_size >= 0 && !req->form;
    CURLcode cc = CURLE_OK;
    char range[64];

#define PF__OPT(opt, val)                                                    \
    do {                                                                     \
        if (cc == CURLE_OK)                                                  \
            cc = curl_easy_setopt(h->easy, opt, val);                        \
    } while (0)
    for (const char *const *p = req->headers; p && *p; p++) {
        struct curl_slist *next = curl_slist_append(*hdrs, *p);

        if (!next)
            return pf__error(h->ctx, PF_ENOMEM, "out of memory");
        *hdrs = next;
    }
    /* libcurl would label a POST body form-urlencoded; a body is sent with
     * the type its caller signed or none at all. */
    if (has_body && !pf__req_has_header(req->headers, "Content-Type")) {
        struct curl_slist *next = curl_slist_append(*hdrs, "Content-Type:");

        if (!next)
            return pf__error(h->ctx, PF_ENOMEM, "out of memory");
        *hdrs = next;
    }
    PF__OPT(CURLOPT_URL, req->url);
    PF__OPT(CURLOPT_PROTOCOLS_STR, plain_http ? "http" : "https");
    /* A loopback test server may redirect within itself; a real one only
     * ever to https. */
    PF__OPT(CURLOPT_REDIR_PROTOCOLS_STR, plain_http ? "http,https" : "https");
    PF__OPT(CURLOPT_HTTPHEADER, *hdrs);
    PF__OPT(CURLOPT_HEADERFUNCTION, pf__req_on_header);
    PF__OPT(CURLOPT_HEADERDATA, x);
    PF__OPT(CURLOPT_WRITEFUNCTION, pf__req_on_write);
    PF__OPT(CURLOPT_WRITEDATA, x);
    PF__OPT(CURLOPT_XFERINFOFUNCTION, pf__req_on_progress);
    PF__OPT(CURLOPT_XFERINFODATA, x);
    PF__OPT(CURLOPT_NOPROGRESS, 0L);
    /* Always set, even without a body: libcurl's default read callback
     * reads stdin. */
    PF__OPT(CURLOPT_READFUNCTION, pf__req_on_read);
    PF__OPT(CURLOPT_READDATA, x);
    PF__OPT(CURLOPT_SEEKFUNCTION, pf__req_on_seek);
    PF__OPT(CURLOPT_SEEKDATA, x);
    if (req->body_fd >= 0)
        PF__OPT(CURLOPT_UPLOAD_BUFFERSIZE, PF__REQ_UPLOAD_BUFFER);
    /* libcurl silently resends a request whose reused connection dies
     * before any answer, assuming the server had closed it idle; for a
     * POST the server may in fact have acted (a paid job submitted). A
     * fresh connection has no such second chance. */
    if (x->no_resend)
        PF__OPT(CURLOPT_FRESH_CONNECT, 1L);

    if (req->form) {
        curl_mimepart *part;

        if (!(*mime = curl_mime_init(h->easy)))
            return pf__error(h->ctx, PF_ENOMEM, "out of memory");
        for (size_t i = 0; i < req->nform && cc == CURLE_OK; i++) {
            if (!(part = curl_mime_addpart(*mime)))
                return pf__error(h->ctx, PF_ENOMEM, "out of memory");
            if ((cc = curl_mime_name(part, req->form[i].name)) == CURLE_OK)
                cc = curl_mime_data(part, req->form[i].value, CURL_ZERO_TERMINATED);
        }
        /* The file goes last: S3 ignores every field after it. */
        if (cc == CURLE_OK && req->body_fd >= 0) {
            if (!(part = curl_mime_addpart(*mime)))
                return pf__error(h->ctx, PF_ENOMEM, "out of memory");
            cc = curl_mime_name(part, req->form_file_field ? req->form_file_field
                                                           : "file");
            if (cc == CURLE_OK)
                cc = curl_mime_filename(part, "file");
            if (cc == CURLE_OK)
                cc = curl_mime_data_cb(part, (curl_off_t)x->send_size,
                                       pf__req_on_read, pf__req_on_seek, NULL, x);
            if (cc == CURLE_OK)
                cc = curl_mime_type(part, req->form_file_type
                                              ? req->form_file_type
                                              : "application/octet-stream");
        }
        PF__OPT(CURLOPT_MIMEPOST, *mime);
        if (strcmp(m, "POST") != 0)
            PF__OPT(CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "HEAD") == 0) {
        PF__OPT(CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "PUT") == 0) {
        /* UPLOAD sends Content-Length from INFILESIZE, never chunked. */
        PF__OPT(CURLOPT_UPLOAD, 1L);
        PF__OPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)(has_body ? x->send_size : 0));
    } else if (has_body || strcmp(m, "POST") == 0) {
        PF__OPT(CURLOPT_POST, 1L);
        PF__OPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(has_body ? x->send_size : 0));
        if (strcmp(m, "POST") != 0)
            PF__OPT(CURLOPT_CUSTOMREQUEST, m);
    } else {
        PF__OPT(CURLOPT_HTTPGET, 1L);
        if (strcmp(m, "GET") != 0)
            PF__OPT(CURLOPT_CUSTOMREQUEST, m);
        if (req->range_len > 0) {
            snprintf(range, sizeof range, "%lld-%lld", (long long)req->range_from,
                     (long long)(req->range_from + req->range_len - 1));
            PF__OPT(CURLOPT_RANGE, range);
        } else if (req->range_from > 0) {
            snprintf(range, sizeof range, "%lld-", (long long)req->range_from);
            PF__OPT(CURLOPT_RANGE, range);
        }
    }
    /* A small body in memory gains nothing from waiting for 100 Continue;
     * a file does: a server that refuses it says so before gigabytes go. */
    if (has_body && req->body_fd < 0 && !pf__req_has_header(req->headers, "Expect")) {
        struct curl_slist *next = curl_slist_append(*hdrs, "Expect:");

        if (!next)
            return pf__error(h->ctx, PF_ENOMEM, "out of memory");
        *hdrs = next;
        PF__OPT(CURLOPT_HTTPHEADER, *hdrs);
    }
#undef PF__OPT
    if (cc != CURLE_OK)
        return pf__error(h->ctx, cc == CURLE_OUT_OF_MEMORY ? PF_ENOMEM : PF_EINTERNAL,
                         "%s: libcurl: %s", h->name, curl_easy_strerror(cc));
    return PF_OK;
}

/* How an attempt ended. */
enum pf__req_fate {
    PF__REQ_DONE,               /* a final answer, good or bad */
    PF__REQ_RETRY,              /* worth another attempt */
    PF__REQ_RETRY_UNSENT        /* nothing reached the server: safe even
                                 * for a POST */
};

static int pf__req_transport_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

/* Runs one attempt and judges it. On PF__REQ_DONE *rc is the request's
 * result (message set for a failure); on a retry, *rc is the failure that
 * stands if no retry is left, its message not yet set (why is in
 * x->h->errbuf or the status). */
static enum pf__req_fate pf__req_attempt(struct pf__xfer *x, pf_err *rc,
                                         int *sent)
{
    struct pf__http *h = x->h;
    long status;
    curl_off_t req_size = 0, up = 0;
    CURLMcode mc;

    h->done = h->nomem = 0;
    h->result = CURLE_OK;
    h->errbuf[0] = '\0';
    h->xfer_bytes = 0;
    h->resp.status = h->resp.content_length = -1;
    h->resp.range_first = h->resp.range_last = h->resp.range_total = -1;
    x->send_off = 0;
    x->read_errno = x->sink_errno = 0;
    x->too_big = x->cut = x->aborted = 0;
    x->mem_len = 0;
    if (x->mem)
        x->mem[0] = '\0';
    x->sink_len = 0;
    x->retry_after_ms = -1;
    x->content_type[0] = x->etag[0] = x->location[0] = '\0';
    if (x->req->sink_fd >= 0 && x->sink_start >= 0 &&
        ftruncate(x->req->sink_fd, (off_t)x->sink_start) != 0 && errno != EINVAL) {
        *rc = pf__error(h->ctx, PF_EIO, "%s: cannot truncate the output: %s",
                        h->name, strerror(errno));
        return PF__REQ_DONE;
    }
    if ((mc = curl_multi_add_handle(h->multi, h->easy)) != CURLM_OK) {
        *rc = pf__error(h->ctx, PF_EINTERNAL, "%s: libcurl: %s", h->name,
                        curl_multi_strerror(mc));
        return PF__REQ_DONE;
    }
    h->attached = 1;
    *rc = pf__http_drive(h, pf__http_never);
    curl_easy_getinfo(h->easy, CURLINFO_REQUEST_SIZE, &req_size);
    curl_easy_getinfo(h->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    if (req_size > 0 || up > 0)
        *sent = 1;
    /* Removing an unfinished transfer closes its connection. */
    curl_multi_remove_handle(h->multi, h->easy);
    h->attached = 0;
    status = h->resp.status;

    if (*rc != PF_OK) {
        /* A stall may be retried; a deadline, an interrupt or libcurl's
         * own failure may not. */
        int stalled = *rc == PF_ENET &&
                      !(h->deadline && pf__now_ms() >= h->deadline);

        if (!stalled)
            return PF__REQ_DONE;
        return req_size > 0 ? PF__REQ_RETRY : PF__REQ_RETRY_UNSENT;
    }
    if (h->result == CURLE_ABORTED_BY_CALLBACK || h->ctx->interrupted) {
        *rc = pf__error(h->ctx, PF_EINTR, "%s: interrupted", h->name);
        return PF__REQ_DONE;
    }
    if (h->nomem) {
        *rc = pf__error(h->ctx, PF_ENOMEM, "%s: out of memory", h->name);
        return PF__REQ_DONE;
    }
    if (x->too_big) {
        *rc = pf__error(h->ctx, PF_ELIMIT, "%s: the response is larger than %zu bytes",
                        h->name, x->mem_max);
        return PF__REQ_DONE;
    }
    if (x->sink_errno) {
        *rc = pf__error(h->ctx, x->sink_errno == ENOSPC ? PF_ENOSPC : PF_EIO,
                        "%s: cannot write the response: %s", h->name,
                        strerror(x->sink_errno));
        return PF__REQ_DONE;
    }
    if (x->read_errno) {
        *rc = pf__error(h->ctx, PF_EIO, "%s: cannot read the body to send: %s",
                        h->name, x->read_errno > 0 ? strerror(x->read_errno)
                                                   : "the file shrank while it was sent");
        return PF__REQ_DONE;
    }
    /* A status is the news even when the transfer then broke: a server
     * that refuses an upload answers early and closes. */
    if (status == 404 && x->req->absent_ok) {
        *rc = PF_OK;
        return PF__REQ_DONE;
    }
    if (status >= 400) {
        *rc = PF_EHTTP;
        if (status == 408 || status == 425 || status == 429 || status >= 500)
            return PF__REQ_RETRY;
        return PF__REQ_DONE;    /* judged by the caller's status error */
    }
    if (h->result != CURLE_OK && !(x->cut && h->result == CURLE_WRITE_ERROR)) {
        *rc = PF_ENET;
        if (h->result == CURLE_URL_MALFORMAT)
            *rc = PF_EUSAGE;
        if (!pf__req_transport_retryable(h->result))
            return PF__REQ_DONE;
        return req_size > 0 ? PF__REQ_RETRY : PF__REQ_RETRY_UNSENT;
    }
    *rc = PF_OK;
    return PF__REQ_DONE;
}

/* Full jitter (uniformly 0..ceiling) spreads clients that failed together
 * instead of having them retry in step. */
static int64_t pf__req_backoff_ms(const pf_ctx *ctx, int retry, int64_t retry_after_ms)
{
    struct timespec ts;
    uint64_t z;
    int64_t ceiling = ctx->retry_base_ms > 0 ? ctx->retry_base_ms : 1;

    if (retry_after_ms >= 0)
        return pf__req_clamp_retry_after(retry_after_ms);
    for (int i = 1; i < retry && ceiling < PF__REQ_BACKOFF_CAP_MS; i++)
        ceiling *= 2;
    if (ceiling > PF__REQ_BACKOFF_CAP_MS)
        ceiling = PF__REQ_BACKOFF_CAP_MS;
    /* splitmix64 of the clock: jitter needs spread, not secrecy. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    z = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL + (uint64_t)ts.tv_sec;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (int64_t)(z % (uint64_t)(ceiling + 1));
}

/* One line per attempt: each is a request on the wire. Never a header
 * value, never a query string. */
static void pf__req_log(struct pf__xfer *x, int attempt, int max_attempts)
{
    struct pf__http *h = x->h;
    char status[32] = "no response", range[64] = "", tries[48] = "";
    curl_off_t up = 0;

    curl_easy_getinfo(h->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    if (h->resp.status >= 0)
        snprintf(status, sizeof status, "%ld", h->resp.status);
    if (x->req->range_len > 0)
        snprintf(range, sizeof range, " bytes=%lld-%lld", (long long)x->req->range_from,
                 (long long)(x->req->range_from + x->req->range_len - 1));
    else if (x->req->range_from > 0)
        snprintf(range, sizeof range, " bytes=%lld-", (long long)x->req->range_from);
    if (max_attempts > 1)
        snprintf(tries, sizeof tries, ", attempt %d of %d", attempt, max_attempts);
    pf__log(h->ctx, "http: %s %s%s -> %s, sent %lld bytes, received %llu bytes%s",
            x->method, h->name, range, status, (long long)up,
            (unsigned long long)h->xfer_bytes, tries);
}

static pf_err pf__req_validate(struct pf__http *h, const struct pf__http_request *req)
{
    int bodies = (req->body != NULL || req->body_len > 0) + (req->body_fd >= 0 && !req->form);

    if (!req->url)
        return pf__error(h->ctx, PF_EINTERNAL, "request without a URL");
    if (bodies > 1 || (req->form && (req->body || req->body_len)) ||
        (req->body_fd >= 0 && req->body_size < 0) ||
        (req->body_len > 0 && !req->body) ||
        (req->form && req->nform > 0 && !req->form[0].name))
        return pf__error(h->ctx, PF_EINTERNAL, "%s: inconsistent request body",
                         h->name);
    return PF_OK;
}

pf_err pf__http_request(struct pf__http *h, const struct pf__http_request *req,
                        struct pf__http_reply *reply)
{
    struct pf__xfer x;
    struct curl_slist *hdrs = NULL;
    curl_mime *mime = NULL;
    int plain_http = 0, sent = 0, retries, attempt = 0, max_attempts;
    enum pf__req_fate fate = PF__REQ_DONE;
    pf_err rc;

    memset(reply, 0, sizeof *reply);
    reply->status = reply->content_length = -1;
    reply->range_first = reply->range_total = -1;
    reply->retry_after_ms = -1;
    memset(&x, 0, sizeof x);
    x.h = h;
    x.req = req;
    x.method = req->method ? req->method : "GET";
    x.send_size = req->body_fd >= 0 ? req->body_size
                  : req->body || req->body_len ? (int64_t)req->body_len : -1;
    x.mem_max = req->max_body ? req->max_body : PF__REQ_MAX_BODY;
    x.sink_start = -1;
    pf__http_stream_close(h);
    pf__redact_url(h->name, sizeof h->name, req->url ? req->url : "");
    if ((rc = pf__req_validate(h, req)) != PF_OK ||
        (rc = pf__req_check_url(h->ctx, h->name, req->url, &plain_http)) != PF_OK)
        goto out;
    if (req->sink_fd >= 0) {
        off_t pos = lseek(req->sink_fd, 0, SEEK_CUR);

        x.sink_start = pos >= 0 ? (int64_t)pos : -1;
    }
    retries = req->retries >= 0 ? req->retries
              : strcmp(x.method, "POST") == 0 ? 0 : PF__REQ_RETRIES;
    x.no_resend = retries == 0 && (strcmp(x.method, "POST") == 0 ||
                                   strcmp(x.method, "PATCH") == 0);
    if ((rc = pf__req_setup(&x, plain_http, &hdrs, &mime)) != PF_OK)
        goto out;
    /* The most attempts any failure could get: what the log counts to. */
    max_attempts = 1 + (retries > PF__REQ_RETRIES ? retries : PF__REQ_RETRIES);
    for (;;) {
        int64_t wait;

        attempt++;
        fate = pf__req_attempt(&x, &rc, &sent);
        pf__req_log(&x, attempt, max_attempts);
        if (fate == PF__REQ_DONE)
            break;
        /* Bytes already written to a pipe cannot be taken back. */
        if (x.sink_len > 0 && x.sink_start < 0)
            break;
        if (attempt > (fate == PF__REQ_RETRY_UNSENT && retries < PF__REQ_RETRIES &&
                       !req->no_unsent_retry ? PF__REQ_RETRIES : retries))
            break;
        wait = pf__req_backoff_ms(h->ctx, attempt, x.retry_after_ms);
        pf__log(h->ctx, "http: %s %s: retrying in %.1f s", x.method, h->name,
                (double)wait / 1000);
        if (pf__sleep_ms(h->ctx, wait) != 0) {
            rc = pf__error(h->ctx, PF_EINTR, "%s: interrupted", h->name);
            fate = PF__REQ_DONE;
            break;
        }
    }
    reply->attempts = attempt;
    reply->sent = sent;
    if (fate != PF__REQ_DONE || (rc == PF_EHTTP && h->resp.status >= 400)) {
        /* The failure that stands, said once. */
        char suffix[48] = "";

        if (attempt > 1)
            snprintf(suffix, sizeof suffix, " (after %d attempts)", attempt);
        if (h->resp.status >= 400) {
            rc = pf__req_status_error(&x, h->resp.status, suffix);
        } else if (rc == PF_ENET && h->result == CURLE_OK) {
            /* A stall: the drive said it; add how often it was tried. */
            char text[PF__ERRBUF];

            pf__strlcpy(text, pf_ctx_error(h->ctx), sizeof text);
            rc = pf__error(h->ctx, rc, "%s%s", text, suffix);
        } else {
            char text[CURL_ERROR_SIZE];

            pf__strlcpy(text, h->errbuf[0] ? h->errbuf : curl_easy_strerror(h->result),
                        sizeof text);
            pf__http_scrub(text);
            rc = pf__error(h->ctx, rc, "%s: %s%s", h->name, text, suffix);
        }
    } else if (rc == PF_ENET || rc == PF_EUSAGE) {
        if (h->result != CURLE_OK) {
            char text[CURL_ERROR_SIZE];

            pf__strlcpy(text, h->errbuf[0] ? h->errbuf : curl_easy_strerror(h->result),
                        sizeof text);
            pf__http_scrub(text);
            rc = pf__error(h->ctx, rc, "%s: %s", h->name, text);
        }
    } else if (rc == PF_OK && req->fail_on_error_code && x.mem_len &&
               h->resp.status >= 200 && h->resp.status < 300) {
        /* RunComfy can report a failure with HTTP 200. */
        char code[128], msg[PF__REQ_MSG];

        if (pf__http_body_error(x.mem, x.mem_len, code, sizeof code, msg, sizeof msg) &&
            code[0])
            rc = pf__error(h->ctx, PF_EAPI, "%s: %s%s%s", h->name, code,
                           msg[0] ? ": " : "", msg);
    }
    if (rc == PF_OK && req->progress)
        req->progress(req->progress_ud, x.send_size > 0 ? x.send_size : 0,
                      x.send_size, (int64_t)h->xfer_bytes, (int64_t)h->xfer_bytes);

    pf__req_reply_headers(&x, reply);
    if (req->sink_fd >= 0 && h->resp.status >= 200 && h->resp.status < 300) {
        reply->body_len = (size_t)x.sink_len;
        if (x.sink_start >= 0)
            lseek(req->sink_fd, (off_t)(x.sink_start + x.sink_len), SEEK_SET);
    } else if (x.mem || h->resp.status >= 0) {
        if (!x.mem && !(x.mem = calloc(1, 1))) {
            rc = pf__error(h->ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
        reply->body = x.mem;
        reply->body_len = x.mem_len;
        x.mem = NULL;
    }
out:
    /* Options first: the handle must not point at the list and the form
     * once they are freed. */
    if (h->easy && pf__http_reset(h) != PF_OK && rc == PF_OK)
        rc = PF_EINTERNAL;
    curl_slist_free_all(hdrs);
    curl_mime_free(mime);
    free(x.mem);
    return rc;
}
