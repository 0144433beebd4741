/*
 * Remote probing against tests/http_server.py on 127.0.0.1 (started by
 * tests/with_http_server.sh, which exports PF_TEST_HTTP_PORT and
 * PF_TEST_HTTP_LOG). Run once against a server that honours Range and once
 * with --no-range against one that ignores it: every probe must agree with
 * probing the same local file, and the bytes pulled must stay bounded.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "net/http.h"
#include "probe/probe_internal.h"
#include "test.h"

static int no_range;
static int port;
static char log_lines[64][PF__ERRBUF];
static int log_count;

static const char *url_of(const char *path)
{
    static char buf[8][1024];
    static int slot;
    char *p = buf[slot++ % 8];

    snprintf(p, 1024, "http://127.0.0.1:%d/%s", port, path);
    return p;
}

static void capture_log(void *userdata, const char *line)
{
    (void)userdata;
    if (log_count < 64)
        pf__strlcpy(log_lines[log_count++], line, PF__ERRBUF);
}

static pf_ctx *new_ctx(void)
{
    pf_ctx *ctx = pf_ctx_new();

    ASSERT(ctx != NULL);
    pf_ctx_set_allow_http(ctx, 1);
    log_count = 0;
    pf_ctx_set_log(ctx, capture_log, NULL);
    return ctx;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the server's request log ------------------------------------------- */

static long log_size(void)
{
    struct stat st;
    const char *path = getenv("PF_TEST_HTTP_LOG");

    ASSERT(path != NULL);
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* The server logs a request when its handler finishes, which can be a
 * moment after the client has what it wanted: wait until the log has been
 * quiet for 300 ms (at most 5 s). */
static void log_settle(void)
{
    long size = log_size();
    double quiet_since = now_s(), start = quiet_since;

    while (now_s() - quiet_since < 0.3 && now_s() - start < 5) {
        long s;

        usleep(20000);
        if ((s = log_size()) != size) {
            size = s;
            quiet_since = now_s();
        }
    }
}

/* Sums bytes_sent over the requests logged after offset `from` whose path
 * is exactly `path`; *requests counts them. */
static int64_t log_bytes_sent(long from, const char *path, int *requests)
{
    FILE *f = fopen(getenv("PF_TEST_HTTP_LOG"), "r");
    char line[4096], want[1100];
    int64_t sum = 0;

    ASSERT(f != NULL);
    snprintf(want, sizeof want, "\"path\": \"%s\"", path);
    *requests = 0;
    fseek(f, from, SEEK_SET);
    while (fgets(line, sizeof line, f)) {
        const char *b = strstr(line, "\"bytes_sent\": ");

        if (!strstr(line, want) || !b)
            continue;
        sum += strtoll(b + strlen("\"bytes_sent\": "), NULL, 10);
        (*requests)++;
    }
    fclose(f);
    return sum;
}

/* ---- probing equals probing the local file ------------------------------ */

static void assert_same_media(const pf_media_info *r, const pf_media_info *l)
{
    ASSERT_EQ(r->source, PF_SOURCE_URL);
    ASSERT_EQ(l->source, PF_SOURCE_FILE);
    ASSERT_EQ(r->kind, l->kind);
    ASSERT_STR_EQ(r->format, l->format);
    ASSERT_STR_EQ(r->codec, l->codec);
    ASSERT_EQ(r->width, l->width);
    ASSERT_EQ(r->height, l->height);
    ASSERT_EQ(r->coded_width, l->coded_width);
    ASSERT_EQ(r->coded_height, l->coded_height);
    ASSERT_EQ(r->rotation, l->rotation);
    ASSERT_EQ(r->orientation, l->orientation);
    ASSERT_EQ(r->has_video, l->has_video);
    ASSERT_EQ(r->has_audio, l->has_audio);
    ASSERT_EQ(r->has_alpha, l->has_alpha);
    ASSERT_EQ(r->progressive, l->progressive);
    ASSERT_EQ(r->bit_depth, l->bit_depth);
    ASSERT_EQ(r->file_size, l->file_size);
    ASSERT_DBL_EQ(r->duration, l->duration, 1e-9);
    ASSERT_DBL_EQ(r->fps, l->fps, 1e-9);
    ASSERT_EQ(r->frame_count, l->frame_count);
    ASSERT_EQ(r->bit_rate, l->bit_rate);
    ASSERT_STR_EQ(r->audio_codec, l->audio_codec);
    /* Without Range the end of a file past the head is not checked. */
    if (!no_range)
        ASSERT_EQ(r->trailing_bytes, l->trailing_bytes);
}

/* Probes name both ways, asserts they agree and returns the remote facts. */
static pf_media_info probe_both(const char *name)
{
    pf_ctx *ctx = new_ctx();
    pf_media_info remote = PF_MEDIA_INFO_INIT, local = PF_MEDIA_INFO_INIT;
    pf_err rc;

    rc = pf_probe(ctx, FIXTURE(name), &local);
    if (rc != PF_OK)
        FAIL_AT("local %s: %s", name, pf_ctx_error(ctx));
    rc = pf_probe(ctx, url_of(name), &remote);
    if (rc != PF_OK)
        FAIL_AT("remote %s: %s", name, pf_ctx_error(ctx));
    assert_same_media(&remote, &local);
    ASSERT_INT(remote.bytes_read, >, 0);
    fprintf(stderr, "   %s: %" PRId64 " of %" PRId64 " bytes read\n", name,
            remote.bytes_read, remote.file_size);
    pf_ctx_free(ctx);
    return remote;
}

static void test_probe_matches_local(void)
{
    static const char *names[] = {
        "jpg_8000x4000.jpg", "png_640x480.png", "mp4_h264_640x360_2s.mp4",
        "jpg_exif6_4000x3000.jpg", "png_8000x4000.png", "webm_vp9.webm",
    };
    const int64_t max_head = 8 << 20;   /* the context's default */

    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        pf_media_info m = probe_both(names[i]);

        if (no_range)
            ASSERT_INT(m.bytes_read, <=, max_head);
        else
            ASSERT_INT(m.bytes_read, <=, m.file_size);
    }
}

