/*
 * fal's schema dialect: the twelve sample documents load (as --schema files
 * and as bundled models), every x-fal limit on every media field of every
 * bundled document is checked at and around its bound with files made here
 * by the ffmpeg CLI (and tools/fixture_tools.py for exact sizes and header
 * dimensions), per element on arrays, orientation-free ratios, prose-only
 * limits, unknown keys, JSON Schema as fal writes it, and the fixer.
 */
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/rules_internal.h"
#include "test.h"

static const char *const endpoints[] = {
    "clarityai/crystal-upscaler",
    "fal-ai/flux-kontext-lora",
    "fal-ai/kling-video/lipsync/audio-to-video",
    "fal-ai/kling-video/o1/video-to-video/edit",
    "fal-ai/kling-video/v2.6/pro/image-to-video",
    "fal-ai/kling-video/v2.6/pro/motion-control",
    "fal-ai/meshy/v5/multi-image-to-3d",
    "fal-ai/moondream3-preview/detect",
    "fal-ai/reve/edit",
    "fal-ai/veo3.1/image-to-video",
    "fal-ai/wan-25-preview/image-to-video",
    "wan/v2.6/reference-to-video",
};
#define N_ENDPOINTS (sizeof endpoints / sizeof endpoints[0])

static char *dir;               /* this run's fixtures */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        FAIL_AT("command failed: %s", cmd);
}

static const char *tool(void)
{
    return pf_test_path("PF_SOURCE_DIR", "tools/fixture_tools.py");
}

static pf_schema *load_model(const char *endpoint)
{
    pf_ctx *ctx = pf_ctx_new();
    pf_schema *s = NULL;
    char id[512];

    snprintf(id, sizeof id, "fal:%s", endpoint);
    if (pf_schema_load_model(ctx, id, &s) != PF_OK)
        FAIL_AT("%s: %s", id, pf_ctx_error(ctx));
    pf_ctx_free(ctx);
    return s;
}

static pf_schema *load_text(const char *text, const char *name)
{
    pf_ctx *ctx = pf_ctx_new();
    pf_schema *s = NULL;

    if (pf_schema_load_text(ctx, text, strlen(text), name, &s) != PF_OK)
        FAIL_AT("%s: %s", name, pf_ctx_error(ctx));
    pf_ctx_free(ctx);
    return s;
}

/* The check of one value at a concrete path; the caller frees it. */
static pf_report *check_media(const pf_schema *s, const char *path, const char *file)
{
    pf_ctx *ctx = pf_ctx_new();
    pf_report *r = NULL;

    if (pf__check_media(ctx, s, path, file, &r) != PF_OK)
        FAIL_AT("%s %s: %s", path, file, pf_ctx_error(ctx));
    pf_ctx_free(ctx);
    return r;
}

static const pf_violation *violation_of(const pf_report *r, const char *rule)
{
    for (size_t i = 0; i < pf_report_violation_count(r); i++)
        if (strcmp(pf_report_violation(r, i)->rule, rule) == 0)
            return pf_report_violation(r, i);
    return NULL;
}

static int warned(const pf_report *r, const char *needle)
{
    for (size_t i = 0; i < pf_report_warning_count(r); i++)
        if (strstr(pf_report_warning(r, i)->message, needle))
            return 1;
    return 0;
}

/* ---- fixtures ---- */

static const char *image(int w, int h)
{
    static char path[8][512];
    static int slot;
    char *p = path[slot++ % 8];

    snprintf(p, 512, "%s/i%dx%d.jpg", dir, w, h);
    if (access(p, F_OK) != 0) {
        /* Beyond what is quick to encode, the header says the size: the
         * probe reads it there (fixture_tools set-dims). */
        if ((double)w * h > 40e6) {
            sh("ffmpeg -loglevel error -y -f lavfi -i testsrc=size=16x16 -frames:v 1 "
               "'%s/base.jpg' && python3 '%s' set-dims '%s/base.jpg' '%s' %d %d",
               dir, tool(), dir, p, w, h);
        } else {
            sh("ffmpeg -loglevel error -y -f lavfi -i testsrc=size=%dx%d -frames:v 1 '%s'",
               w, h, p);
        }
    }
    return p;
}

