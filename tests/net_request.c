/*
 * pf__http_request against tests/fault_server.py on 127.0.0.1 (started by
 * tests/with_upload_servers.sh, which exports PF_TEST_FAULT_PORT): bodies
 * from memory and files, forms, sinks and resumes, the retry policy (what
 * is retried, how often, how long it waits), error bodies, stalls,
 * interrupts, and that no header value or query string reaches a log line
 * or a message. PREFLIGHT_RETRY_BASE_MS keeps the backoff short.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "net/http.h"
#include "test.h"

static int port;
static char log_lines[256][PF__ERRBUF];
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
    if (log_count < 256)
        pf__strlcpy(log_lines[log_count++], line, PF__ERRBUF);
}

static int count_log(const char *needle)
{
    int n = 0;

    for (int i = 0; i < log_count; i++)
        n += strstr(log_lines[i], needle) != NULL;
    return n;
}

static pf_ctx *ctx;
static struct pf__http *h;

static void fresh(void)
{
    pf__http_free(h);
    pf_ctx_free(ctx);
    ctx = pf_ctx_new();
    ASSERT(ctx != NULL);
    log_count = 0;
    pf_ctx_set_log(ctx, capture_log, NULL);
    ASSERT_EQ(pf__http_new(ctx, &h), PF_OK);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A temporary file of n pattern bytes, opened for reading. */
static int temp_file(int64_t n, char *path, size_t size)
{
    char block[65536];
    int fd;

    snprintf(path, size, "%s/pf-req-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    fd = mkstemp(path);
    ASSERT(fd >= 0);
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (char)(i * 31 + 7);
    for (int64_t done = 0; done < n;) {
        size_t w = n - done < (int64_t)sizeof block ? (size_t)(n - done) : sizeof block;

        ASSERT_EQ(write(fd, block, w), (ssize_t)w);
        done += (int64_t)w;
    }
    return fd;
}

static void test_get_memory(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;

    fresh();
    pf__http_request_init(&req);
    req.url = url_of("ok");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.status, 200);
    ASSERT_EQ(reply.attempts, 1);
    ASSERT_CONTAINS(reply.body, "\"method\": \"GET\"");
    ASSERT_STR_EQ(reply.content_type, "application/json");
    ASSERT_EQ(reply.body_len, strlen(reply.body));
    ASSERT_EQ(count_log("http: GET http://127.0.0.1"), 1);
    pf__http_reply_free(&reply);
    pf__http_reply_free(&reply);    /* twice is fine */
}

/* A file is streamed with Content-Length (never chunked), no Content-Type
 * unless asked, and arrives whole. */
static void test_put_file(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    const char *headers[] = {"Content-Type: video/mp4", NULL};
    char path[256];
    int fd = temp_file(3 << 20, path, sizeof path);

    fresh();
    pf__http_request_init(&req);
    req.method = "PUT";
    req.url = url_of("ok");
    req.body_fd = fd;
    req.body_size = 3 << 20;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_CONTAINS(reply.body, "\"length\": 3145728");
    ASSERT_CONTAINS(reply.body, "\"content_type\": null");
    ASSERT_CONTAINS(reply.body, "\"method\": \"PUT\"");
    pf__http_reply_free(&reply);

    req.headers = headers;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_CONTAINS(reply.body, "\"content_type\": \"video/mp4\"");
    pf__http_reply_free(&reply);

    /* An empty file is still a PUT with Content-Length: 0. */
    req.body_size = 0;
    req.headers = NULL;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_CONTAINS(reply.body, "\"length\": 0");
    pf__http_reply_free(&reply);
    close(fd);
    unlink(path);
}

static void test_post_memory(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    const char body[] = "{\"prompt\":\"hi\"}";
    const char *json[] = {"Content-Type: application/json", NULL};

    fresh();
    pf__http_request_init(&req);
    req.method = "POST";
    req.url = url_of("ok");
    req.body = body;
    req.body_len = strlen(body);
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    /* Not libcurl's default form-urlencoded label. */
    ASSERT_CONTAINS(reply.body, "\"content_type\": null");
    ASSERT_CONTAINS(reply.body, "\"length\": 15");
    ASSERT_CONTAINS(reply.body, "\"expect\": null");
    pf__http_reply_free(&reply);
    req.headers = json;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_CONTAINS(reply.body, "\"content_type\": \"application/json\"");
    pf__http_reply_free(&reply);
}