/* The big JPEG's header and tail are all a probe needs: with Range, a
 * fraction of the file crosses the network, and the server agrees. */
static void test_big_jpeg_reads_little(void)
{
    const char *name = "jpg_8000x4000.jpg";
    long from;
    pf_media_info m = PF_MEDIA_INFO_INIT;
    int64_t sent;
    int requests;

    log_settle();
    from = log_size();
    m = probe_both(name);
    log_settle();
    sent = log_bytes_sent(from, "/jpg_8000x4000.jpg", &requests);
    fprintf(stderr, "   server: %d requests, %" PRId64 " bytes sent\n",
            requests, sent);
    ASSERT_INT(requests, >=, 1);
    /* The server may have pushed more into socket buffers than we took. */
    ASSERT_INT(sent, >=, m.bytes_read);
    if (no_range) {
        /* One plain GET, of which only the head was read: the end-of-file
         * check is skipped rather than paid for with the whole file. */
        ASSERT_EQ(requests, 1);
        ASSERT_INT(m.bytes_read, <, 512 * 1024);
        return;
    }
    ASSERT_INT(m.bytes_read, <, 200 * 1024);
    ASSERT_INT(m.bytes_read * 2, <, m.file_size);
    /* Range responses are read to their end: nothing is pushed unread. */
    ASSERT_EQ(sent, m.bytes_read);
}

/* A 16 MB file whose header is at the front: only the front and the end
 * are read, never the middle. */
