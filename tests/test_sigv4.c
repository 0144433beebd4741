/*
 * The SigV4 signer: AWS's published test vectors (tests/sigv4-vectors.txt,
 * with their source), S3's presigned-URL example, the endpoint rules,
 * credentials from the environment and from files, expiry parsing.
 *
 * `test_sigv4 --sdk-cases` prints presigned URLs as JSON lines for
 * tests/sigv4-sdk.js, which recomputes each with the AWS SDK's presigner
 * and requires the same bytes (ctest runs the pair as sigv4_sdk).
 */
#include <stdlib.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/internal.h"
#include "net/sigv4.h"
#include "test.h"

static const char *vectors_path(void)
{
    static char path[4096];
    const char *src = getenv("PF_SOURCE_DIR");

    if (!src)
        FAIL_AT("PF_SOURCE_DIR is not set: run the tests through ctest");
    snprintf(path, sizeof path, "%s/tests/sigv4-vectors.txt", src);
    return path;
}

/* Splits "path?a=b&c=d" into the path and unencoded parameters (the suite
 * writes them raw). */
static size_t split_target(char *target, struct pf__sigv4_param *q, size_t max)
{
    char *qs = strchr(target, '?'), *save = NULL, *pair;
    size_t n = 0;

    if (!qs)
        return 0;
    *qs++ = '\0';
    for (pair = strtok_r(qs, "&", &save); pair && n < max;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');

        if (eq)
            *eq = '\0';
        q[n].name = pair;
        q[n].value = eq ? eq + 1 : "";
        n++;
    }
    return n;
}

static void check_vector(pf_ctx *ctx, const char *name, char *method, char *target,
                         struct pf__sigv4_param *hdr, size_t nhdr, const char *body,
                         const char *want)
{
    struct pf__sigv4_param q[16];
    struct pf__sigv4_input in;
    char sig[65], hash[65];
    size_t nq = split_target(target, q, 16);

    pf__sha256_hex(body, strlen(body), hash);
    memset(&in, 0, sizeof in);
    in.method = method;
    in.path = target;
    in.query = q;
    in.nquery = nq;
    in.headers = hdr;
    in.nheaders = nhdr;
    in.payload_hash = hash;
    in.amz_date = "20150830T123600Z";
    in.region = "us-east-1";
    in.service = "service";
    in.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    in.access_key = "AKIDEXAMPLE";
    ASSERT_EQ(pf__sigv4_sign(ctx, &in, sig, NULL, NULL), PF_OK);
    if (strcmp(sig, want) != 0)
        FAIL_AT("vector %s: signature %s, want %s", name, sig, want);
}

static void test_aws_suite(void)
{
    pf_ctx *ctx = pf_ctx_new();
    char *text = NULL, *line, *save = NULL;
    size_t len;
    char name[128] = "", method[16] = "", target[512] = "", body[512] = "";
    char hdrbuf[8][256];
    struct pf__sigv4_param hdr[8];
    size_t nhdr = 0;
    int vectors = 0, s3_example = 0;

    ASSERT_EQ(pf__read_text_file(ctx, vectors_path(), 1 << 20, &text, &len), PF_OK);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "vector ", 7) == 0) {
            pf__strlcpy(name, line + 7, sizeof name);
            nhdr = 0;
            body[0] = '\0';
        } else if (strncmp(line, "request ", 8) == 0) {
            ASSERT_EQ(sscanf(line + 8, "%15s %511s", method, target), 2);
        } else if (strncmp(line, "header ", 7) == 0) {
            char *colon;

            ASSERT(nhdr < 8);
            pf__strlcpy(hdrbuf[nhdr], line + 7, sizeof hdrbuf[nhdr]);
            colon = strchr(hdrbuf[nhdr], ':');
            ASSERT(colon != NULL);
            *colon = '\0';
            hdr[nhdr].name = hdrbuf[nhdr];
            hdr[nhdr].value = colon + 1;
            nhdr++;
        } else if (strncmp(line, "body ", 5) == 0) {
            pf__strlcpy(body, line + 5, sizeof body);
        } else if (strncmp(line, "signature ", 10) == 0) {
            check_vector(ctx, name, method, target, hdr, nhdr, body, line + 10);
            vectors++;
        } else if (strncmp(line, "s3-presigned-example ", 21) == 0) {
            /* S3 API reference, query-parameter authentication. */
            struct pf__aws_creds c;
            struct pf__presign p;
            char *url = NULL, want[200];

            memset(&c, 0, sizeof c);
            strcpy(c.access_key, "AKIAIOSFODNN7EXAMPLE");
            strcpy(c.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
            strcpy(c.region, "us-east-1");
            memset(&p, 0, sizeof p);
            p.method = "GET";
            p.base = "https://examplebucket.s3.amazonaws.com";
            p.path = "/test.txt";
            p.expires = 86400;
            p.now = 1369353600;     /* 2013-05-24T00:00:00Z */
            ASSERT_EQ(pf__sigv4_presign(ctx, &c, &p, &url), PF_OK);
            snprintf(want, sizeof want, "X-Amz-Signature=%s", line + 21);
            ASSERT_CONTAINS(url, want);
            ASSERT_STR_EQ(url,
                "https://examplebucket.s3.amazonaws.com/test.txt"
                "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
                "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
                "&X-Amz-SignedHeaders=host");
            free(url);
            s3_example = 1;
        }
    }
    ASSERT_EQ(vectors, 9);
    ASSERT_EQ(s3_example, 1);
    free(text);
    pf_ctx_free(ctx);
}