static void test_form(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    struct pf__http_form_field fields[] = {{"key", "in/a.mp4"}, {"policy", "abc"}};
    char path[256];
    int fd = temp_file(100000, path, sizeof path);

    fresh();
    pf__http_request_init(&req);
    req.method = "POST";
    req.url = url_of("ok");
    req.form = fields;
    req.nform = 2;
    req.body_fd = fd;
    req.body_size = 100000;
    req.form_file_type = "video/mp4";
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_CONTAINS(reply.body, "multipart/form-data; boundary=");
    pf__http_reply_free(&reply);
    close(fd);
    unlink(path);
}

/* 5xx then success: retried with backoff; a POST is not. */
static void test_retry_5xx(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    char path[256];
    int fd = temp_file(200000, path, sizeof path);

    fresh();
    pf__http_request_init(&req);
    req.method = "PUT";
    req.url = url_of("flaky/put503/2/503");
    req.body_fd = fd;
    req.body_size = 200000;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.attempts, 3);
    ASSERT_CONTAINS(reply.body, "\"length\": 200000");  /* whole again */
    ASSERT_EQ(count_log("retrying in"), 2);
    pf__http_reply_free(&reply);
    close(fd);
    unlink(path);

    /* Never better: gives up after 1 + 4 attempts, says so once. */
    fresh();
    pf__http_request_init(&req);
    req.url = url_of("flaky/get500/99/500");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    ASSERT_EQ(reply.attempts, 5);
    ASSERT_EQ(reply.status, 500);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "HTTP 500 Internal Server Error: try again (after 5 attempts)");
    pf__http_reply_free(&reply);

    /* A POST may have been acted on: not retried unless the caller says. */
    pf__http_request_init(&req);
    req.method = "POST";
    req.url = url_of("flaky/post/1/503");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    ASSERT_EQ(reply.attempts, 1);
    ASSERT_EQ(reply.sent, 1);
    pf__http_reply_free(&reply);
    req.url = url_of("flaky/post2/1/503");
    req.retries = 2;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.attempts, 2);
    pf__http_reply_free(&reply);
}

/* Retry-After is the server's word: seconds or a date. */
static void test_retry_after(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    double t0;

    fresh();
    pf__http_request_init(&req);
    req.url = url_of("retry-after/a/1");
    t0 = now_s();
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.attempts, 2);
    ASSERT(now_s() - t0 >= 0.95);
    ASSERT_EQ(count_log("retrying in 1.0 s"), 1);
    pf__http_reply_free(&reply);

    req.url = url_of("retry-date/b/2");
    t0 = now_s();
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.attempts, 2);
    ASSERT(now_s() - t0 >= 0.9);        /* an HTTP date has 1 s resolution */
    ASSERT(now_s() - t0 < 5);
    ASSERT_EQ(reply.retry_after_ms, -1);        /* the final 200 said none */
    pf__http_reply_free(&reply);

    /* Without retries the caller gets the server's word, as said and as
     * the layer would obey it (clamped to 300 s). */
    req.retries = 0;
    req.url = url_of("retry-after/c/100000");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    ASSERT_EQ(reply.status, 429);
    ASSERT_EQ(reply.retry_after_ms, 100000000);
    ASSERT_EQ(pf__http_retry_after_wait(&reply), 300000);
    pf__http_reply_free(&reply);
    ASSERT_EQ(reply.retry_after_ms, -1);
    req.url = url_of("retry-date/d/60");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    ASSERT(reply.retry_after_ms >= 58000 && reply.retry_after_ms <= 61000);
    ASSERT_EQ(pf__http_retry_after_wait(&reply), reply.retry_after_ms);
    pf__http_reply_free(&reply);
}