static void test_big_files_read_little(void)
{
    static const char *names[] = {"png_size_16000000.png",
                                  "mp4_size_16000000.mp4"};

    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        pf_ctx *ctx = new_ctx();
        pf_media_info remote = PF_MEDIA_INFO_INIT, local = PF_MEDIA_INFO_INIT;
        pf_err rc;

        ASSERT_EQ(pf_probe(ctx, FIXTURE(names[i]), &local), PF_OK);
        rc = pf_probe(ctx, url_of(names[i]), &remote);
        if (no_range) {
            /* A PNG's header is at its front: no need for its end. */
            if (i == 0) {
                ASSERT_EQ(rc, PF_OK);
                ASSERT_INT(remote.bytes_read, <, 1 << 20);
            }
            /* Whatever lies beyond the first 8 MiB cannot be reached; a
             * probe that needs it must say so clearly. */
            if (rc != PF_OK) {
                ASSERT_EQ(rc, PF_ELIMIT);
                ASSERT_CONTAINS(pf_ctx_error(ctx),
                                "server does not support Range requests");
                ASSERT_CONTAINS(pf_ctx_error(ctx), "first 8 MiB");
                fprintf(stderr, "   %s: %s\n", names[i], pf_ctx_error(ctx));
            } else {
                assert_same_media(&remote, &local);
                ASSERT_INT(remote.bytes_read, <=, 8 << 20);
            }
        } else {
            if (rc != PF_OK)
                FAIL_AT("%s: %s", names[i], pf_ctx_error(ctx));
            assert_same_media(&remote, &local);
            fprintf(stderr, "   %s: %" PRId64 " of %" PRId64 " bytes read\n",
                    names[i], remote.bytes_read, remote.file_size);
            ASSERT_INT(remote.bytes_read, <, 1 << 20);
        }
        pf_ctx_free(ctx);
    }
}

/* Issue 9's stills over HTTP, with and without Range: the same facts as
 * the local file (HEIF from its meta box, WebP from its header, JPEG and
 * PNG trailers), and cut files still corrupt. */
static void test_stills_remote(void)
{
    static const char *good[] = {
        "stills/heic_irot1_imir0.heic", "stills/avif_alpha.avif",
        "stills/heic_grid_641x481.heic", "stills/webp_16000x9000.webp",
        "stills/jpg_zero_pad.jpg", "stills/jpg_trailer_43k.jpg",
        "stills/jpg_motion_mp4.jpg", "stills/png_zero_pad.png",
        "stills/png_two_padded.png",
    };
    static const char *cut[] = {
        "stills/heic_cut.heic", "stills/avif_cut.avif",
        "stills/jpg_cut_zero_pad.jpg", "stills/png_cut_zero_pad.png",
        "stills/webp_cut.webp",
    };

    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        pf_media_info m = probe_both(good[i]);

        ASSERT_EQ(m.kind, PF_MEDIA_IMAGE);
    }
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        pf_ctx *ctx = new_ctx();
        pf_media_info m = PF_MEDIA_INFO_INIT;

        ASSERT_EQ(pf_probe(ctx, url_of(cut[i]), &m), PF_ECORRUPT);
        ASSERT_CONTAINS(pf_ctx_error(ctx), "truncated");
        pf_ctx_free(ctx);
    }
}

/* moov at the end: found with a Range read near the end; without Range it
 * works only while the file fits in the head the context allows. */
static void test_moov_at_end(void)
{
    const char *name = "mp4_moov_end.mp4";
    pf_media_info m = probe_both(name);
    pf_ctx *ctx;
    pf_err rc;

    if (!no_range)
        return;
    ASSERT_INT(m.file_size, <=, 8 << 20);
    ctx = new_ctx();
    ctx->max_remote_head = 16 << 10;
    ASSERT_INT(m.file_size, >, ctx->max_remote_head);
    rc = pf_probe(ctx, url_of(name), &m);
    ASSERT_EQ(rc, PF_ELIMIT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), url_of(name));
    ASSERT_CONTAINS(pf_ctx_error(ctx),
                    "server does not support Range requests and the data "
                    "needed lies beyond the first 16 KiB");
    pf_ctx_free(ctx);
}

/* ---- failures ----------------------------------------------------------- */