/* A video of frames frames at fps, w×h (4:4:4 so that odd sizes work). */
static const char *video(int w, int h, int fps, int frames)
{
    static char path[8][512];
    static int slot;
    char *p = path[slot++ % 8];

    snprintf(p, 512, "%s/v%dx%d-%d-%d.mp4", dir, w, h, fps, frames);
    if (access(p, F_OK) != 0)
        sh("ffmpeg -loglevel error -y -f lavfi -i testsrc=size=%dx%d:rate=%d -frames:v %d "
           "-c:v libx264 -preset ultrafast -bf 0 -pix_fmt yuv444p -movflags +faststart '%s'",
           w, h, fps, frames, p);
    return p;
}

static const char *audio(double seconds)
{
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];

    snprintf(p, 512, "%s/a%.3f.wav", dir, seconds);
    if (access(p, F_OK) != 0)
        sh("ffmpeg -loglevel error -y -f lavfi -i sine=frequency=440:sample_rate=8000:"
           "duration=%.3f '%s'", seconds, p);
    return p;
}

/* A valid file of exactly bytes bytes (padded), replacing the last one. */
static const char *sized(pf_media_kind kind, int64_t bytes)
{
    static char path[512];
    char base[600];

    /* A PNG's padding goes before IEND, after the header the probe reads
     * (a JPEG's would go in front of it). */
    if (kind == PF_MEDIA_VIDEO) {
        pf__strlcpy(base, video(64, 64, 20, 60), sizeof base);
    } else {
        snprintf(base, sizeof base, "%s/base.png", dir);
        if (access(base, F_OK) != 0)
            sh("ffmpeg -loglevel error -y -f lavfi -i testsrc=size=64x64 -frames:v 1 '%s'",
               base);
    }
    snprintf(path, sizeof path, "%s/sized%s", dir, kind == PF_MEDIA_VIDEO ? ".mp4" : ".png");
    sh("python3 '%s' pad '%s' %lld -o '%s'", tool(), base, (long long)bytes, path);
    return path;
}

/* ---- every x-fal limit of every bundled document ---- */

struct probe_point {
    const char *file;
    int fails;                  /* the rule must report a violation */
};

/* Files at, below and above the bound of rule r on a field of kind k,
 * with what an inclusive bound makes of each. Returns how many. */
static int points_for(const struct pf__media_rule *r, pf_media_kind k,
                      struct probe_point pts[8])
{
    int lower = r->op == PF__OP_GE, n = 0;
    double v = r->number;
    int iv = (int)lround(v);

    switch (r->id) {
    case PF__M_WIDTH:
    case PF__M_HEIGHT:
        for (int step = -1; step <= 1; step++) {
            int side = iv + step, other = 16;
            int w = r->id == PF__M_WIDTH ? side : other, h = r->id == PF__M_WIDTH ? other : side;

            pts[n].file = k == PF_MEDIA_VIDEO ? video(w, h, 25, 1) : image(w, h);
            pts[n++].fails = lower ? step < 0 : step > 0;
        }
        break;
    case PF__M_FILE_SIZE_BYTES:
        /* One at a time: the files are as large as the limits. */
        return -1;
    case PF__M_SHORT_LONG:      /* min_aspect_ratio: short/long >= v */
    case PF__M_LONG_SHORT: {    /* max_aspect_ratio: long/short <= v */
        /* short side 400 and long side 400/v (or 400*v): both orientations */
        double ratio = r->id == PF__M_SHORT_LONG ? 1.0 / v : v;
        int s = 400, l = (int)lround(s * ratio);

        ASSERT_DBL_EQ((double)l / s, ratio, 1e-9);
        for (int step = -1; step <= 1; step++) {
            pts[n].file = image(l + step, s);
            pts[n++].fails = step > 0;
            pts[n].file = image(s, l + step);
            pts[n++].fails = step > 0;
        }
        break;
    }
    case PF__M_PIXELS: {
        /* w×h just under, at (when it factors) and just over the limit */
        int64_t limit = (int64_t)v, best_lo = 0, best_hi = INT64_MAX;
        int lo_w = 0, hi_w = 0;

        for (int w = 12000; w < 14000; w++) {
            int64_t h = limit / w, lo = (int64_t)w * h, hi = (int64_t)w * (h + 1);

            if (lo > best_lo) { best_lo = lo; lo_w = w; }
            if (hi < best_hi) { best_hi = hi; hi_w = w; }
        }
        pts[n].file = image(lo_w, (int)(best_lo / lo_w));
        pts[n++].fails = best_lo > limit;
        pts[n].file = image(hi_w, (int)(best_hi / hi_w));
        pts[n++].fails = 1;
        break;
    }
    case PF__M_DURATION:
        /* 20 fps: every bound in the documents is a whole number of frames */
        ASSERT_DBL_EQ(v * 20, round(v * 20), 1e-9);
        for (int step = -1; step <= 1; step++) {
            int frames = (int)lround(v * 20) + step;

            pts[n].file = k == PF_MEDIA_AUDIO ? audio(frames / 20.0)
                                              : video(64, 64, 20, frames);
            pts[n++].fails = lower ? step < 0 : step > 0;
        }
        break;
    case PF__M_FPS:
        for (int step = -1; step <= 1; step++) {
            pts[n].file = video(64, 64, iv + step, 10);
            pts[n++].fails = lower ? step < 0 : step > 0;
        }
        break;
    case PF__M_FRAME_COUNT:
        for (int step = -1; step <= 1; step++) {
            pts[n].file = video(64, 64, 25, iv + step);
            pts[n++].fails = lower ? step < 0 : step > 0;
        }
        break;
    default:
        FAIL_AT("%s: no fixture for metric %s", r->key, r->metric);
    }
    return n;
}