/* Errors that retrying cannot fix are said from the body, once. */
static void test_error_bodies(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    char path[256];
    int fd = temp_file(8 << 20, path, sizeof path);

    fresh();
    pf__http_request_init(&req);
    /* 403 while the body is still going out: reported from its XML. */
    req.method = "PUT";
    req.url = url_of("s3/deny-midupload?X-Amz-Signature=0123456789abcdef");
    req.body_fd = fd;
    req.body_size = 8 << 20;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EAUTH);
    ASSERT_EQ(reply.attempts, 1);
    ASSERT_EQ(reply.status, 403);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "/s3/deny-midupload?...: HTTP 403 Forbidden: "
                    "SignatureDoesNotMatch: The request signature we calculated");
    ASSERT(!strstr(pf_ctx_error(ctx), "0123456789abcdef"));
    ASSERT_CONTAINS(reply.body, "<Code>SignatureDoesNotMatch</Code>");
    pf__http_reply_free(&reply);
    close(fd);
    unlink(path);

    pf__http_request_init(&req);
    req.url = url_of("s3/expired");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EAUTH);
    ASSERT_EQ(reply.attempts, 1);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "AccessDenied: Request has expired");
    pf__http_reply_free(&reply);

    req.url = url_of("s3/no-such-bucket");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "HTTP 404 Not Found: NoSuchBucket: The specified bucket does not exist");
    pf__http_reply_free(&reply);

    /* An error body has its own allowance: a caller that wants a tiny 2xx
     * body (a byte read back) still hears what a refusal says. */
    req.url = url_of("s3/expired");
    req.max_body = 1;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EAUTH);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "AccessDenied: Request has expired");
    req.max_body = 0;
    pf__http_reply_free(&reply);

    req.url = url_of("json/error");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "HTTP 400 Bad Request: INVALID_INPUT: prompt is required");
    pf__http_reply_free(&reply);

    req.url = url_of("json/detail");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "HTTP 422: field required");
    pf__http_reply_free(&reply);

    req.url = url_of("json/nested");
    req.retries = 0;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "HTTP 500 Internal Server Error: server_error: model crashed");
    pf__http_reply_free(&reply);

    req.url = url_of("status/401");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EAUTH);
    pf__http_reply_free(&reply);

    /* HTTP 200 that says error_code: a failure only when asked. */
    req.url = url_of("json/error-200");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    pf__http_reply_free(&reply);
    req.fail_on_error_code = 1;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EAPI);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "QUOTA_EXCEEDED: no credits left");
    ASSERT_EQ(reply.status, 200);
    pf__http_reply_free(&reply);

    /* A 404 the caller expects (is the object there yet?) is an answer:
     * not retried, nothing said, no "error:" line in the log. */
    pf__http_request_init(&req);
    req.method = "HEAD";
    req.url = url_of("s3/no-such-bucket");
    req.absent_ok = 1;
    pf__clear_error(ctx);
    log_count = 0;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.status, 404);
    ASSERT_EQ(reply.attempts, 1);
    ASSERT_STR_EQ(pf_ctx_error(ctx), "");
    ASSERT_EQ(count_log("error:"), 0);
    ASSERT_EQ(count_log("-> 404"), 1);
    pf__http_reply_free(&reply);
    /* Other statuses are still failures. */
    req.url = url_of("status/403");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    ASSERT_EQ(reply.status, 403);
    ASSERT_EQ(count_log("error:"), 1);
    pf__http_reply_free(&reply);
}

static void test_connection_errors(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    char url[128];

    /* Reset twice, then fine: a GET is retried. */
    fresh();
    pf__http_request_init(&req);
    req.url = url_of("reset/get/2");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.attempts, 3);
    pf__http_reply_free(&reply);

    /* A POST whose request went out is not: the server may have acted. */
    pf__http_request_init(&req);
    req.method = "POST";
    req.body = "{}";
    req.body_len = 2;
    req.url = url_of("reset/post/1");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_ENET);
    ASSERT_EQ(reply.attempts, 1);
    ASSERT_EQ(reply.sent, 1);
    pf__http_reply_free(&reply);

    /* Nothing listening: nothing was sent, so even a POST is retried. */
    {
        pf_ctx *c = pf_ctx_new();
        struct pf__http *h2;

        ASSERT_EQ(pf__http_new(c, &h2), PF_OK);
        /* Port 1: privileged and unused, so refused at once. */
        snprintf(url, sizeof url, "http://127.0.0.1:1/");
        req.url = url;
        ASSERT_EQ(pf__http_request(h2, &req, &reply), PF_ENET);
        ASSERT_EQ(reply.attempts, 5);
        ASSERT_EQ(reply.sent, 0);
        ASSERT_CONTAINS(pf_ctx_error(c), "http://127.0.0.1:1/: ");
        ASSERT_CONTAINS(pf_ctx_error(c), "(after 5 attempts)");
        pf__http_reply_free(&reply);
        pf__http_free(h2);
        pf_ctx_free(c);
    }
}