static void expect_failure(const char *url, pf_err want, const char *text)
{
    pf_ctx *ctx = new_ctx();
    pf_media_info m = PF_MEDIA_INFO_INIT;
    pf_err rc = pf_probe(ctx, url, &m);

    fprintf(stderr, "   %s -> %s: %s\n", url, pf_err_name(rc), pf_ctx_error(ctx));
    ASSERT_EQ(rc, want);
    ASSERT_CONTAINS(pf_ctx_error(ctx), text);
    ASSERT_EQ(m.width, 0);      /* left zeroed */
    pf_ctx_free(ctx);
}

static void test_http_status(void)
{
    expect_failure(url_of("status/404"), PF_EHTTP, "HTTP 404 Not Found");
    expect_failure(url_of("status/404"), PF_EHTTP, url_of("status/404"));
    expect_failure(url_of("status/403"), PF_EHTTP, "HTTP 403 Forbidden");
    expect_failure(url_of("status/410"), PF_EHTTP, "HTTP 410 Gone");
    expect_failure(url_of("status/500"), PF_EHTTP, "HTTP 500");
    expect_failure(url_of("status/503"), PF_EHTTP, "HTTP 503");
    expect_failure(url_of("no_such_file.jpg"), PF_EHTTP, "HTTP 404");
    /* Followed redirects end at the final status. */
    expect_failure(url_of("redirect?to=/status/404"), PF_EHTTP, "HTTP 404");
}

static int closed_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ASSERT(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void test_connection_refused(void)
{
    char url[256];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/x.jpg", closed_port());
    expect_failure(url, PF_ENET, url);
}

/* Presigned URLs carry their signature in the query: it must appear in no
 * message and no log line, whether the probe fails or succeeds. */
static void test_secrets_redacted(void)
{
    static const char *paths[] = {
        "status/404?X-Amz-Signature=secret123",
        "status/403?X-Amz-Signature=secret123&X-Amz-Expires=60",
        "png_640x480.png?X-Amz-Signature=secret123",
        "redirect?to=/png_640x480.png%3FX-Amz-Signature%3Dsecret123",
    };
    char url[256];

    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        pf_ctx *ctx = new_ctx();
        pf_media_info m = PF_MEDIA_INFO_INIT;
        pf_err rc = pf_probe(ctx, url_of(paths[i]), &m);

        fprintf(stderr, "   %s -> %s: %s\n", paths[i], pf_err_name(rc),
                pf_ctx_error(ctx));
        if (i < 2) {
            ASSERT_EQ(rc, PF_EHTTP);
            ASSERT_CONTAINS(pf_ctx_error(ctx), "?...");
        } else {
            ASSERT_EQ(rc, PF_OK);
            ASSERT_EQ(m.width, 640);
        }
        if (i == 1)
            ASSERT_CONTAINS(pf_ctx_error(ctx), "presigned URL may have expired");
        ASSERT(!strstr(pf_ctx_error(ctx), "secret123"));
        ASSERT_INT(log_count, >, 0);
        for (int j = 0; j < log_count; j++)
            if (strstr(log_lines[j], "secret123"))
                FAIL_AT("log line leaks the signature: %s", log_lines[j]);
        pf_ctx_free(ctx);
    }
    /* A transport failure says the URL too, and still not its query. */
    snprintf(url, sizeof url,
             "http://127.0.0.1:%d/x.jpg?X-Amz-Signature=secret123",
             closed_port());
    expect_failure(url, PF_ENET, "x.jpg?...");
    {
        pf_ctx *ctx = new_ctx();
        pf_media_info m = PF_MEDIA_INFO_INIT;

        ASSERT_EQ(pf_probe(ctx, url, &m), PF_ENET);
        ASSERT(!strstr(pf_ctx_error(ctx), "secret123"));
        pf_ctx_free(ctx);
    }
}

