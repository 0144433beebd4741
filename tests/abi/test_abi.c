/*
 * The ABI promises of include/preflight.h, tested through the shared
 * library as a program outside the tree would use it: the version the
 * library reports, and the caller-allocated structs carrying their size. An
 * "older program" is simulated by a size that covers only a prefix of the
 * struct, with a canary after it that the library must not touch; a
 * "newer program" by a struct with bytes past this library's.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>

#include "preflight.h"
#include "../test.h"

static pf_ctx *ctx;

static int program_log_lines;

static void program_log(void *avcl, int level, const char *fmt, va_list vl)
{
    (void)avcl, (void)level, (void)fmt, (void)vl;
    program_log_lines++;
}

/* Before anything else in the process: the program's flags are the ones
 * that hold, later calls change nothing, and each flag does what the
 * header says: PREFLIGHT_RULES_DIR pointing nowhere is ignored, and
 * FFmpeg's log level and callback stay the program's through a probe that
 * makes libavformat complain. */
static void test_global_init(void)
{
    pf_schema *s = NULL;
    pf_media_info info = PF_MEDIA_INFO_INIT;

    av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(program_log);
    setenv("PREFLIGHT_RULES_DIR", "/nonexistent/rules", 1);
    ASSERT_EQ(pf_global_init(PF_GLOBAL_IGNORE_ENV | PF_GLOBAL_KEEP_AV_LOG), PF_OK);
    ASSERT_EQ(pf_global_init(PF_GLOBAL_DEFAULT), PF_OK);
    ctx = pf_ctx_new();
    ASSERT(ctx != NULL);
    ASSERT_EQ(pf_schema_load_model(ctx, "runwayml/runway-aleph/video-to-video", &s), PF_OK);
    pf_schema_free(s);
    ASSERT_EQ(pf_probe(ctx, CORRUPT("truncated_moov.mp4"), &info) != PF_OK, 1);
    ASSERT_EQ(av_log_get_level(), AV_LOG_ERROR);
    ASSERT_INT(program_log_lines, >, 0);
}

static void test_version(void)
{
    char num[32];

    ASSERT_STR_EQ(pf_version(), PF_VERSION);
    ASSERT_EQ(pf_version_num(), (unsigned)PF_VERSION_NUM);
    snprintf(num, sizeof num, "%d.%d.%d", PF_VERSION_MAJOR, PF_VERSION_MINOR,
             PF_VERSION_PATCH);
    ASSERT_STR_EQ(num, PF_VERSION);
    ASSERT(PF_VERSION_NUM == ((PF_VERSION_MAJOR << 16) | (PF_VERSION_MINOR << 8) |
                              PF_VERSION_PATCH));
}

/* An older program knew pf_media_info up to codec: pf_probe fills what it
 * knew and leaves the bytes after it alone. */
static void test_probe_short_struct(void)
{
    size_t old_size = offsetof(pf_media_info, width);
    unsigned char *buf = malloc(sizeof(pf_media_info) + 64);
    pf_media_info *info = (pf_media_info *)buf;
    char *json;

    ASSERT(buf != NULL);
    memset(buf, 0xA5, sizeof(pf_media_info) + 64);
    info->size = old_size;
    ASSERT_EQ(pf_probe(ctx, FIXTURE("jpg_640x480.jpg"), info), PF_OK);
    ASSERT_EQ(info->size, old_size);
    ASSERT_EQ(info->kind, PF_MEDIA_IMAGE);
    ASSERT_STR_EQ(info->format, "jpeg");
    for (size_t i = old_size; i < sizeof(pf_media_info) + 64; i++)
        if (buf[i] != 0xA5)
            FAIL_AT("pf_probe wrote byte %zu of a %zu-byte struct", i, old_size);
    /* Its JSON has what it knew, and unknown (null) for the rest. */
    json = pf_media_info_to_json(info);
    ASSERT(json != NULL);
    ASSERT_CONTAINS(json, "\"format\":\"jpeg\"");
    ASSERT_CONTAINS(json, "\"width\":null");
    pf_free(json);

    /* Failing, it zeroes only its own prefix too. */
    memset(buf, 0xA5, sizeof(pf_media_info) + 64);
    info->size = old_size;
    ASSERT_EQ(pf_probe(ctx, FIXTURE("no-such-file.jpg"), info), PF_ENOENT);
    ASSERT_EQ(info->kind, PF_MEDIA_UNKNOWN);
    ASSERT_EQ(info->size, old_size);
    for (size_t i = old_size; i < sizeof(pf_media_info) + 64; i++)
        if (buf[i] != 0xA5)
            FAIL_AT("failing pf_probe wrote byte %zu of a %zu-byte struct", i, old_size);
    free(buf);
}