static void test_stalls(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    double t0;
    char path[256];
    int fd = temp_file(4 << 20, path, sizeof path);

    fresh();
    pf__http_set_stall_timeout(h, 700);
    pf__http_request_init(&req);
    req.url = url_of("stall");
    req.retries = 1;
    t0 = now_s();
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_ENET);
    ASSERT_EQ(reply.attempts, 2);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "/stall: no data received for 0.7 s (after 2 attempts)");
    ASSERT(now_s() - t0 < 5);
    pf__http_reply_free(&reply);

    /* An upload the server stops reading. */
    pf__http_request_init(&req);
    req.method = "PUT";
    req.url = url_of("stall-upload");
    req.body_fd = fd;
    req.body_size = 4 << 20;
    req.retries = 0;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_ENET);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "no data received for 0.7 s");
    pf__http_reply_free(&reply);
    close(fd);
    unlink(path);
}

/* Downloads into a file, resumed with Range. */
static void test_sink_and_resume(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    char path[256];
    uint8_t got[100000];
    int fd = temp_file(0, path, sizeof path);

    fresh();
    pf__http_request_init(&req);
    req.url = url_of("range/100000");
    req.sink_fd = fd;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.status, 200);
    ASSERT(reply.body == NULL);
    ASSERT_EQ(reply.body_len, 100000);
    ASSERT_EQ(lseek(fd, 0, SEEK_CUR), 100000);
    pf__http_reply_free(&reply);

    /* Cut back to 40000 bytes and resume from there. */
    ASSERT_EQ(ftruncate(fd, 40000), 0);
    ASSERT_EQ(lseek(fd, 40000, SEEK_SET), 40000);
    req.range_from = 40000;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.status, 206);
    ASSERT_EQ(reply.range_first, 40000);
    ASSERT_EQ(reply.range_total, 100000);
    ASSERT_EQ(reply.body_len, 60000);
    pf__http_reply_free(&reply);
    ASSERT_EQ(pread(fd, got, sizeof got, 0), 100000);
    for (int i = 0; i < 100000; i++)
        if (got[i] != (uint8_t)((i * 7 + 3) & 0xFF))
            FAIL_AT("byte %d differs", i);
    close(fd);
    unlink(path);

    /* A body in memory is bounded. */
    pf__http_request_init(&req);
    req.url = url_of("range/100000");
    req.max_body = 1000;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_ELIMIT);
    ASSERT_EQ(reply.attempts, 1);
    pf__http_reply_free(&reply);
}

/* After a PUT, a HEAD and a form, the handle's GET streams are GETs. */
/* A bounded range, and a prefix of a body kept on purpose. */
static void test_range_and_prefix(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;

    fresh();
    pf__http_request_init(&req);
    req.url = url_of("range/1000");
    req.range_from = 10;
    req.range_len = 5;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.status, 206);
    ASSERT_EQ(reply.body_len, 5);
    ASSERT_EQ(reply.range_first, 10);
    ASSERT_EQ(reply.range_total, 1000);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ((unsigned char)reply.body[i], ((10 + i) * 7 + 3) & 0xFF);
    ASSERT_EQ(count_log("bytes=10-14 -> 206"), 1);
    pf__http_reply_free(&reply);

    /* A server that ignores Range: the first byte is kept, the rest of the
     * 1 MB abandoned, and it is no error. */
    pf__http_request_init(&req);
    req.url = url_of("range/1000000?norange");
    req.range_len = 1;
    req.max_body = 1;
    req.prefix_only = 1;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.status, 200);
    ASSERT_EQ(reply.body_len, 1);
    ASSERT_EQ((unsigned char)reply.body[0], 3);
    ASSERT_EQ(reply.content_length, 1000000);
    ASSERT_EQ(reply.attempts, 1);
    ASSERT(pf__http_bytes_received(h) < 1000000);
    pf__http_reply_free(&reply);
    /* Without prefix_only the same answer is too large. */
    req.prefix_only = 0;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_ELIMIT);
    pf__http_reply_free(&reply);
}

static void test_option_hygiene(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    struct pf__http_response resp;
    uint8_t buf[100];
    size_t got;
    int64_t total;

    fresh();
    pf__http_request_init(&req);
    req.method = "HEAD";
    req.url = url_of("range/5000");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_EQ(reply.content_length, 5000);
    ASSERT_EQ(reply.body_len, 0);
    pf__http_reply_free(&reply);

    pf__http_request_init(&req);
    req.method = "PUT";
    req.url = url_of("ok");
    req.body = "abc";
    req.body_len = 3;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    pf__http_reply_free(&reply);

    ASSERT_EQ(pf__http_get_range(h, url_of("range/5000"), 10, sizeof buf, buf, &got,
                                 &total, NULL), PF_OK);
    ASSERT_EQ(got, 100);
    ASSERT_EQ(total, 5000);
    ASSERT_EQ(buf[0], (10 * 7 + 3) & 0xFF);
    ASSERT_EQ(pf__http_stream_open(h, url_of("range/5000"), 0, 0, &resp), PF_OK);
    ASSERT_EQ(resp.status, 200);
    pf__http_stream_close(h);

    pf__http_request_init(&req);
    req.url = url_of("ok");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    ASSERT_CONTAINS(reply.body, "\"method\": \"GET\"");
    ASSERT_CONTAINS(reply.body, "\"length\": 0");
    pf__http_reply_free(&reply);
}