static void test_redirect_followed(void)
{
    pf_ctx *ctx = new_ctx();
    pf_media_info remote = PF_MEDIA_INFO_INIT, local = PF_MEDIA_INFO_INIT;

    ASSERT_EQ(pf_probe(ctx, FIXTURE("png_640x480.png"), &local), PF_OK);
    if (pf_probe(ctx, url_of("redirect?to=/png_640x480.png"), &remote) != PF_OK)
        FAIL_AT("%s", pf_ctx_error(ctx));
    assert_same_media(&remote, &local);
    pf_ctx_free(ctx);
}

/* A server that goes silent mid-body fails the probe once the context's
 * timeout passes, not when the server gives up 30 s later. */
static void test_stall_bounded(void)
{
    pf_ctx *ctx = new_ctx();
    pf_media_info m = PF_MEDIA_INFO_INIT;
    double t0 = now_s(), elapsed;
    pf_err rc;

    ctx->probe_timeout_ms = 1000;
    rc = pf_probe(ctx, url_of("stall/jpg_8000x4000.jpg"), &m);
    elapsed = now_s() - t0;
    fprintf(stderr, "   stall -> %s after %.2f s: %s\n", pf_err_name(rc),
            elapsed, pf_ctx_error(ctx));
    ASSERT_EQ(rc, PF_ENET);
    ASSERT_CONTAINS(pf_ctx_error(ctx), url_of("stall/jpg_8000x4000.jpg"));
    ASSERT(elapsed < 5.0);
    pf_ctx_free(ctx);
}

/* A body shorter than its Content-Length either still held everything the
 * probe needed or fails as a network error; it never yields wrong facts. */
static void test_short_body(void)
{
    static const char *names[] = {"png_640x480.png", "jpg_8000x4000.jpg"};

    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        pf_ctx *ctx = new_ctx();
        pf_media_info remote = PF_MEDIA_INFO_INIT, local = PF_MEDIA_INFO_INIT;
        char path[256];
        pf_err rc;

        snprintf(path, sizeof path, "lie-length/%s", names[i]);
        ASSERT_EQ(pf_probe(ctx, FIXTURE(names[i]), &local), PF_OK);
        rc = pf_probe(ctx, url_of(path), &remote);
        fprintf(stderr, "   %s -> %s: %s\n", path, pf_err_name(rc),
                pf_ctx_error(ctx));
        if (rc == PF_OK) {
            ASSERT_EQ(remote.width, local.width);
            ASSERT_EQ(remote.height, local.height);
        } else {
            ASSERT_EQ(rc, PF_ENET);
        }
        pf_ctx_free(ctx);
    }
}

/* ---- the HTTP layer itself ---------------------------------------------- */

static void read_local(const char *name, int64_t off, uint8_t *buf, size_t len)
{
    FILE *f = fopen(FIXTURE(name), "rb");

    ASSERT(f != NULL);
    ASSERT_EQ(fseek(f, (long)off, SEEK_SET), 0);
    ASSERT_EQ(fread(buf, 1, len, f), len);
    fclose(f);
}

