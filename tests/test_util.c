/* Core helpers: UTF-8 counting, number formatting, URL redaction, errors. */
#include "core/internal.h"
#include "test.h"

static void test_utf8(void)
{
    ASSERT_EQ(pf__utf8_length(""), 0);
    ASSERT_EQ(pf__utf8_length("abc"), 3);
    ASSERT_EQ(pf__utf8_length("日本語"), 3);          /* 9 bytes */
    ASSERT_EQ(pf__utf8_length("é😀"), 2);
    ASSERT_EQ(pf__utf8_length("\xC3"), -1);           /* truncated */
    ASSERT_EQ(pf__utf8_length("\xC0\xAF"), -1);       /* overlong */
    ASSERT_EQ(pf__utf8_length("\xED\xA0\x80"), -1);   /* surrogate */
    ASSERT_EQ(pf__utf8_length("\xFF"), -1);
}

static void test_numbers(void)
{
    char buf[64];

    pf__format_number(buf, sizeof buf, 16);
    ASSERT_STR_EQ(buf, "16");
    pf__format_number(buf, sizeof buf, 4.7);
    ASSERT_STR_EQ(buf, "4.7");
    pf__format_number(buf, sizeof buf, 0.33);
    ASSERT_STR_EQ(buf, "0.33");
    pf__format_number(buf, sizeof buf, 4294967295.0);
    ASSERT_STR_EQ(buf, "4294967295");
}

static void test_sizes(void)
{
    char buf[32];

    pf_format_size(buf, sizeof buf, 4699999);   /* under "< 4.7 MB": never 4.70 */
    ASSERT_STR_EQ(buf, "4.69 MB");
    pf_format_size(buf, sizeof buf, 4700000);
    ASSERT_STR_EQ(buf, "4.70 MB");
    pf_format_size(buf, sizeof buf, 999);
    ASSERT_STR_EQ(buf, "999 bytes");
    pf_format_size(buf, sizeof buf, 30828);
    ASSERT_STR_EQ(buf, "30.8 kB");
    pf_format_size(buf, sizeof buf, -1);
    ASSERT_STR_EQ(buf, "? bytes");
}

static void test_redact(void)
{
    char buf[256];

    pf__redact_url(buf, sizeof buf,
                   "https://bucket.s3.amazonaws.com/a.mp4?X-Amz-Signature=secret123");
    ASSERT_STR_EQ(buf, "https://bucket.s3.amazonaws.com/a.mp4?...");
    pf__redact_url(buf, sizeof buf, "https://user:pass@host/x.jpg");
    ASSERT_STR_EQ(buf, "https://***@host/x.jpg");
    pf__redact_url(buf, sizeof buf, "data:image/png;base64,iVBORw0KGgo=");
    ASSERT_STR_EQ(buf, "data:image/png;base64,...");
    pf__redact_url(buf, sizeof buf, "https://host/plain.jpg");
    ASSERT_STR_EQ(buf, "https://host/plain.jpg");
    /* No scheme, and a "://" inside the query (fuzz_url): the query still
     * goes, it was kept whole. */
    pf__redact_url(buf, sizeof buf,
                   "bucket.s3.amazonaws.com/a.mp4?X-Amz-Signature=s3cret&next=https://h/p");
    ASSERT_STR_EQ(buf, "bucket.s3.amazonaws.com/a.mp4?...");

    /* URLs inside prose: each one, wherever it ends, and only those. */
    pf__strlcpy(buf, "fetching \"https://b.example/a.mp4?X-Amz-Signature=s1\" failed "
                "(HTTP://x:y@h/p?sig=s2); see https://docs.example/e?id=3.", sizeof buf);
    pf__redact_text(buf, sizeof buf);
    ASSERT_STR_EQ(buf, "fetching \"https://b.example/a.mp4?...\" failed "
                  "(HTTP://***@h/p?...); see https://docs.example/e?....");
    pf__strlcpy(buf, "no URL? none: ftp://h/x?q=1 and data:a?b", sizeof buf);
    pf__redact_text(buf, sizeof buf);
    ASSERT_STR_EQ(buf, "no URL? none: ftp://h/x?q=1 and data:a?b");
    pf__strlcpy(buf, "already https://h/p?...: and https://h/q?....", sizeof buf);
    pf__redact_text(buf, sizeof buf);
    ASSERT_STR_EQ(buf, "already https://h/p?...: and https://h/q?....");
    pf__strlcpy(buf, "https://h/a?sig=1: failed", sizeof buf);
    pf__redact_text(buf, sizeof buf);
    ASSERT_STR_EQ(buf, "https://h/a?...: failed");
}

static void test_errors(void)
{
    pf_ctx *ctx = pf_ctx_new();

    ASSERT_STR_EQ(pf_err_name(PF_OK), "ok");
    ASSERT_STR_EQ(pf_err_name(PF_ENOENT), "not_found");
    ASSERT_STR_EQ(pf_err_name(PF_ECORRUPT), "corrupt");
    ASSERT_STR_EQ(pf_err_name((pf_err)999), "unknown");
    ASSERT_STR_EQ(pf_ctx_error(ctx), "");
    ASSERT_EQ(pf__error(ctx, PF_EFORMAT, "%s: bad", "x.jpg"), PF_EFORMAT);
    ASSERT_STR_EQ(pf_ctx_error(ctx), "x.jpg: bad");
    pf_ctx_free(ctx);
    pf_ctx_free(NULL);
}

int main(void)
{
    RUN(test_utf8);
    RUN(test_numbers);
    RUN(test_sizes);
    RUN(test_redact);
    RUN(test_errors);
    return 0;
}