static int interrupt_on_progress(void *ud, int64_t up, int64_t upt, int64_t down,
                                 int64_t downt)
{
    (void)up; (void)upt; (void)down; (void)downt;
    pf_ctx_interrupt(ud);
    return 0;
}

static int refuse_progress(void *ud, int64_t up, int64_t upt, int64_t down,
                           int64_t downt)
{
    (void)ud; (void)up; (void)upt; (void)down; (void)downt;
    return 1;
}

static void test_interrupt(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    double t0;

    fresh();
    pf__http_request_init(&req);
    req.url = url_of("stall");
    req.progress = interrupt_on_progress;
    req.progress_ud = ctx;
    t0 = now_s();
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EINTR);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "/stall: interrupted");
    ASSERT(now_s() - t0 < 3);
    pf__http_reply_free(&reply);

    /* Interrupted while waiting to retry. */
    fresh();
    pf_ctx_interrupt(ctx);
    pf__http_request_init(&req);
    req.url = url_of("ok");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EINTR);
    pf__http_reply_free(&reply);

    fresh();
    pf__http_request_init(&req);
    req.url = url_of("stall");
    req.progress = refuse_progress;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EINTR);
    pf__http_reply_free(&reply);
}

/* https anywhere, http only on this machine; and no secret in any log line
 * or message. */
static void test_policy_and_secrets(void)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    const char *secret_headers[] = {"Authorization: Bearer tok-SECRET-42",
                                    "X-API-Key: key-SECRET-43", NULL};

    fresh();
    pf__http_request_init(&req);
    req.url = "http://example.com/v.mp4?X-Amz-Signature=feedface";
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EUSAGE);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "http://example.com/v.mp4?...: plain http is refused");
    ASSERT(!strstr(pf_ctx_error(ctx), "feedface"));
    pf__http_reply_free(&reply);
    req.url = "ftp://127.0.0.1/x";
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EUSAGE);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "only https URLs are supported");
    pf__http_reply_free(&reply);
    req.url = "http://localhost:1/x";       /* loopback by name: allowed */
    req.retries = 0;
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_ENET);
    pf__http_reply_free(&reply);

    fresh();
    pf__http_request_init(&req);
    req.headers = secret_headers;
    req.url = url_of("flaky/sec/1/503?X-Amz-Credential=AKIDSECRET&X-Amz-Signature=c0ffee99");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_OK);
    pf__http_reply_free(&reply);
    req.url = url_of("status/403?X-Amz-Signature=c0ffee99");
    ASSERT_EQ(pf__http_request(h, &req, &reply), PF_EHTTP);
    pf__http_reply_free(&reply);
    ASSERT(log_count >= 3);
    for (int i = 0; i < log_count; i++) {
        ASSERT(!strstr(log_lines[i], "SECRET"));
        ASSERT(!strstr(log_lines[i], "c0ffee99"));
        ASSERT(!strstr(log_lines[i], "Bearer"));
    }
    ASSERT(!strstr(pf_ctx_error(ctx), "c0ffee99"));
}

int main(void)
{
    const char *p = getenv("PF_TEST_FAULT_PORT");

    if (!p)
        FAIL_AT("PF_TEST_FAULT_PORT is not set: run through with_upload_servers.sh");
    port = atoi(p);
    if (!getenv("PREFLIGHT_RETRY_BASE_MS"))
        FAIL_AT("set PREFLIGHT_RETRY_BASE_MS (ctest does) to keep backoff short");
    RUN(test_get_memory);
    RUN(test_put_file);
    RUN(test_post_memory);
    RUN(test_form);
    RUN(test_retry_5xx);
    RUN(test_retry_after);
    RUN(test_error_bodies);
    RUN(test_connection_errors);
    RUN(test_stalls);
    RUN(test_sink_and_resume);
    RUN(test_range_and_prefix);
    RUN(test_option_hygiene);
    RUN(test_interrupt);
    RUN(test_policy_and_secrets);
    pf__http_free(h);
    pf_ctx_free(ctx);
    return 0;
}