static void test_http_get_range(void)
{
    const char *name = "jpg_exif6_4000x3000.jpg";
    pf_ctx *ctx = new_ctx();
    struct pf__http *h;
    static uint8_t got_buf[70000], want_buf[70000];
    int64_t size = -1, total = -2;
    int honoured = -1;
    size_t got = 1;
    FILE *f = fopen(FIXTURE(name), "rb");
    uint64_t before;

    ASSERT(f != NULL);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    ASSERT_INT(size, >, 100000);

    ASSERT_EQ(pf__http_new(ctx, &h), PF_OK);
    /* The middle of the file. */
    ASSERT_EQ(pf__http_get_range(h, url_of(name), 5000, 70000, got_buf, &got,
                                 &total, &honoured), PF_OK);
    ASSERT_EQ(got, 70000);
    ASSERT_EQ(total, size);
    ASSERT_EQ(honoured, !no_range);
    read_local(name, 5000, want_buf, 70000);
    ASSERT(memcmp(got_buf, want_buf, 70000) == 0);
    /* Without Range, the prefix had to be received as well. */
    if (no_range) {
        ASSERT_INT(pf__http_bytes_received(h), >=, 75000);
        ASSERT_INT(pf__http_bytes_received(h), <=, 75000 + 16384);
    } else {
        ASSERT_EQ(pf__http_bytes_received(h), 70000);
    }

    /* Straddling the end: short. */
    ASSERT_EQ(pf__http_get_range(h, url_of(name), size - 10, 100, got_buf,
                                 &got, &total, &honoured), PF_OK);
    ASSERT_EQ(got, 10);
    ASSERT_EQ(total, size);
    read_local(name, size - 10, want_buf, 10);
    ASSERT(memcmp(got_buf, want_buf, 10) == 0);

    /* Past the end: 416 with Range, the whole body without. */
    before = pf__http_bytes_received(h);
    total = -2;
    ASSERT_EQ(pf__http_get_range(h, url_of(name), size + 10, 100, got_buf,
                                 &got, &total, &honoured), PF_OK);
    ASSERT_EQ(got, 0);
    ASSERT_EQ(total, size);
    ASSERT_EQ(pf__http_bytes_received(h) - before, no_range ? size : 0);

    /* An error status says so, with the URL. */
    ASSERT_EQ(pf__http_get_range(h, url_of("status/410"), 0, 100, got_buf,
                                 &got, &total, &honoured), PF_EHTTP);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "HTTP 410 Gone");
    ASSERT_EQ(got, 0);

    /* The handle is still good after an error. */
    ASSERT_EQ(pf__http_get_range(h, url_of(name), 0, 4, got_buf, &got, NULL,
                                 NULL), PF_OK);
    ASSERT_EQ(got, 4);
    ASSERT(got_buf[0] == 0xFF && got_buf[1] == 0xD8);
    pf__http_free(h);
    pf__http_free(NULL);
    pf_ctx_free(ctx);
}

/* A body read as a stream, only as far as wanted, then abandoned. */
static void test_http_stream(void)
{
    const char *name = "png_8000x4000.png";
    pf_ctx *ctx = new_ctx();
    struct pf__http *h;
    struct pf__http_response resp;
    static uint8_t buf[4096], want[4096];
    size_t got;

    ASSERT_EQ(pf__http_new(ctx, &h), PF_OK);
    ASSERT_EQ(pf__http_stream_open(h, url_of(name), 0, 0, &resp), PF_OK);
    ASSERT_EQ(resp.status, 200);
    ASSERT_INT(resp.content_length, >, 65536);
    ASSERT_EQ(pf__http_bytes_received(h), 0);   /* headers only so far */
    ASSERT_EQ(pf__http_stream_read(h, buf, sizeof buf, &got), PF_OK);
    ASSERT_EQ(got, sizeof buf);
    read_local(name, 0, want, sizeof want);
    ASSERT(memcmp(buf, want, sizeof buf) == 0);
    /* One network chunk at most beyond what was asked for. */
    ASSERT_INT(pf__http_bytes_received(h), <=, 4096 + 16384);
    pf__http_stream_close(h);
    pf__http_stream_close(h);
    ASSERT_EQ(pf__http_stream_read(h, buf, sizeof buf, &got), PF_OK);
    ASSERT_EQ(got, 0);
    pf__http_free(h);
    pf_ctx_free(ctx);
}

/* ---- the URL source itself --------------------------------------------- */