static void test_canonical_request(void)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__sigv4_param q[] = {{"Param1", "value2"}, {"Param1", "value1"}};
    struct pf__sigv4_param h[] = {{"Host", "example.amazonaws.com"},
                                  {"X-Amz-Date", "20150830T123600Z"}};
    struct pf__sigv4_input in;
    char sig[65], hash[65], *creq = NULL, *sts = NULL;

    /* get-vanilla-query-order-value's .creq and .sts, byte for byte. */
    pf__sha256_hex("", 0, hash);
    memset(&in, 0, sizeof in);
    in.method = "GET";
    in.path = "/";
    in.query = q;
    in.nquery = 2;
    in.headers = h;
    in.nheaders = 2;
    in.payload_hash = hash;
    in.amz_date = "20150830T123600Z";
    in.region = "us-east-1";
    in.service = "service";
    in.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    ASSERT_EQ(pf__sigv4_sign(ctx, &in, sig, &creq, &sts), PF_OK);
    ASSERT_STR_EQ(creq, "GET\n/\nParam1=value1&Param1=value2\n"
                        "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                        "host;x-amz-date\n"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ASSERT_CONTAINS(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n"
                         "20150830/us-east-1/service/aws4_request\n");
    free(creq);
    free(sts);
    pf_ctx_free(ctx);
}

static void set_creds(struct pf__aws_creds *c, const char *region, const char *endpoint,
                      const char *token)
{
    memset(c, 0, sizeof *c);
    strcpy(c->access_key, "AKIAIOSFODNN7EXAMPLE");
    strcpy(c->secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    strcpy(c->region, region);
    strcpy(c->endpoint, endpoint);
    strcpy(c->session_token, token);
}

static void test_locate(void)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__aws_creds c;
    char *base, *path;

    set_creds(&c, "eu-west-3", "", "");
    ASSERT_EQ(pf__s3_locate(ctx, &c, "media", "in/a.mp4", &base, &path), PF_OK);
    ASSERT_STR_EQ(base, "https://media.s3.eu-west-3.amazonaws.com");
    ASSERT_STR_EQ(path, "/in/a.mp4");
    free(base);
    free(path);
    /* Dots would break the certificate: path style. */
    ASSERT_EQ(pf__s3_locate(ctx, &c, "my.media", "a.mp4", &base, &path), PF_OK);
    ASSERT_STR_EQ(base, "https://s3.eu-west-3.amazonaws.com");
    ASSERT_STR_EQ(path, "/my.media/a.mp4");
    free(base);
    free(path);
    set_creds(&c, "auto", "http://127.0.0.1:9000", "");
    ASSERT_EQ(pf__s3_locate(ctx, &c, "media", "a.mp4", &base, &path), PF_OK);
    ASSERT_STR_EQ(base, "http://127.0.0.1:9000");
    ASSERT_STR_EQ(path, "/media/a.mp4");
    free(base);
    free(path);
    pf_ctx_free(ctx);
}

