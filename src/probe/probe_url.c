/*
 * An http(s) byte source: the probers read a URL as they read a file, and
 * only the bytes they touch cross the network.
 *
 * With a server that honours Range, reads are served from a small cache of
 * 64 KiB blocks fetched with Range requests over one kept-alive connection;
 * the first request (the first block) also tells the total size. A server
 * that ignores Range sends the whole body from its first byte: that stream is
 * kept open and pulled only as far as reads need, up to ctx->max_remote_head
 * bytes, since there is no way to reach further in without downloading
 * everything before it.
 *
 * All HTTP is in src/net/http.c; this file decides what to ask for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"
#include "net/http.h"

#define PF__URL_BLOCK ((int64_t)64 * 1024)
#define PF__URL_CACHE_BLOCKS 64          /* 4 MiB cached at most */
#define PF__URL_MAX_RUN 16               /* blocks fetched by one request */
#define PF__URL_PULL_STEP (1 << 20)      /* no-Range mode: bytes per pull */

struct pf__url_block {
    int64_t index;              /* block number, -1 when the slot is free */
    uint64_t used;              /* LRU stamp */
    size_t len;                 /* < PF__URL_BLOCK only for the last block */
    uint8_t *data;
};

struct pf__url_source {
    struct pf__source base;
    struct pf__http *http;
    char *url;
    int ranged;                 /* the server honours Range */

    /* Range mode: the block cache and a readahead that grows while reads
     * move forward block by block. */
    struct pf__url_block blocks[PF__URL_CACHE_BLOCKS];
    uint64_t clock;
    int64_t next_index;         /* the block after the last fetch */
    int ahead;                  /* blocks for the next forward miss */

    /* No-Range mode: the head of the body received so far. */
    uint8_t *head;
    size_t head_len, head_cap;
    int head_eof;

    char name[1024];            /* redacted URL */
};

/* ---- Range mode --------------------------------------------------------- */

static struct pf__url_block *pf__url_find(struct pf__url_source *us,
                                          int64_t index)
{
    for (int i = 0; i < PF__URL_CACHE_BLOCKS; i++) {
        if (us->blocks[i].index == index) {
            us->blocks[i].used = ++us->clock;
            return &us->blocks[i];
        }
    }
    return NULL;
}

/* A free slot, or the least recently used one, emptied. */
static struct pf__url_block *pf__url_slot(struct pf__url_source *us)
{
    struct pf__url_block *lru = &us->blocks[0];

    for (int i = 0; i < PF__URL_CACHE_BLOCKS; i++) {
        if (us->blocks[i].index < 0)
            return &us->blocks[i];
        if (us->blocks[i].used < lru->used)
            lru = &us->blocks[i];
    }
    lru->index = -1;
    lru->len = 0;
    return lru;
}

/* Checks what a response says about the size against what we know, and
 * learns it when we did not. */
static pf_err pf__url_learn_size(struct pf__url_source *us, int64_t total)
{
    if (total < 0)
        return PF_OK;
    if (us->base.size >= 0 && total != us->base.size)
        return pf__error(us->base.ctx, PF_EIO,
                         "%s: changed while being read (size %lld, then %lld)",
                         us->name, (long long)us->base.size, (long long)total);
    us->base.size = total;
    return PF_OK;
}

/* Caches blocks [first, first+count) from an open response to a Range
 * request for them, then closes it. Past the end of the resource fewer (or
 * no) blocks are cached. Exactly the bytes Content-Range announces are
 * read, no more: the response is then complete whatever its framing says
 * (a Content-Length that overstates the body costs nothing). */
static pf_err pf__url_store(struct pf__url_source *us, int64_t first,
                            int count, const struct pf__http_response *resp)
{
    int64_t off = first * PF__URL_BLOCK;
    int64_t left = 0;
    pf_ctx *ctx = us->base.ctx;
    pf_err rc;

    if (resp->status == 416) {          /* past the end: nothing to cache */
        rc = pf__url_learn_size(us, resp->range_total);
        goto out;
    }
    if (resp->status != 206) {
        rc = pf__error(ctx, PF_ENET,
                       "%s: server stopped honouring Range requests (HTTP %ld)",
                       us->name, resp->status);
        goto out;
    }
    if (resp->range_first != off) {
        rc = pf__error(ctx, PF_ENET,
                       "%s: server sent bytes %lld-%lld when asked for bytes "
                       "from %lld", us->name, (long long)resp->range_first,
                       (long long)resp->range_last, (long long)off);
        goto out;
    }
    if ((rc = pf__url_learn_size(us, resp->range_total)) != PF_OK)
        goto out;
    left = resp->range_last - resp->range_first + 1;
    if (left > count * PF__URL_BLOCK)
        left = count * PF__URL_BLOCK;
    for (int i = 0; i < count && left > 0; i++) {
        struct pf__url_block *b = pf__url_slot(us);
        size_t want = left < PF__URL_BLOCK ? (size_t)left : (size_t)PF__URL_BLOCK;
        size_t got = 0;

        if (!b->data && !(b->data = malloc((size_t)PF__URL_BLOCK))) {
            rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", us->name);
            goto out;
        }
        while (got < want) {
            size_t n;

            if ((rc = pf__http_stream_read(us->http, b->data + got,
                                           want - got, &n)) != PF_OK)
                goto out;
            if (!n)
                break;
            got += n;
        }
        if (got < want) {
            rc = pf__error(ctx, PF_ENET, "%s: response ended %lld bytes "
                           "short of its Content-Range", us->name,
                           (long long)(left - (int64_t)got));
            goto out;
        }
        b->index = first + i;
        b->len = got;
        b->used = ++us->clock;
        left -= (int64_t)got;
    }
out:
    /* Reading exactly the range asked for completes the response, so the
     * connection is kept for the next request. */
    pf__http_stream_close(us->http);
    us->base.bytes_read = pf__http_bytes_received(us->http);
    return rc;
}