static uint8_t *slurp(const char *name, size_t *len)
{
    FILE *f = fopen(FIXTURE(name), "rb");
    uint8_t *data;
    long n;

    ASSERT(f != NULL);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    ASSERT((data = malloc((size_t)n)) != NULL);
    ASSERT_EQ(fread(data, 1, (size_t)n, f), n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* Random reads through the block cache (a file larger than the cache, so
 * blocks are evicted and fetched again) return exactly the file's bytes,
 * short only at its end. */
static void test_source_random_reads(void)
{
    const char *name = "jpg_size_4700000.jpg";
    pf_ctx *ctx = new_ctx();
    struct pf__source *src;
    size_t size, got;
    uint8_t *local = slurp(name, &size);
    static uint8_t buf[300000];
    uint32_t seed = 12345;

    ASSERT_EQ(pf__source_open_url(ctx, url_of(name), &src), PF_OK);
    ASSERT_EQ(src->kind, PF_SOURCE_URL);
    ASSERT_EQ(src->size, size);
    ASSERT_STR_EQ(src->name, url_of(name));
    for (int i = 0; i < 300; i++) {
        int64_t off;
        size_t len, expect;

        seed = seed * 1103515245u + 12345u;
        off = (int64_t)(seed % (uint32_t)(size + 1000));
        seed = seed * 1103515245u + 12345u;
        len = 1 + seed % (i % 10 == 0 ? sizeof buf : 5000);
        if (i % 7 == 0)         /* the probers' tail read */
            off = (int64_t)size - 4096, len = 4096;
        if (i % 11 == 0)        /* forward scans */
            off = (int64_t)(i * 15000 % size);
        expect = off >= (int64_t)size ? 0
                 : len < size - (size_t)off ? len : size - (size_t)off;
        if (pf__source_read_full(src, off, buf, len, &got) != PF_OK)
            FAIL_AT("read %d at %" PRId64 "+%zu: %s", i, off, len,
                    pf_ctx_error(ctx));
        ASSERT_EQ(got, expect);
        if (memcmp(buf, local + (off < (int64_t)size ? off : 0), got) != 0)
            FAIL_AT("read %d at %" PRId64 "+%zu: wrong bytes", i, off, len);
    }
    fprintf(stderr, "   300 reads, %" PRIu64 " bytes received\n",
            src->bytes_read);
    pf__source_close(src);

    /* Without Range, reads within the head work and beyond it fail. */
    if (no_range) {
        ctx->max_remote_head = 1 << 20;
        ASSERT_EQ(pf__source_open_url(ctx, url_of(name), &src), PF_OK);
        ASSERT_EQ(pf__source_read_full(src, 1000000, buf, 48576, &got), PF_OK);
        ASSERT_EQ(got, 48576);
        ASSERT(memcmp(buf, local + 1000000, got) == 0);
        ASSERT_EQ(pf__source_read_full(src, 1000000, buf, 50000, &got),
                  PF_ELIMIT);
        ASSERT_CONTAINS(pf_ctx_error(ctx), "beyond the first 1 MiB");
        ASSERT_EQ(pf__source_read_full(src, size - 4096, buf, 4096, &got),
                  PF_ELIMIT);
        ASSERT_INT(src->bytes_read, <=, (1 << 20) + 16384);
        pf__source_close(src);
    }
    free(local);
    pf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    const char *p = getenv("PF_TEST_HTTP_PORT");

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-range") == 0)
            no_range = 1;
        else
            FAIL_AT("usage: %s [--no-range]", argv[0]);
    }
    if (!p || (port = atoi(p)) <= 0)
        FAIL_AT("PF_TEST_HTTP_PORT is not set: run through "
                "tests/with_http_server.sh");
    /* The server is on loopback: a proxy from the environment must not
     * stand in between. */
    setenv("no_proxy", "127.0.0.1", 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
    fprintf(stderr, "server on port %d%s\n", port, no_range ? ", no Range" : "");

    RUN(test_http_get_range);
    RUN(test_http_stream);
    RUN(test_source_random_reads);
    RUN(test_probe_matches_local);
    RUN(test_big_jpeg_reads_little);
    RUN(test_big_files_read_little);
    RUN(test_moov_at_end);
    RUN(test_stills_remote);
    RUN(test_http_status);
    RUN(test_connection_refused);
    RUN(test_secrets_redacted);
    RUN(test_redirect_followed);
    RUN(test_short_body);
    RUN(test_stall_bounded);
    return 0;
}