static void test_presign_rules(void)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__aws_creds c;
    struct pf__presign p;
    char *url = NULL;

    set_creds(&c, "us-east-1", "", "FQoG/token+=");
    memset(&p, 0, sizeof p);
    p.method = "PUT";
    p.base = "https://b.s3.us-east-1.amazonaws.com";
    p.path = "/dir/a b+c.mp4";
    p.content_type = "video/mp4";
    p.expires = 900;
    p.now = 1700000000;
    ASSERT_EQ(pf__sigv4_presign(ctx, &c, &p, &url), PF_OK);
    ASSERT_CONTAINS(url, "https://b.s3.us-east-1.amazonaws.com/dir/a%20b%2Bc.mp4?");
    ASSERT_CONTAINS(url, "&X-Amz-Security-Token=FQoG%2Ftoken%2B%3D&");
    ASSERT_CONTAINS(url, "&X-Amz-SignedHeaders=content-type%3Bhost");
    ASSERT_CONTAINS(url, "&X-Amz-Expires=900&");
    ASSERT_EQ(pf__presigned_expiry(url), 1700000000 + 900);
    free(url);

    p.expires = 604801;
    ASSERT_EQ(pf__sigv4_presign(ctx, &c, &p, &url), PF_EUSAGE);
    ASSERT(url == NULL);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "seven days");
    p.expires = 60;
    p.base = "nohost";
    ASSERT_EQ(pf__sigv4_presign(ctx, &c, &p, &url), PF_EUSAGE);

    ASSERT_EQ(pf__presigned_expiry("https://x/y?Expires=1700000000&Signature=a"), 1700000000);
    ASSERT_EQ(pf__presigned_expiry("https://x/y"), -1);
    ASSERT_EQ(pf__presigned_expiry("https://x/y?X-Amz-Date=2023&X-Amz-Expires=5"), -1);
    pf_ctx_free(ctx);
}

static void test_credentials(void)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__aws_creds c;
    char path[] = "/tmp/pf-creds-XXXXXX";
    int fd;
    FILE *f;

    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    ASSERT_EQ(pf__aws_creds_load(ctx, NULL, &c), PF_EAUTH);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "no AWS credentials in the environment");

    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/", 1);
    ASSERT_EQ(pf__aws_creds_load(ctx, NULL, &c), PF_OK);
    ASSERT_STR_EQ(c.access_key, "AKIDENV");
    ASSERT_STR_EQ(c.region, "us-east-1");
    ASSERT_STR_EQ(c.endpoint, "http://127.0.0.1:9000");
    setenv("AWS_ENDPOINT_URL_S3", "https://s3.example.test", 1);
    setenv("AWS_REGION", "eu-central-1", 1);
    ASSERT_EQ(pf__aws_creds_load(ctx, NULL, &c), PF_OK);
    ASSERT_STR_EQ(c.endpoint, "https://s3.example.test");
    ASSERT_STR_EQ(c.region, "eu-central-1");

    /* A file: its credentials, never mixed with the environment's. */
    fd = mkstemp(path);
    ASSERT(fd >= 0);
    f = fdopen(fd, "w");
    fputs("# an env file\nexport AWS_ACCESS_KEY_ID=AKIDFILE\n"
          "AWS_SECRET_ACCESS_KEY=\"file secret\"\n", f);
    fclose(f);
    ASSERT_EQ(pf__aws_creds_load(ctx, path, &c), PF_OK);
    ASSERT_STR_EQ(c.access_key, "AKIDFILE");
    ASSERT_STR_EQ(c.secret_key, "file secret");
    ASSERT_STR_EQ(c.session_token, "");
    ASSERT_STR_EQ(c.region, "eu-central-1");
    f = fopen(path, "w");
    fputs("[other]\naws_access_key_id = NOPE\n[default]\naws_access_key_id = AKIDINI\n"
          "aws_secret_access_key = inisecret\nregion = ap-south-1\n", f);
    fclose(f);
    ASSERT_EQ(pf__aws_creds_load(ctx, path, &c), PF_OK);
    ASSERT_STR_EQ(c.access_key, "AKIDINI");
    ASSERT_STR_EQ(c.region, "ap-south-1");
    f = fopen(path, "w");
    fputs("AWS_ACCESS_KEY_ID=AKIDONLY\n", f);
    fclose(f);
    ASSERT_EQ(pf__aws_creds_load(ctx, path, &c), PF_EAUTH);
    ASSERT_CONTAINS(pf_ctx_error(ctx), path);
    ASSERT(!strstr(pf_ctx_error(ctx), "AKIDONLY"));
    ASSERT_STR_EQ(c.access_key, "");    /* wiped on failure */
    unlink(path);
    pf__aws_creds_wipe(&c);
    pf_ctx_free(ctx);
}