/* Fetches blocks [first, first+count) with one Range request. */
static pf_err pf__url_fetch(struct pf__url_source *us, int64_t first,
                            int count)
{
    struct pf__http_response resp;
    int64_t off = first * PF__URL_BLOCK;
    int64_t len = count * PF__URL_BLOCK;
    pf_err rc;

    if (us->base.size >= 0 && off + len > us->base.size)
        len = us->base.size - off;
    rc = pf__http_stream_open(us->http, us->url, off, len, &resp);
    if (rc == PF_OK)
        rc = pf__url_store(us, first, count, &resp);
    us->base.bytes_read = pf__http_bytes_received(us->http);
    return rc;
}

static pf_err pf__url_read_ranged(struct pf__url_source *us, int64_t off,
                                  uint8_t *buf, size_t len, size_t *got)
{
    int64_t index = off / PF__URL_BLOCK;
    struct pf__url_block *b;
    pf_err rc;

    if (!(b = pf__url_find(us, index))) {
        int64_t last = (off + (int64_t)len - 1) / PF__URL_BLOCK;
        int64_t want = last - index + 1;
        int64_t nblocks = us->base.size >= 0
                              ? (us->base.size + PF__URL_BLOCK - 1) / PF__URL_BLOCK
                              : INT64_MAX;
        int count = 0;

        /* A miss on the block right after the last one fetched is a
         * forward scan (a demuxer walking boxes, JPEG markers between
         * skipped segments): fetch more each time. Anything else is a
         * seek and fetches what it reads. */
        if (index == us->next_index) {
            if (want < us->ahead)
                want = us->ahead;
            if (us->ahead < PF__URL_MAX_RUN)
                us->ahead *= 2;
        } else {
            us->ahead = 1;
        }
        if (want > PF__URL_MAX_RUN)
            want = PF__URL_MAX_RUN;
        /* Stop at the first block already cached: no byte is fetched twice. */
        while (count < want && index + count < nblocks &&
               (count == 0 || !pf__url_find(us, index + count)))
            count++;
        if ((rc = pf__url_fetch(us, index, count)) != PF_OK)
            return rc;
        us->next_index = index + count;
        if (!(b = pf__url_find(us, index)))
            return PF_OK;           /* past the end: *got stays 0 */
    }
    /* Copy from consecutive cached blocks; a short read is allowed. */
    while (*got < len && b) {
        size_t at = (size_t)(off + (int64_t)*got - b->index * PF__URL_BLOCK);
        size_t n = b->len > at ? b->len - at : 0;

        if (n > len - *got)
            n = len - *got;
        memcpy(buf + *got, b->data + at, n);
        *got += n;
        if (!n || b->len < (size_t)PF__URL_BLOCK)
            break;
        b = pf__url_find(us, b->index + 1);
    }
    return PF_OK;
}

/* ---- no-Range mode ------------------------------------------------------ */

/* Pulls the body stream until the head holds `end` bytes or it ends. */
static pf_err pf__url_pull_head(struct pf__url_source *us, size_t end)
{
    pf_err rc = PF_OK;

    if (end > us->head_cap) {
        size_t cap = us->head_cap ? us->head_cap : (size_t)PF__URL_BLOCK;
        uint8_t *grown;

        while (cap < end)
            cap *= 2;
        if (cap > (size_t)us->base.ctx->max_remote_head)
            cap = (size_t)us->base.ctx->max_remote_head;
        if (cap < end)
            cap = end;
        if (!(grown = realloc(us->head, cap)))
            return pf__error(us->base.ctx, PF_ENOMEM, "%s: out of memory",
                             us->name);
        us->head = grown;
        us->head_cap = cap;
    }
    while (us->head_len < end && !us->head_eof) {
        /* In steps, so the HTTP layer never buffers megabytes on our
         * behalf next to the head itself. */
        size_t step = end - us->head_len < (size_t)PF__URL_PULL_STEP
                          ? end - us->head_len : (size_t)PF__URL_PULL_STEP;
        size_t n;

        if ((rc = pf__http_stream_read(us->http, us->head + us->head_len,
                                       step, &n)) != PF_OK)
            break;
        us->head_len += n;
        if (!n) {
            us->head_eof = 1;
            pf__http_stream_close(us->http);
            if (us->base.size < 0)
                us->base.size = (int64_t)us->head_len;
        }
    }
    us->base.bytes_read = pf__http_bytes_received(us->http);
    return rc;
}