/* A newer program's longer struct: the fields this library does not know
 * are zeroed; an unset size is refused before anything is written. */
static void test_probe_long_and_unset(void)
{
    size_t big = sizeof(pf_media_info) + 32;
    unsigned char *buf = malloc(big);
    pf_media_info *info = (pf_media_info *)buf;

    ASSERT(buf != NULL);
    memset(buf, 0xA5, big);
    info->size = big;
    ASSERT_EQ(pf_probe(ctx, FIXTURE("jpg_640x480.jpg"), info), PF_OK);
    ASSERT_EQ(info->width, 640);
    ASSERT_EQ(info->size, big);
    for (size_t i = sizeof(pf_media_info); i < big; i++)
        ASSERT_EQ(buf[i], 0);

    memset(buf, 0xA5, big);
    info->size = 0;
    ASSERT_EQ(pf_probe(ctx, FIXTURE("jpg_640x480.jpg"), info), PF_EUSAGE);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "pf_media_info_init");
    ASSERT_EQ(buf[sizeof(size_t)], 0xA5);
    free(buf);
}

/* Options: NULL and an initialised struct are the defaults; size 0 and a
 * newer struct with unknown fields set are refused; a newer struct whose
 * unknown fields are zero, and an older, shorter one, are accepted. */
static void test_options(const char *dir)
{
    size_t big = sizeof(pf_jobs_options) + 16;
    unsigned char *buf = calloc(1, big);
    pf_jobs_options *o = (pf_jobs_options *)buf, init = PF_JOBS_OPTIONS_INIT, fn;
    pf_jobs *jobs;

    ASSERT(buf != NULL);
    pf_jobs_options_init(&fn);
    ASSERT(memcmp(&init, &fn, sizeof fn) == 0);
    ASSERT_EQ(init.size, sizeof init);

    o->state_dir = dir;
    o->size = 0;
    ASSERT_EQ(pf_jobs_open(ctx, o, &jobs), PF_EUSAGE);
    ASSERT(jobs == NULL);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "pf_jobs_options");

    o->size = big;
    buf[big - 1] = 1;
    ASSERT_EQ(pf_jobs_open(ctx, o, &jobs), PF_EUSAGE);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "newer preflight.h");
    buf[big - 1] = 0;
    ASSERT_EQ(pf_jobs_open(ctx, o, &jobs), PF_OK);
    ASSERT_CONTAINS(pf_jobs_ledger_path(jobs), dir);
    pf_jobs_close(jobs);

    /* An older program's struct ends before token_file: poll_ms and the
     * rest past its size are not read (0xFF there would be nonsense). */
    memset(buf, 0xFF, big);
    o->size = offsetof(pf_jobs_options, token_file);
    o->state_dir = dir;
    o->base_url = NULL;
    ASSERT_EQ(pf_jobs_open(ctx, o, &jobs), PF_OK);
    pf_jobs_close(jobs);
    free(buf);

    {
        pf_fix_options f = PF_FIX_OPTIONS_INIT;
        pf_fix_result *r = NULL;
        pf_schema *s = NULL;
        pf_request *req = pf_request_new();

        ASSERT_EQ(pf_schema_load_model(ctx, "runwayml/runway-aleph/video-to-video", &s), PF_OK);
        f.size = 0;
        ASSERT_EQ(pf_fix(ctx, s, req, dir, &f, &r), PF_EUSAGE);
        ASSERT(r == NULL);
        ASSERT_CONTAINS(pf_ctx_error(ctx), "pf_fix_options_init");
        pf_request_free(req);
        pf_schema_free(s);
    }
}

int main(void)
{
    char dir[] = "/tmp/pf-abi-XXXXXX";

    RUN(test_global_init);
    ASSERT(mkdtemp(dir) != NULL);
    RUN(test_version);
    RUN(test_probe_short_struct);
    RUN(test_probe_long_and_unset);
    test_options(dir);
    pf_ctx_free(ctx);
    {
        char cmd[64];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return 1;
    }
    fprintf(stderr, "abi: ok\n");
    return 0;
}