/* Presigned URLs for sigv4-sdk.js to recompute with the AWS SDK. */
static int sdk_cases(void)
{
    static const struct {
        const char *method, *bucket, *key, *region, *endpoint, *token;
        int64_t expires;
        time_t now;
    } cases[] = {
        {"GET", "examplebucket", "test.txt", "us-east-1", "", "", 86400, 1369353600},
        {"PUT", "examplebucket", "test.txt", "us-east-1", "", "", 3600, 1369353600},
        {"PUT", "media", "in/9f86d081884c7d659a2feaa0c55ad015.mp4", "eu-west-3", "", "",
         900, 1700000000},
        {"GET", "media", "dir/a b+c&d=e~f.mp4", "ap-southeast-2", "", "", 604800, 1700000000},
        {"PUT", "media", "ሴ/é.png", "us-west-2", "", "", 60, 1800000000},
        {"GET", "media", "a.mp4", "us-east-1", "", "FQoGZXIvYXdzEPT//token+=", 3600,
         1700000000},
        {"HEAD", "media", "a.mp4", "us-east-1", "", "", 3600, 1700000000},
        {"PUT", "pf-test", "up/a.mp4", "us-east-1", "http://127.0.0.1:9000", "", 3600,
         1700000000},
        {"GET", "pf-test", "up/a b.mp4", "auto", "https://acct.r2.cloudflarestorage.com", "",
         7200, 1700000000},
        {"GET", "pf-test", "k", "us-east-1", "http://localhost:4569", "tok", 1, 1700000000},
    };
    pf_ctx *ctx = pf_ctx_new();

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pf__aws_creds c;
        /* What the SDK adds to every presigned S3 URL, signed. */
        struct pf__sigv4_param extra[] = {
            {"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"},
            {"x-id", strcmp(cases[i].method, "PUT") == 0 ? "PutObject" : "GetObject"},
        };
        struct pf__presign p;
        char *base, *path, *url;
        cJSON *o = cJSON_CreateObject();
        char *line;

        set_creds(&c, cases[i].region, cases[i].endpoint, cases[i].token);
        ASSERT_EQ(pf__s3_locate(ctx, &c, cases[i].bucket, cases[i].key, &base, &path),
                  PF_OK);
        memset(&p, 0, sizeof p);
        p.method = cases[i].method;
        p.base = base;
        p.path = path;
        p.expires = cases[i].expires;
        p.now = cases[i].now;
        p.extra = extra;
        p.nextra = strcmp(cases[i].method, "HEAD") == 0 ? 1 : 2;   /* no x-id */
        ASSERT_EQ(pf__sigv4_presign(ctx, &c, &p, &url), PF_OK);
        cJSON_AddStringToObject(o, "method", cases[i].method);
        cJSON_AddStringToObject(o, "bucket", cases[i].bucket);
        cJSON_AddStringToObject(o, "key", cases[i].key);
        cJSON_AddStringToObject(o, "region", cases[i].region);
        cJSON_AddStringToObject(o, "endpoint", cases[i].endpoint);
        cJSON_AddStringToObject(o, "access_key", c.access_key);
        cJSON_AddStringToObject(o, "secret_key", c.secret_key);
        cJSON_AddStringToObject(o, "session_token", cases[i].token);
        cJSON_AddNumberToObject(o, "expires", (double)cases[i].expires);
        cJSON_AddNumberToObject(o, "time", (double)cases[i].now);
        cJSON_AddStringToObject(o, "url", url);
        line = cJSON_PrintUnformatted(o);
        puts(line);
        free(line);
        cJSON_Delete(o);
        free(url);
        free(base);
        free(path);
    }
    pf_ctx_free(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--sdk-cases") == 0)
        return sdk_cases();
    RUN(test_aws_suite);
    RUN(test_canonical_request);
    RUN(test_locate);
    RUN(test_presign_rules);
    RUN(test_credentials);
    return 0;
}