static void pf__url_format_size(char *buf, size_t size, int64_t n)
{
    if (n >= (1 << 20) && n % (1 << 20) == 0)
        snprintf(buf, size, "%lld MiB", (long long)(n >> 20));
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, size, "%lld KiB", (long long)(n >> 10));
    else
        snprintf(buf, size, "%lld bytes", (long long)n);
}

static pf_err pf__url_read_head(struct pf__url_source *us, int64_t off,
                                uint8_t *buf, size_t len, size_t *got)
{
    int64_t max = us->base.ctx->max_remote_head;
    int64_t end = off + (int64_t)len;
    pf_err rc;

    if (end > (int64_t)us->head_len && !us->head_eof) {
        if (off >= max) {
            char limit[32];

            pf__url_format_size(limit, sizeof limit, max);
            return pf__error(us->base.ctx, PF_ELIMIT,
                             "%s: server does not support Range requests and "
                             "the data needed lies beyond the first %s",
                             us->name, limit);
        }
        if (end > max)
            end = max;          /* a short read; the next one hits the limit */
        if ((rc = pf__url_pull_head(us, (size_t)end)) != PF_OK)
            return rc;
    }
    if (off < (int64_t)us->head_len) {
        size_t n = us->head_len - (size_t)off;

        *got = n < len ? n : len;
        memcpy(buf, us->head + off, *got);
    }
    return PF_OK;
}

/* ---- the source --------------------------------------------------------- */

static pf_err pf__url_read_at(struct pf__source *src, int64_t off, void *buf,
                              size_t len, size_t *got)
{
    struct pf__url_source *us = (struct pf__url_source *)src;

    *got = 0;
    if (off < 0)
        return pf__error(src->ctx, PF_EINTERNAL, "%s: read at negative offset",
                         src->name);
    if (len == 0 || (src->size >= 0 && off >= src->size))
        return PF_OK;
    if (src->size >= 0 && (uint64_t)(src->size - off) < len)
        len = (size_t)(src->size - off);
    if (len > INT64_MAX - (uint64_t)off)
        len = (size_t)(INT64_MAX - off);
    return us->ranged ? pf__url_read_ranged(us, off, buf, len, got)
                      : pf__url_read_head(us, off, buf, len, got);
}

static void pf__url_close(struct pf__source *src)
{
    struct pf__url_source *us = (struct pf__url_source *)src;

    if (!us)
        return;
    pf__http_free(us->http);
    for (int i = 0; i < PF__URL_CACHE_BLOCKS; i++)
        free(us->blocks[i].data);
    free(us->head);
    free(us->url);
    free(us);
}

pf_err pf__source_open_url(pf_ctx *ctx, const char *url,
                           struct pf__source **out)
{
    struct pf__url_source *us = NULL;
    struct pf__http_response resp;
    pf_err rc = PF_OK;

    *out = NULL;
    if (!(us = calloc(1, sizeof *us)) || !(us->url = strdup(url))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    pf__redact_url(us->name, sizeof us->name, url);
    us->base.name = us->name;
    us->base.kind = PF_SOURCE_URL;
    us->base.size = -1;
    us->base.read_at = pf__url_read_at;
    us->base.close = pf__url_close;
    us->base.ctx = ctx;
    us->base.impl = us;
    for (int i = 0; i < PF__URL_CACHE_BLOCKS; i++)
        us->blocks[i].index = -1;
    us->next_index = 1;         /* block 0 comes with the first response */
    us->ahead = 1;
    if ((rc = pf__http_new(ctx, &us->http)) != PF_OK)
        goto out;
    /* The whole probe of one URL gets the context's time budget. */
    pf__http_set_deadline(us->http, ctx->probe_timeout_ms);

    /* The first block answers what the source is: a 206 gives its size
     * and proves Range works; a 200 means the body must be streamed. */
    if ((rc = pf__http_stream_open(us->http, url, 0, PF__URL_BLOCK, &resp))
        != PF_OK)
        goto out;
    if (resp.status == 206 || resp.status == 416) {
        us->ranged = 1;
        /* A 416 for bytes=0-... means there is no byte 0: an empty body. */
        if (resp.status == 416 && resp.range_total < 0)
            us->base.size = 0;
        if ((rc = pf__url_store(us, 0, 1, &resp)) != PF_OK)
            goto out;
    } else {
        /* The body stays open; reads pull it only as far as they need. */
        us->ranged = 0;
        us->base.head_only = 1;
        us->base.size = resp.content_length;
        pf__log(ctx, "%s: server ignores Range; reading at most the first "
                "%lld bytes", us->name, (long long)ctx->max_remote_head);
    }
    *out = &us->base;
    us = NULL;
out:
    if (us)
        pf__url_close(&us->base);
    return rc;
}