/* A concrete path for a field's pattern: "elements[].x[]" -> "elements[0].x[0]". */
static void concrete(const char *pattern, char *out, size_t size)
{
    size_t n = 0;

    for (const char *p = pattern; *p && n + 4 < size; p++) {
        if (p[0] == '[' && p[1] == ']') {
            memcpy(out + n, "[0]", 3);
            n += 3;
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

static int expect_rule(const pf_schema *s, const char *path, const struct pf__media_rule *r,
                       const char *file, int fails)
{
    pf_report *rep = check_media(s, path, file);
    const pf_violation *v = violation_of(rep, r->key);

    if (!!v != !!fails) {
        char *json = pf_report_to_json(rep);

        FAIL_AT("%s %s %s %g on %s: expected %s: %s", s->model, path, r->key, r->number,
                file, fails ? "a violation" : "none", json);
    }
    if (v) {
        /* rule = the key as written; the limit exact; fal's own words */
        ASSERT_STR_EQ(v->rule, r->key);
        ASSERT(v->actual);
        ASSERT(strtod(v->limit, NULL) == r->number);
        ASSERT_STR_EQ(v->message, r->message);
    }
    pf_report_free(rep);
    return 1;
}

static void test_every_xfal_limit(void)
{
    int checked = 0, rules = 0;

    for (size_t e = 0; e < N_ENDPOINTS; e++) {
        pf_schema *s = load_model(endpoints[e]);

        for (size_t i = 0; i < s->media_count; i++) {
            const struct pf__media_field *m = &s->media[i];
            char path[512];

            concrete(m->path, path, sizeof path);
            for (size_t j = 0; j < m->rule_count; j++) {
                const struct pf__media_rule *r = &m->rules[j];
                struct probe_point pts[8];
                int n;

                if (r->id == PF__M_URL_SCHEME)
                    continue;
                ASSERT_EQ(r->state, PF__RULE_OK);
                rules++;
                if ((n = points_for(r, m->kind, pts)) < 0) {
                    /* max_file_size: exact bytes, however fal's prose
                     * rounds them ("100.0MB" is 104,857,600). */
                    int64_t b = (int64_t)r->number;

                    ASSERT_EQ(r->op, PF__OP_LE);
                    checked += expect_rule(s, path, r, sized(m->kind, b - 1), 0);
                    checked += expect_rule(s, path, r, sized(m->kind, b), 0);
                    checked += expect_rule(s, path, r, sized(m->kind, b + 1), 1);
                    continue;
                }
                for (int p = 0; p < n; p++)
                    checked += expect_rule(s, path, r, pts[p].file, pts[p].fails);
            }
        }
        pf_schema_free(s);
    }
    {
        char big[600];

        snprintf(big, sizeof big, "%s/sized.png", dir);
        unlink(big);
        snprintf(big, sizeof big, "%s/sized.mp4", dir);
        unlink(big);
    }
    fprintf(stderr, "   %d x-fal limits, %d checks\n", rules, checked);
    /* The twelve documents carry 70 limits on media fields (timeout aside). */
    ASSERT_EQ(rules, 70);
    ASSERT(checked >= rules * 2);
}

/* ---- loading ---- */

static void test_twelve_documents_load(void)
{
    for (size_t e = 0; e < N_ENDPOINTS; e++) {
        char file[1024], name[512];
        pf_ctx *ctx = pf_ctx_new();
        pf_schema *doc = NULL, *bundled = load_model(endpoints[e]);

        pf__strlcpy(name, endpoints[e], sizeof name);
        for (char *p = name; *p; p++)
            if (*p == '/')
                *p = '\0', memmove(p + 2, p + 1, strlen(p + 1) + 1), p[0] = '_', p[1] = '_';
        snprintf(file, sizeof file, "%s/../shared/schemas/fal/%s.json",
                 getenv("PF_SOURCE_DIR"), name);
        if (pf_schema_load_file(ctx, file, NULL, &doc) != PF_OK)
            FAIL_AT("%s: %s", file, pf_ctx_error(ctx));
        /* by content, as fal serves it: provider and endpoint id */
        ASSERT_STR_EQ(pf_schema_provider(doc), "fal");
        ASSERT_STR_EQ(pf_schema_model(doc), endpoints[e]);
        ASSERT_STR_EQ(pf__schema_endpoint(doc), endpoints[e]);
        ASSERT_STR_EQ(pf__schema_endpoint(bundled), endpoints[e]);
        ASSERT_STR_EQ(pf_schema_provider(bundled), "fal");
        ASSERT(doc->media_count > 0);
        /* the bundle is the document: the same fields, rules and prose */
        ASSERT_EQ(doc->media_count, bundled->media_count);
        for (size_t i = 0; i < doc->media_count; i++) {
            ASSERT_STR_EQ(doc->media[i].path, bundled->media[i].path);
            ASSERT_EQ(doc->media[i].rule_count, bundled->media[i].rule_count);
            ASSERT_EQ(doc->media[i].prose_count, bundled->media[i].prose_count);
        }
        /* whole documents carry the COMPLETED result's schema */
        ASSERT_EQ(!!pf__schema_output(doc), !!strstr(endpoints[e], "kling") ||
                  strstr(endpoints[e], "meshy") || strstr(endpoints[e], "moondream") ||
                  strstr(endpoints[e], "veo") || strstr(endpoints[e], "wan"));
        pf_schema_free(doc);
        pf_schema_free(bundled);
        pf_ctx_free(ctx);
    }
}

/* ---- orientation-free ratios, per element, nested paths ---- */

static void test_orientation_free_ratio(void)
{
    pf_schema *s = load_model("fal-ai/kling-video/v2.6/pro/image-to-video");
    pf_report *r;

    r = check_media(s, "start_image_url", image(1000, 2600));
    ASSERT(violation_of(r, "max_aspect_ratio"));
    ASSERT(violation_of(r, "min_aspect_ratio"));
    pf_report_free(r);
    r = check_media(s, "start_image_url", image(2600, 1000));
    ASSERT(violation_of(r, "max_aspect_ratio"));
    ASSERT_STR_EQ(violation_of(r, "max_aspect_ratio")->actual, "2.6");
    ASSERT_STR_EQ(violation_of(r, "max_aspect_ratio")->message, "Max aspect ratio: 2.50");
    pf_report_free(r);
    r = check_media(s, "start_image_url", image(1000, 2500));
    ASSERT_EQ(pf_report_violation_count(r), 0);
    pf_report_free(r);
    r = check_media(s, "start_image_url", image(2500, 1000));
    ASSERT_EQ(pf_report_violation_count(r), 0);
    pf_report_free(r);
    pf_schema_free(s);
}

static pf_report *check_request(const pf_schema *s, const char *json)
{
    pf_ctx *ctx = pf_ctx_new();
    pf_request *req = pf_request_new();
    pf_report *r = NULL;
    char file[600];
    FILE *f;

    snprintf(file, sizeof file, "%s/request.json", dir);
    ASSERT((f = fopen(file, "w")));
    fputs(json, f);
    fclose(f);
    ASSERT_EQ(pf_request_load_file(ctx, req, file), PF_OK);
    if (pf_check(ctx, s, req, &r) != PF_OK)
        FAIL_AT("check: %s", pf_ctx_error(ctx));
    pf_request_free(req);
    pf_ctx_free(ctx);
    return r;
}

static const pf_violation *violation_at(const pf_report *r, const char *field,
                                        const char *rule)
{
    for (size_t i = 0; i < pf_report_violation_count(r); i++) {
        const pf_violation *v = pf_report_violation(r, i);

        if (strcmp(v->field, field) == 0 && strcmp(v->rule, rule) == 0)
            return v;
    }
    return NULL;
}

static void test_per_element_and_nested(void)
{
    pf_schema *s = load_model("fal-ai/kling-video/o1/video-to-video/edit");
    char json[4096];
    pf_report *r;

    snprintf(json, sizeof json,
             "{\"prompt\":\"x\",\"video_url\":\"%s\",\"image_urls\":[\"%s\",\"%s\"],"
             "\"elements\":[{\"frontal_image_url\":\"%s\",\"reference_image_urls\":"
             "[\"%s\",\"%s\"]},{\"reference_image_urls\":[\"%s\"]}]}",
             video(720, 720, 24, 72), image(300, 300), image(299, 300),
             image(300, 750), image(300, 300), image(300, 751), image(300, 300));
    r = check_request(s, json);
    /* each element judged alone, reported at its own path */
    ASSERT(!violation_at(r, "image_urls[0]", "min_width"));
    ASSERT(violation_at(r, "image_urls[1]", "min_width"));
    ASSERT(!violation_at(r, "elements[0].frontal_image_url", "max_aspect_ratio"));
    ASSERT(!violation_at(r, "elements[0].reference_image_urls[0]", "max_aspect_ratio"));
    ASSERT(violation_at(r, "elements[0].reference_image_urls[1]", "max_aspect_ratio"));
    /* the nested object's own required member */
    ASSERT(violation_at(r, "elements[1].frontal_image_url", "required"));
    /* 300×751 breaks both orientation-free bounds (they say the same) */
    ASSERT(violation_at(r, "elements[0].reference_image_urls[1]", "min_aspect_ratio"));
    if (pf_report_violation_count(r) != 4)
        FAIL_AT("%s", pf_report_to_json(r));
    pf_report_free(r);
    pf_schema_free(s);
}

/* ---- prose, unknown keys ---- */

static void test_prose_only_limits(void)
{
    pf_schema *s = load_model("fal-ai/kling-video/lipsync/audio-to-video");
    pf_schema *w = load_model("wan/v2.6/reference-to-video");
    pf_schema *k = load_model("fal-ai/kling-video/v2.6/pro/image-to-video");
    pf_report *r;
    char json[2048];

    snprintf(json, sizeof json, "{\"video_url\":\"%s\",\"audio_url\":\"%s\"}",
             video(720, 720, 25, 75), audio(3));
    r = check_request(s, json);
    ASSERT(warned(r, "not checked"));
    ASSERT(warned(r, "\"Supports .mp4/.mov, ≤100MB, 2–10s, 720p/1080p only, "
                  "width/height 720–1920px.\""));
    ASSERT(warned(r, "\"Minimum duration is 2s and maximum duration is 60s.\""));
    ASSERT(warned(r, "\"Maximum file size is 5MB.\""));
    /* prose is never a check: nothing fails on it */
    ASSERT_EQ(pf_report_violation_count(r), 0);
    pf_report_free(r);

    snprintf(json, sizeof json, "{\"prompt\":\"x\",\"video_urls\":[\"%s\"]}",
             video(64, 64, 20, 60));
    r = check_request(w, json);
    ASSERT(warned(r, "\"Reference videos for subject consistency (1-3 videos).\""));
    ASSERT(warned(r, "\"Videos' FPS must be at least 16 FPS.\""));
    /* the items' limit sentence restates x-fal: no warning for it */
    ASSERT(!warned(r, "Max file size"));
    pf_report_free(r);

    /* a field whose every sentence is covered by its rules: silence */
    snprintf(json, sizeof json, "{\"prompt\":\"x\",\"start_image_url\":\"%s\"}",
             image(1000, 1000));
    r = check_request(k, json);
    ASSERT_EQ(pf_report_warning_count(r), 0);
    ASSERT_EQ(pf_report_violation_count(r), 0);
    pf_report_free(r);
    pf_schema_free(s);
    pf_schema_free(w);
    pf_schema_free(k);
}

/* The forms the issue quotes, each read as the kind of limit it states. */
static void test_prose_kinds(void)
{
    static const char *const others[] = { "character_orientation", NULL };

    ASSERT(pf__prose_kinds("Reference videos (1-3 videos).", NULL) & PF__PROSE_COUNT);
    ASSERT(pf__prose_kinds("Must be between 2 and 10 seconds.", NULL) & PF__PROSE_DURATION);
    ASSERT(pf__prose_kinds("Max 5MB.", NULL) & PF__PROSE_SIZE);
    ASSERT(pf__prose_kinds(".mp4/.mov only", NULL) & PF__PROSE_FORMAT);
    ASSERT(pf__prose_kinds("The resolution must be between 128x128 and 5000x5000.", NULL) &
           PF__PROSE_DIMENSIONS);
    ASSERT(pf__prose_kinds("Maximum 7 total (elements + reference images + start image)",
                           NULL) & PF__PROSE_CROSS);
    ASSERT(pf__prose_kinds("10s max for 'image', depending on character_orientation",
                           others) & PF__PROSE_CROSS);
    ASSERT(pf__prose_kinds("Should be 720p or higher in 16:9 or 9:16.", NULL) ==
           (PF__PROSE_DIMENSIONS | PF__PROSE_ASPECT));
    /* what states no limit, and fal's own restatement of its timeout */
    ASSERT_EQ(pf__prose_kinds("URL of the image to be used for the video", NULL), 0);
    ASSERT_EQ(pf__prose_kinds("Timeout: 20.0s", NULL), 0);
    ASSERT_EQ(pf__prose_kinds("Characters should occupy more than 5% of the image area.",
                              NULL), 0);
}

/* A bundle-style document (components.schemas only) exercising what the
 * samples only hint at: unknown and ignored keys, audio limits, a field of
 * several kinds, a 3D model, OpenAPI 3.1 and 3.0 spellings. */
static const char synthetic[] =
    "{\"components\":{\"schemas\":{"
    "\"Helper\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}}},"
    "\"Mode\":{\"type\":\"string\",\"enum\":[\"fast\",\"slow\"]},"
    "\"TestInput\":{\"type\":\"object\",\"required\":[\"voice_url\"],"
    " \"allOf\":[{\"properties\":{\"extra\":{\"type\":\"integer\",\"minimum\":0,"
    "   \"exclusiveMaximum\":10}}}],"
    " \"properties\":{"
    "  \"voice_url\":{\"type\":\"string\",\"description\":\"The voice to clone.\","
    "   \"x-fal\":{\"min_duration\":2,\"max_duration\":4,\"timeout\":20,\"max_bitrate\":5,"
    "   \"duration\":1}},"
    "  \"media_url\":{\"type\":\"string\",\"description\":\"An audio or video file.\"},"
    "  \"mask_url\":{\"type\":\"string\",\"x-fal\":{\"min_area\":10000,\"max_area\":20000,"
    "   \"max_width\":\"wide\"}},"
    "  \"model_url\":{\"type\":\"string\",\"description\":\"A .glb or .obj 3D model.\"},"
    "  \"clip_urls\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
    "   \"x-fal\":{\"min_frames\":5,\"max_frames\":20}}},"
    "  \"seconds\":{\"type\":\"string\",\"enum\":[\"5\",\"10\"],\"default\":\"5\"},"
    "  \"strength\":{\"anyOf\":[{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":1},"
    "   {\"type\":\"null\"}],\"default\":0.5},"
    "  \"legacy\":{\"type\":\"number\",\"minimum\":1,\"exclusiveMinimum\":true,"
    "   \"nullable\":true},"
    "  \"size\":{\"anyOf\":[{\"$ref\":\"#/components/schemas/Helper\"},"
    "   {\"$ref\":\"#/components/schemas/Mode\"}]}"
    "}}}}}";

static void test_synthetic_dialect(void)
{
    pf_schema *s = load_text(synthetic, "some-org__test-model.json");
    const struct pf__media_field *voice = pf__schema_media_at(s, "voice_url");
    const struct pf__media_field *media = pf__schema_media_at(s, "media_url");
    const struct pf__media_field *model = pf__schema_media_at(s, "model_url");
    pf_report *r;
    char json[4096];

    /* named by the file name; the one unreferenced *Input is the input */
    ASSERT_STR_EQ(pf_schema_model(s), "some-org/test-model");
    ASSERT_STR_EQ(pf_schema_provider(s), "fal");
    ASSERT(voice && media && model && pf__schema_media_at(s, "clip_urls[3]"));
    ASSERT_EQ(voice->kind, PF_MEDIA_AUDIO);
    ASSERT_EQ(media->kinds, (1u << PF_MEDIA_AUDIO) | (1u << PF_MEDIA_VIDEO));
    ASSERT(model->unprobed);

    /* duration rules on audio, at and around the bounds */
    r = check_media(s, "voice_url", audio(1.95));
    ASSERT(violation_of(r, "min_duration"));
    ASSERT_STR_EQ(violation_of(r, "min_duration")->message,
                  "The duration must be at least 2 s");
    /* an unknown x-fal key: said, never passed in silence; timeout: not */
    ASSERT(warned(r, "'max_bitrate' not checked"));
    /* an unknown key is not read as the metric its name resembles */
    ASSERT(warned(r, "'duration' not checked"));
    ASSERT(!violation_of(r, "duration"));
    ASSERT(!warned(r, "timeout"));
    pf_report_free(r);
    r = check_media(s, "voice_url", audio(2));
    ASSERT_EQ(pf_report_violation_count(r), 0);
    pf_report_free(r);
    r = check_media(s, "voice_url", audio(4));
    ASSERT_EQ(pf_report_violation_count(r), 0);
    pf_report_free(r);
    r = check_media(s, "voice_url", audio(4.05));
    ASSERT(violation_of(r, "max_duration"));
    pf_report_free(r);
    /* an image where audio is wanted */
    r = check_media(s, "voice_url", image(64, 64));
    ASSERT(violation_of(r, "media_type"));
    pf_report_free(r);

    /* "audio or video" takes either, not an image */
    r = check_media(s, "media_url", audio(2));
    ASSERT(!violation_of(r, "media_type"));
    pf_report_free(r);
    r = check_media(s, "media_url", video(64, 64, 25, 5));
    ASSERT(!violation_of(r, "media_type"));
    pf_report_free(r);
    r = check_media(s, "media_url", image(64, 64));
    ASSERT(violation_of(r, "media_type"));
    ASSERT_CONTAINS(violation_of(r, "media_type")->message, "a video or an audio file");
    pf_report_free(r);
    /* a 3D model is not probed, and says so */
    r = check_media(s, "model_url", image(64, 64));
    ASSERT_EQ(pf_report_input_count(r), 0);
    ASSERT(warned(r, "not checked"));
    pf_report_free(r);

    /* pixel area, inclusive both ways; a limit that is not a number is
     * said, not guessed at */
    r = check_media(s, "mask_url", image(99, 101));
    ASSERT(violation_of(r, "min_area"));
    ASSERT_STR_EQ(violation_of(r, "min_area")->message,
                  "Width × height must be at least 10000 pixels");
    ASSERT(warned(r, "'max_width' not checked"));
    pf_report_free(r);
    r = check_media(s, "mask_url", image(100, 100));
    ASSERT_EQ(pf_report_violation_count(r), 0);
    pf_report_free(r);
    r = check_media(s, "mask_url", image(100, 200));
    ASSERT_EQ(pf_report_violation_count(r), 0);
    pf_report_free(r);
    r = check_media(s, "mask_url", image(101, 200));
    ASSERT(violation_of(r, "max_area"));
    pf_report_free(r);

    /* frames per element */
    r = check_media(s, "clip_urls[0]", video(64, 64, 25, 4));
    ASSERT(violation_of(r, "min_frames"));
    pf_report_free(r);
    r = check_media(s, "clip_urls[1]", video(64, 64, 25, 5));
    ASSERT_EQ(pf_report_violation_count(r), 0);
    pf_report_free(r);
    r = check_media(s, "clip_urls[1]", video(64, 64, 25, 21));
    ASSERT(violation_of(r, "max_frames"));
    pf_report_free(r);

    /* parameters: string enums for numbers, nullable, anyOf with null,
     * 3.1 and 3.0 exclusive bounds, allOf, a real two-branch union */
    snprintf(json, sizeof json, "{\"voice_url\":\"%s\",\"seconds\":10,\"strength\":null,"
             "\"legacy\":null,\"extra\":9,\"size\":\"fast\"}", audio(3));
    r = check_request(s, json);
    ASSERT_EQ(pf_report_violation_count(r), 0);
    {
        char *text = pf_report_to_json(r);

        ASSERT_CONTAINS(text, "\"seconds\":\"10\"");
        pf_free(text);
    }
    pf_report_free(r);
    snprintf(json, sizeof json, "{\"voice_url\":\"%s\",\"seconds\":7,\"strength\":0,"
             "\"legacy\":1,\"extra\":10,\"size\":\"medium\"}", audio(3));
    r = check_request(s, json);
    ASSERT(violation_at(r, "seconds", "type") || violation_at(r, "seconds", "enum"));
    ASSERT(violation_at(r, "strength", "exclusiveMinimum"));
    ASSERT(violation_at(r, "legacy", "minimum"));
    ASSERT(violation_at(r, "extra", "exclusiveMaximum"));
    ASSERT(violation_at(r, "size", "enum"));
    ASSERT_EQ(pf_report_violation_count(r), 5);
    pf_report_free(r);
    snprintf(json, sizeof json, "{\"voice_url\":\"%s\",\"size\":{\"n\":2}}", audio(3));
    r = check_request(s, json);
    ASSERT_EQ(pf_report_violation_count(r), 0);
    ASSERT_CONTAINS(pf_report_defaults_json(r), "\"seconds\":\"5\"");
    pf_report_free(r);
    pf_schema_free(s);
}

static void test_bad_documents(void)
{
    static const char *const bad[] = {
        "{\"openapi\":\"3.0.4\",\"paths\":{}}",
        "{\"components\":{\"schemas\":{\"AInput\":{\"type\":\"object\",\"properties\":{}},"
        "\"BInput\":{\"type\":\"object\",\"properties\":{}}}}}",
        "{\"components\":{\"schemas\":{\"XInput\":{\"$ref\":\"#/components/schemas/XInput\"}}}}",
        "{\"components\":{\"schemas\":{\"XInput\":{\"$ref\":\"#/nowhere\"}}}}",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pf_ctx *ctx = pf_ctx_new();
        pf_schema *s = NULL;

        ASSERT_EQ(pf_schema_load_text(ctx, bad[i], strlen(bad[i]), "bad.json", &s),
                  PF_ESCHEMA);
        ASSERT(!s);
        ASSERT_CONTAINS(pf_ctx_error(ctx), "bad.json");
        pf_ctx_free(ctx);
    }
}

/* ---- the fixer honours fal's rules ---- */

static void test_fix_fal(void)
{
    static const struct {
        const char *endpoint, *field, *extra;
        int w, h, video;
    } cases[] = {
        { "fal-ai/kling-video/v2.6/pro/image-to-video", "start_image_url", "prompt", 1000, 2600, 0 },
        { "fal-ai/kling-video/v2.6/pro/image-to-video", "start_image_url", "prompt", 2600, 1000, 0 },
        { "fal-ai/reve/edit", "image_url", "prompt", 5000, 3000, 0 },
        { "fal-ai/kling-video/o1/video-to-video/edit", "video_url", "prompt", 640, 480, 1 },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pf_schema *s = load_model(cases[i].endpoint);
        pf_ctx *ctx = pf_ctx_new();
        pf_request *req = pf_request_new();
        pf_fix_options o = PF_FIX_OPTIONS_INIT;
        pf_fix_result *res = NULL;
        char *out = pf_test_make_dir("pf-falfix");
        const pf_report *rep;

        ASSERT_EQ(pf_request_add_string(ctx, req, cases[i].extra, "x"), PF_OK);
        ASSERT_EQ(pf_request_add_file(ctx, req, cases[i].field, cases[i].video
                      ? video(cases[i].w, cases[i].h, 30, 100)
                      : image(cases[i].w, cases[i].h)), PF_OK);
        if (pf_fix(ctx, s, req, out, &o, &res) != PF_OK)
            FAIL_AT("fix %s: %s", cases[i].endpoint, pf_ctx_error(ctx));
        rep = pf_fix_result_report(res);
        if (!pf_report_ok(rep) || pf_report_input_count(rep) != 1)
            FAIL_AT("fix %s %dx%d: %s", cases[i].endpoint, cases[i].w, cases[i].h,
                    pf_report_to_json(rep));
        {
            const pf_media_info *info = pf_report_input(rep, 0, NULL, NULL);
            double a = (double)info->width / info->height;

            ASSERT(fmax(a, 1 / a) <= 2.5 + 1e-9 || !strstr(cases[i].endpoint, "kling-video/v2.6"));
            ASSERT(info->width >= (cases[i].video ? 720 : 128));
        }
        pf_fix_result_free(res);
        pf_request_free(req);
        pf_ctx_free(ctx);
        pf_schema_free(s);
        pf_test_remove_dir(out);
    }
}

int main(void)
{
    dir = pf_test_make_dir("pf-fal");
    RUN(test_twelve_documents_load);
    RUN(test_orientation_free_ratio);
    RUN(test_per_element_and_nested);
    RUN(test_prose_kinds);
    RUN(test_prose_only_limits);
    RUN(test_synthetic_dialect);
    RUN(test_bad_documents);
    RUN(test_fix_fal);
    RUN(test_every_xfal_limit);
    pf_test_remove_dir(dir);
    return 0;
}
