/*
 * preflight fix on real files: each kind of image violation in the bundled
 * schemas is made from a generated fixture, fixed, and the output held to
 * the check engine and to the probe; originals stay byte-identical and the
 * output directory never keeps a temporary or partial file. Plus the
 * planner's arithmetic at the rule boundaries, the quality search, the
 * orientation baked into pixels, transparency kept in PNG, and failures.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>
#include <turbojpeg.h>

#include "preflight.h"
#include "fix/fix_internal.h"
#include "test.h"

#define GEN3 "runwayml/runway-gen-3-alpha/turbo/image-to-video"
#define DREAMINA "bytedance/dreamina-3-0/pro/image-to-video"
#define ALEPH "runwayml/runway-aleph/video-to-video"

static pf_ctx *ctx;

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f)
        FAIL_AT("cannot open %s", path);
    ASSERT(fseek(f, 0, SEEK_END) == 0);
    n = ftell(f);
    ASSERT(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ASSERT(buf);
    ASSERT_EQ(fread(buf, 1, (size_t)n, f), n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    ASSERT(f);
    ASSERT_EQ(fwrite(data, 1, len, f), len);
    ASSERT(fclose(f) == 0);
}

static char *make_dir(void)
{
    return pf_test_make_dir("pf-fix");
}

static void remove_dir(const char *dir)
{
    pf_test_remove_dir(dir);
}

/* How many entries dir holds, and how many of them are temporaries. */
static int count_files(const char *dir, int *temporaries)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    *temporaries = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            n++;
            if (strncmp(e->d_name, ".preflight", 10) == 0)
                (*temporaries)++;
        }
    closedir(d);
    return n;
}

/* Fixes a request of "FIELD=VALUE", "FIELD:=JSON" or "FIELD=@PATH"
 * arguments (NULL-terminated) with opts into outdir. */
static pf_fix_result *fix_schema(const pf_schema *schema, const char *outdir,
                                 const pf_fix_options *opts, ...)
{
    pf_request *req = pf_request_new();
    pf_fix_result *res = NULL;
    const char *arg;
    va_list ap;

    va_start(ap, opts);
    while ((arg = va_arg(ap, const char *))) {
        char field[256];
        const char *eq = strchr(arg, '=');
        size_t n = (size_t)(eq - arg);

        ASSERT(eq);
        if (eq[-1] == ':') {
            memcpy(field, arg, n - 1);
            field[n - 1] = '\0';
            ASSERT_EQ(pf_request_add_json(ctx, req, field, eq + 1), PF_OK);
        } else {
            memcpy(field, arg, n);
            field[n] = '\0';
            if (eq[1] == '@')
                ASSERT_EQ(pf_request_add_file(ctx, req, field, eq + 2), PF_OK);
            else
                ASSERT_EQ(pf_request_add_string(ctx, req, field, eq + 1), PF_OK);
        }
    }
    va_end(ap);
    if (pf_fix(ctx, schema, req, outdir, opts, &res) != PF_OK)
        FAIL_AT("pf_fix: %s", pf_ctx_error(ctx));
    pf_request_free(req);
    return res;
}

static pf_schema *model(const char *id)
{
    pf_schema *s = NULL;

    ASSERT_EQ(pf_schema_load_model(ctx, id, &s), PF_OK);
    return s;
}

static char *arg(const char *field, const char *path)
{
    static char buf[16][4200];
    static int slot;
    char *p = buf[slot++ % 16];

    snprintf(p, 4200, "%s=@%s", field, path);
    return p;
}

static void dump(const pf_fix_result *r)
{
    char *json = pf_fix_result_to_json(r);

    fprintf(stderr, "%s\n", json ? json : "(null)");
    pf_free(json);
}

/* The one change of a result, which must have been done. */
static const pf_fix_change *done(const pf_fix_result *r)
{
    const pf_fix_change *c;

    if (pf_fix_result_change_count(r) != 1) {
        dump(r);
        FAIL_AT("expected one change, got %zu", pf_fix_result_change_count(r));
    }
    c = pf_fix_result_change(r, 0);
    if (c->status != PF_FIX_DONE) {
        dump(r);
        FAIL_AT("change not done: %s", c->message ? c->message : "?");
    }
    return c;
}

/* What every successful fix must give: the output exists under outdir and
 * probes as reported; the request to send points at it and passes the
 * check (the result's own, and a fresh one); nothing temporary is left;
 * the original is byte-identical. */
static void assert_fixed(const pf_schema *schema, const pf_fix_result *r,
                         const pf_fix_change *c, const char *outdir,
                         const uint8_t *before, size_t before_len,
                         pf_media_info *out_info)
{
    pf_request *req = pf_request_new();
    pf_report *report = NULL;
    uint8_t *after;
    size_t after_len;
    int temporaries;

    ASSERT(c->output);
    ASSERT(strncmp(c->output, outdir, strlen(outdir)) == 0);
    ASSERT_EQ(pf_probe(ctx, c->output, out_info), PF_OK);
    ASSERT_EQ(out_info->width, c->width);
    ASSERT_EQ(out_info->height, c->height);
    ASSERT_EQ(out_info->file_size, c->file_size);
    ASSERT_EQ(out_info->orientation, 0);
    ASSERT_STR_EQ(out_info->format, c->format);
    ASSERT_CONTAINS(pf_fix_result_request_json(r), c->output);
    if (!pf_report_ok(pf_fix_result_report(r)) || pf_fix_result_exit_code(r) != 0) {
        dump(r);
        FAIL_AT("the request to send does not pass");
    }
    {
        /* A fresh check of the request the result says to send. */
        char path[300];

        snprintf(path, sizeof path, "%s.request.json", outdir);
        spit(path, pf_fix_result_request_json(r), strlen(pf_fix_result_request_json(r)));
        ASSERT_EQ(pf_request_load_file(ctx, req, path), PF_OK);
        unlink(path);
    }
    ASSERT_EQ(pf_check(ctx, schema, req, &report), PF_OK);
    ASSERT_EQ(pf_report_violation_count(report), 0);
    ASSERT_EQ(pf_report_error_count(report), 0);
    pf_report_free(report);
    pf_request_free(req);
    ASSERT_EQ(count_files(outdir, &temporaries), 1);
    ASSERT_EQ(temporaries, 0);
    after = slurp(c->source, &after_len);
    ASSERT_EQ(after_len, before_len);
    ASSERT(memcmp(after, before, before_len) == 0);
    free(after);
}

/* Fixes one fixture in field of a bundled model and checks the common
 * promises; returns the probed output in *info and the change's copy of
 * quality and encodes. */
static void fix_fixture(const char *model_id, const char *field, const char *fixture,
                        const pf_fix_options *opts, pf_media_info *info,
                        const char *extra)
{
    pf_schema *schema = model(model_id);
    const char *dir = make_dir(), *path = FIXTURE(fixture);
    size_t len;
    uint8_t *before = slurp(path, &len);
    pf_fix_result *r = strcmp(model_id, GEN3) == 0
        ? fix_schema(schema, dir, opts, "promptText=hi", arg(field, path), extra, NULL)
        : fix_schema(schema, dir, opts, "prompt=hi", arg(field, path), extra, NULL);
    const pf_fix_change *c = done(r);

    fprintf(stderr, "   %s: %s\n", fixture, c->summary);
    ASSERT_STR_EQ(c->field, strcmp(model_id, GEN3) == 0 ? "promptImage" : "image_urls[0]");
    assert_fixed(schema, r, c, dir, before, len, info);
    free(before);
    pf_fix_result_free(r);
    pf_schema_free(schema);
    remove_dir(dir);
}

/* ---- the planner ---- */

static const struct pf__media_field *field_of(const pf_schema *s, const char *path)
{
    const struct pf__media_field *m = pf__schema_media_at(s, path);

    ASSERT(m);
    return m;
}

static void test_limits_read_like_the_check(void)
{
    pf_schema *d = model(DREAMINA), *g = model(GEN3);
    struct pf__limits lim;

    ASSERT(pf__schema_media_at(d, "image_urls[0]"));
    ASSERT(pf__schema_media_at(d, "image_urls[12]"));
    ASSERT(!pf__schema_media_at(d, "image_urls"));
    ASSERT(!pf__schema_media_at(d, "image_urls[x]"));

    pf__fix_limits(field_of(d, "image_urls[0]"), &lim);
    ASSERT_EQ(lim.max_w, 4096);                 /* width_pixels<= 4096 */
    ASSERT_EQ(lim.max_h, 4096);
    ASSERT_EQ(lim.min_w, 321);                  /* width_pixels> 320 */
    ASSERT_EQ(lim.min_h, 321);
    ASSERT_EQ(lim.max_bytes, 4699999);          /* file_size_mb< 4.7, decimal */
    ASSERT_DBL_EQ(lim.aspect_hi, 3, 0);
    ASSERT_DBL_EQ(lim.aspect_lo, 0.33, 0);
    ASSERT_EQ(lim.hi_exclusive, 1);
    ASSERT_EQ(lim.lo_exclusive, 1);
    ASSERT_EQ(lim.formats, PF__FMT_JPEG | PF__FMT_PNG);   /* format== jpeg, png */
    ASSERT(pf__fix_dims_pass(&lim, 4096, 4096));
    ASSERT(!pf__fix_dims_pass(&lim, 4097, 2000));
    ASSERT(!pf__fix_dims_pass(&lim, 1500, 500));         /* exactly 3 */
    ASSERT(pf__fix_dims_pass(&lim, 1499, 500));
    ASSERT(!pf__fix_dims_pass(&lim, 320, 480));
    ASSERT(!pf__fix_dims_pass(&lim, 330, 1000));         /* exactly 0.33 */
    ASSERT(pf__fix_dims_pass(&lim, 331, 1000));

    pf__fix_limits(field_of(g, "promptImage"), &lim);
    ASSERT_EQ(lim.max_w, 7999);                 /* width_pixels< 8000 */
    ASSERT_EQ(lim.max_h, 7999);
    ASSERT_EQ(lim.min_w, 1);
    ASSERT_EQ(lim.max_bytes, 15999999);         /* file_size_mb< 16 */
    ASSERT_EQ(lim.formats, PF__FMT_JPEG | PF__FMT_PNG);   /* no format rule */
    ASSERT(!pf__fix_dims_pass(&lim, 8000, 4000));
    ASSERT(pf__fix_dims_pass(&lim, 7999, 4000));
    ASSERT(!pf__fix_dims_pass(&lim, 4000, 8000));
    ASSERT(pf__fix_dims_pass(&lim, 4000, 7999));
    pf_schema_free(d);
    pf_schema_free(g);
}

static pf_media_info image_info(int w, int h)
{
    pf_media_info in = PF_MEDIA_INFO_INIT;

    memset(&in, 0, sizeof in);
    in.kind = PF_MEDIA_IMAGE;
    in.width = in.coded_width = w;
    in.height = in.coded_height = h;
    pf__strlcpy(in.format, "jpeg", sizeof in.format);
    in.file_size = 1000;
    return in;
}

static void plan(const pf_schema *s, const char *path, int w, int h, int fit,
                 const char *ratio, struct pf__limits *lim, struct pf__plan *p)
{
    pf_fix_options o = PF_FIX_OPTIONS_INIT;
    pf_media_info in = image_info(w, h);
    double want = 0;

    o.fit = fit;
    if (ratio) {
        long a = strtol(ratio, NULL, 10), b = strtol(strchr(ratio, ':') + 1, NULL, 10);

        want = (double)a / b;
    }
    pf__fix_limits(field_of(s, path), lim);
    if (pf__fix_plan_image(ctx, lim, &in, "test", &o, ratio, want, p) != PF_OK)
        FAIL_AT("plan %d×%d: %s", w, h, pf_ctx_error(ctx));
    ASSERT(pf__fix_dims_pass(lim, p->out_w, p->out_h));
}

static void test_plans_at_the_boundaries(void)
{
    pf_schema *d = model(DREAMINA), *g = model(GEN3);
    struct pf__limits lim;
    struct pf__plan p;

    /* Ratio exactly 3 under "< 3": one column cropped, no resampling. */
    plan(d, "image_urls[0]", 1500, 500, PF_FIT_CROP, NULL, &lim, &p);
    ASSERT_EQ(p.out_w, 1499);
    ASSERT_EQ(p.out_h, 500);
    ASSERT_EQ(p.crop_w, 1499);
    ASSERT_EQ(p.crop_h, 500);
    ASSERT_EQ(p.enlarged, 0);
    /* ... or one row of canvas added. */
    plan(d, "image_urls[0]", 1500, 500, PF_FIT_PAD, NULL, &lim, &p);
    ASSERT_EQ(p.pad, 1);
    ASSERT_EQ(p.out_w, 1500);
    ASSERT_EQ(p.out_h, 501);
    ASSERT_EQ(p.img_w, 1500);
    ASSERT_EQ(p.img_h, 500);
    /* Too wide by one pixel: scaled, aspect kept, no crop. */
    plan(d, "image_urls[0]", 4097, 2000, PF_FIT_CROP, NULL, &lim, &p);
    ASSERT_EQ(p.out_w, 4096);
    ASSERT_EQ(p.out_h, 2000);
    ASSERT_EQ(p.crop_w, 4097);
    /* Too narrow: enlarged just past the minimum, and said so. */
    plan(d, "image_urls[0]", 320, 480, PF_FIT_CROP, NULL, &lim, &p);
    ASSERT_EQ(p.out_w, 321);
    ASSERT_EQ(p.out_h, 482);
    ASSERT_EQ(p.enlarged, 1);
    /* Portrait at exactly 0.33 under "> 0.33". */
    plan(d, "image_urls[0]", 330, 1000, PF_FIT_CROP, NULL, &lim, &p);
    ASSERT(p.out_w * 1000 > 330 * p.out_h);
    ASSERT(p.out_w >= 321);
    /* 24 MP at 3:2 into 4096: the example. */
    plan(d, "image_urls[0]", 6000, 4000, PF_FIT_CROP, NULL, &lim, &p);
    ASSERT_EQ(p.out_w, 4096);
    ASSERT_EQ(p.out_h, 2731);

    /* Gen-3 asks for 1280:768 (5:3) by default: an 8000×4000 image is
     * cropped to exactly 5:3 inside the 7999 limit. */
    plan(g, "promptImage", 8000, 4000, PF_FIT_CROP, "1280:768", &lim, &p);
    ASSERT_EQ(p.out_w, 6665);
    ASSERT_EQ(p.out_h, 3999);
    ASSERT_EQ((int64_t)p.out_w * 3, (int64_t)p.out_h * 5);
    /* With --fit none the ratio is ignored; the rules still cut a pixel. */
    plan(g, "promptImage", 8000, 4000, PF_FIT_NONE, "1280:768", &lim, &p);
    ASSERT_EQ(p.out_w, 7999);
    ASSERT_EQ(p.out_h, 4000);
    /* Padded to 5:3: the canvas grows, the picture is not scaled up. */
    plan(g, "promptImage", 8000, 4000, PF_FIT_PAD, "1280:768", &lim, &p);
    ASSERT_EQ(p.pad, 1);
    ASSERT_EQ((int64_t)p.out_w * 3, (int64_t)p.out_h * 5);
    ASSERT(p.img_w <= p.out_w && p.img_h < p.out_h);
    ASSERT_EQ(p.enlarged, 0);
    /* Within 2% of the ratio: left alone. */
    plan(g, "promptImage", 1000, 600, PF_FIT_CROP, "1280:768", &lim, &p);
    ASSERT_EQ(p.aspect_changed, 0);
    ASSERT_EQ(p.out_w, 1000);
    pf_schema_free(d);
    pf_schema_free(g);
}

static void test_impossible_plans(void)
{
    static const char text[] =
        "{\"preflight_rules\":1,\"model\":\"test/conflict\",\"media\":{\"image\":\"image\"},"
        "\"input_schema\":{\"type\":\"object\",\"properties\":{\"image\":{\"type\":\"string\","
        "\"validations\":["
        "{\"validation_rule\":\"width_pixels<\",\"validation_value\":100},"
        "{\"validation_rule\":\"height_pixels>\",\"validation_value\":500},"
        "{\"validation_rule\":\"width/height>\",\"validation_value\":1},"
        "{\"validation_rule\":\"format==\",\"validation_value\":[\"webp\"]}]}}}}";
    pf_schema *s = NULL;
    struct pf__limits lim;
    struct pf__plan p;
    pf_media_info in = image_info(640, 480);
    pf_fix_options o = PF_FIX_OPTIONS_INIT;

    ASSERT_EQ(pf_schema_load_text(ctx, text, sizeof text - 1, "conflict", &s), PF_OK);
    pf__fix_limits(field_of(s, "image"), &lim);
    ASSERT_EQ(lim.formats, 0);
    ASSERT_EQ(pf__fix_plan_image(ctx, &lim, &in, "x.jpg", &o, NULL, 0, &p), PF_ECANNOT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "x.jpg");
    lim.formats = PF__FMT_JPEG;
    ASSERT_EQ(pf__fix_plan_image(ctx, &lim, &in, "x.jpg", &o, NULL, 0, &p), PF_ECANNOT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "minimum");
    pf_schema_free(s);
}

/* ---- the quality search ---- */

static uint32_t rng = 2463534242u;

static uint32_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* A gradient with noise: compresses like a grainy photograph. */
static void noisy_image(struct pf__image *img, int w, int h)
{
    ASSERT_EQ(pf__image_alloc(ctx, "noise", w, h, 3, img), PF_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->px + (size_t)y * img->stride + (size_t)x * 3;
            int n = (int)(xorshift() % 61) - 30;

            p[0] = (uint8_t)((x * 255 / w + n) & 255);
            p[1] = (uint8_t)((y * 255 / h + n / 2) & 255);
            p[2] = (uint8_t)(((x + y) * 127 / (w + h) + 64 + n) & 255);
        }
}

static void test_quality_search(void)
{
    struct pf__image img;
    int64_t limits[] = { 1300000, 1200000, 900000, 600000, 450000, 400000, 350000 };
    int total = 0, n = (int)(sizeof limits / sizeof limits[0]);

    noisy_image(&img, 1600, 1200);
    for (int i = 0; i < n; i++) {
        struct pf__fix_output out = { 0 };
        double slope = PF__JPEG_SLOPE_PRIOR;
        size_t smallest = 0, len;
        uint8_t *above;

        ASSERT_EQ(pf__fix_jpeg_fit(ctx, "noise", &img, limits[i], PF__JPEG_Q_MAX, &slope,
                                   &out, &smallest), PF_OK);
        ASSERT(out.data);
        ASSERT_INT(out.len, <=, limits[i]);
        ASSERT_INT(out.quality, >=, PF__JPEG_Q_MIN);
        ASSERT_INT(out.quality, <, PF__JPEG_Q_MAX);
        /* The highest that fits: one step up does not. */
        ASSERT_EQ(pf__jpeg_encode(ctx, "noise", &img, out.quality + 1, &above, &len), PF_OK);
        ASSERT_INT(len, >, limits[i]);
        free(above);
        ASSERT_INT(out.encodes, <=, 7);
        total += out.encodes;
        fprintf(stderr, "   limit %lld: q=%d, %zu bytes, %d encodes\n",
                (long long)limits[i], out.quality, out.len, out.encodes);
        pf__fix_output_free(&out);
    }
    /* Few encodes: on average not much more than the three it takes to
     * measure, aim and prove. */
    ASSERT_INT(total, <=, n * 9 / 2);
    {
        /* No limit: the top quality, once. */
        struct pf__fix_output out = { 0 };
        double slope = PF__JPEG_SLOPE_PRIOR;
        size_t smallest = 0;

        ASSERT_EQ(pf__fix_jpeg_fit(ctx, "noise", &img, -1, PF__JPEG_Q_MAX, &slope, &out,
                                   &smallest), PF_OK);
        ASSERT_EQ(out.quality, PF__JPEG_Q_MAX);
        ASSERT_EQ(out.encodes, 1);
        pf__fix_output_free(&out);
        /* Impossible: no data, and the smallest size says by how much. */
        ASSERT_EQ(pf__fix_jpeg_fit(ctx, "noise", &img, 1000, PF__JPEG_Q_MAX, &slope, &out,
                                   &smallest), PF_OK);
        ASSERT(!out.data);
        ASSERT_INT(smallest, >, 1000);
        ASSERT_INT(out.encodes, <=, 3);
        pf__fix_output_free(&out);
    }
    pf__image_free(&img);
    pf__image_free(&img);                       /* safe twice */
}

/* A grainy 3000×2000 JPEG at quality 98, written to path. */
static void write_noisy_jpeg(const char *path)
{
    struct pf__image img;
    uint8_t *jpeg;
    size_t len;

    noisy_image(&img, 3000, 2000);
    ASSERT_EQ(pf__jpeg_encode(ctx, "noise", &img, 98, &jpeg, &len), PF_OK);
    spit(path, jpeg, len);
    free(jpeg);
    pf__image_free(&img);
}

static void test_fix_to_a_size_limit(void)
{
    static const char text[] =
        "{\"preflight_rules\":1,\"model\":\"test/one-mb\",\"media\":{\"image\":\"image\"},"
        "\"input_schema\":{\"type\":\"object\",\"properties\":{\"image\":{\"type\":\"string\","
        "\"validations\":["
        "{\"validation_rule\":\"file_size_mb<\",\"validation_value\":1,"
        "\"validation_error\":\"File size must be less than 1 MB.\"},"
        "{\"validation_rule\":\"width_pixels<=\",\"validation_value\":2048}]}}}}";
    pf_schema *s = NULL;
    const char *dir = make_dir(), *src = make_dir();
    char path[300];
    size_t len;
    uint8_t *before;
    pf_fix_result *r;
    const pf_fix_change *c;
    pf_media_info info = PF_MEDIA_INFO_INIT;

    ASSERT_EQ(pf_schema_load_text(ctx, text, sizeof text - 1, "one-mb", &s), PF_OK);
    snprintf(path, sizeof path, "%s/grain.jpg", src);
    write_noisy_jpeg(path);
    before = slurp(path, &len);
    ASSERT_INT(len, >, 1000000);
    r = fix_schema(s, dir, NULL, arg("image", path), NULL);
    c = done(r);
    fprintf(stderr, "   %s\n", c->summary);
    assert_fixed(s, r, c, dir, before, len, &info);
    ASSERT_EQ(info.width, 2048);
    ASSERT_EQ(info.height, 1365);
    ASSERT_INT(info.file_size, <=, 999999);
    ASSERT_INT(c->quality, <, PF__JPEG_Q_MAX);
    ASSERT_INT(c->encodes, <=, 7);
    ASSERT_CONTAINS(c->summary, "q=");
    ASSERT_CONTAINS(c->summary, "encodes)");
    free(before);
    pf_fix_result_free(r);
    pf_schema_free(s);
    remove_dir(dir);
    remove_dir(src);
}

/* ---- fixtures through the public API ---- */

static void test_dreamina_fixes(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    pf_fix_options pad = PF_FIX_OPTIONS_INIT;

    /* ratio exactly 3 → just under 3 */
    fix_fixture(DREAMINA, "image_urls", "jpg_1500x500.jpg", NULL, &info, NULL);
    ASSERT_EQ(info.width, 1499);
    ASSERT_EQ(info.height, 500);
    pad.fit = PF_FIT_PAD;
    fix_fixture(DREAMINA, "image_urls", "jpg_1500x500.jpg", &pad, &info, NULL);
    ASSERT_EQ(info.width, 1500);
    ASSERT_EQ(info.height, 501);
    /* 0.33 exactly → just over */
    fix_fixture(DREAMINA, "image_urls", "jpg_330x1000.jpg", NULL, &info, NULL);
    ASSERT(info.width * 100 > info.height * 33);
    /* one pixel too wide → 4096 */
    fix_fixture(DREAMINA, "image_urls", "jpg_4097x2000.jpg", NULL, &info, NULL);
    ASSERT_EQ(info.width, 4096);
    ASSERT_EQ(info.height, 2000);
    fix_fixture(DREAMINA, "image_urls", "jpg_2000x4097.jpg", NULL, &info, NULL);
    ASSERT_EQ(info.height, 4096);
    /* shortest side not over 320 → enlarged */
    fix_fixture(DREAMINA, "image_urls", "jpg_320x480.jpg", NULL, &info, NULL);
    ASSERT_INT(info.width, >, 320);
    ASSERT_INT(info.height, >, 320);
    /* 4.7 MB exactly → under, dimensions kept */
    fix_fixture(DREAMINA, "image_urls", "jpg_size_4700000.jpg", NULL, &info, NULL);
    ASSERT_INT(info.file_size, <, 4700000);
    ASSERT_EQ(info.width, 640);
    /* 8000×8000 → 4096×4096, shrunk on load */
    fix_fixture(DREAMINA, "image_urls", "jpg_8000x8000.jpg", NULL, &info, NULL);
    ASSERT_EQ(info.width, 4096);
    ASSERT_EQ(info.height, 4096);
}

/* WebP, GIF, BMP, TIFF (libavcodec) → JPEG, past the 320 minimum; and the
 * PNG colour types. Small files, so valgrind replays them too. */
static void test_small_formats(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;

    fix_fixture(DREAMINA, "image_urls", "img.webp", NULL, &info, NULL);
    ASSERT_STR_EQ(info.format, "jpeg");
    ASSERT_INT(info.width, >, 320);
    ASSERT_INT(info.height, >, 320);
    fix_fixture(DREAMINA, "image_urls", "img.gif", NULL, &info, NULL);
    ASSERT_STR_EQ(info.format, "jpeg");
    fix_fixture(DREAMINA, "image_urls", "img.bmp", NULL, &info, NULL);
    ASSERT_STR_EQ(info.format, "jpeg");
    fix_fixture(DREAMINA, "image_urls", "img.tiff", NULL, &info, NULL);
    ASSERT_STR_EQ(info.format, "jpeg");
    /* 16-bit, palette, gray and interlaced PNGs; progressive and gray
     * JPEGs: cropped to gen-3's default 5:3 */
    fix_fixture(GEN3, "promptImage", "png_16bit.png", NULL, &info, NULL);
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 384);
    fix_fixture(GEN3, "promptImage", "png_palette.png", NULL, &info, NULL);
    fix_fixture(GEN3, "promptImage", "png_gray.png", NULL, &info, NULL);
    fix_fixture(GEN3, "promptImage", "png_interlaced.png", NULL, &info, NULL);
    fix_fixture(GEN3, "promptImage", "jpg_progressive.jpg", NULL, &info, NULL);
    fix_fixture(GEN3, "promptImage", "jpg_gray.jpg", NULL, &info, NULL);
}

static void test_gen3_fixes(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    pf_fix_options none = PF_FIX_OPTIONS_INIT, pad = PF_FIX_OPTIONS_INIT;

    /* width < 8000 and ratio < 2, and the default ratio 1280:768 */
    fix_fixture(GEN3, "promptImage", "jpg_8000x4000.jpg", NULL, &info, NULL);
    ASSERT_INT(info.width, <, 8000);
    ASSERT((double)info.width / info.height < 2);
    ASSERT_EQ((int64_t)info.width * 3, (int64_t)info.height * 5);
    none.fit = PF_FIT_NONE;
    fix_fixture(GEN3, "promptImage", "jpg_8000x4000.jpg", &none, &info, NULL);
    ASSERT_EQ(info.width, 7999);
    ASSERT_EQ(info.height, 4000);
    pad.fit = PF_FIT_PAD;
    pad.blur_fill = 1;
    fix_fixture(GEN3, "promptImage", "jpg_4000x8000.jpg", &pad, &info, "ratio=768:1280");
    ASSERT_EQ((int64_t)info.width * 5, (int64_t)info.height * 3);
    ASSERT_INT(info.height, <, 8000);
    /* a PNG: opaque everywhere, so a JPEG */
    fix_fixture(GEN3, "promptImage", "png_8000x4000.png", NULL, &info, NULL);
    ASSERT_STR_EQ(info.format, "jpeg");
    ASSERT_INT(info.width, <, 8000);
}

/* Mean colour of a block of an RGB buffer. */
static void block_mean(const uint8_t *px, int stride, int x0, int y0, int w, int h,
                       double mean[3])
{
    mean[0] = mean[1] = mean[2] = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            for (int c = 0; c < 3; c++)
                mean[c] += px[(size_t)y * stride + (size_t)x * 3 + c];
    for (int c = 0; c < 3; c++)
        mean[c] /= (double)w * h;
}

static uint8_t *decode_rgb(const char *path, int denom, int *w, int *h)
{
    size_t len;
    uint8_t *data = slurp(path, &len), *px;
    tjhandle tj = tjInitDecompress();
    tjscalingfactor f = { 1, denom };
    int sub, cs;

    ASSERT(tj);
    ASSERT_EQ(tjDecompressHeader3(tj, data, (unsigned long)len, w, h, &sub, &cs), 0);
    *w = TJSCALED(*w, f);
    *h = TJSCALED(*h, f);
    px = malloc((size_t)*w * *h * 3);
    ASSERT(px);
    ASSERT_EQ(tjDecompress2(tj, data, (unsigned long)len, px, *w, *w * 3, *h, TJPF_RGB, 0), 0);
    tjDestroy(tj);
    free(data);
    return px;
}

/* How far the output is from the source turned by orientation o and
 * cropped at crop_x (in display pixels at 1/8), as the worst block mean
 * difference over a 5×5 grid. */
static double orientation_error(const uint8_t *src, int sw, int sh, int o,
                                const uint8_t *out, int ow, int oh, int crop_x)
{
    int dw = o >= 5 ? sh : sw, dh = o >= 5 ? sw : sh;
    uint8_t *disp = malloc((size_t)dw * dh * 3);
    double worst = 0;

    ASSERT(disp);
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            int sx = x, sy = y;

            if (o == 6) {
                sx = y;
                sy = sh - 1 - x;
            } else if (o == 8) {
                sx = sw - 1 - y;
                sy = x;
            } else if (o == 3) {
                sx = sw - 1 - x;
                sy = sh - 1 - y;
            }
            memcpy(disp + ((size_t)y * dw + x) * 3, src + ((size_t)sy * sw + sx) * 3, 3);
        }
    for (int by = 0; by < 5; by++)
        for (int bx = 0; bx < 5; bx++) {
            int bw = ow / 5, bh = oh / 5;
            double a[3], b[3];

            if (dh != oh || crop_x + ow > dw) {
                free(disp);
                return 1e9;
            }
            block_mean(out, ow * 3, bx * bw, by * bh, bw, bh, a);
            block_mean(disp, dw * 3, crop_x + bx * bw, by * bh, bw, bh, b);
            for (int c = 0; c < 3; c++)
                if (fabs(a[c] - b[c]) > worst)
                    worst = fabs(a[c] - b[c]);
        }
    free(disp);
    return worst;
}

static void test_orientation_baked_in(void)
{
    pf_schema *g = model(GEN3);
    const char *dir = make_dir(), *path = FIXTURE("jpg_exif6_4000x3000.jpg");
    size_t len;
    uint8_t *before = slurp(path, &len), *src, *out, *bytes;
    pf_fix_result *r = fix_schema(g, dir, NULL, "promptText=hi", "ratio=768:1280",
                                  arg("promptImage", path), NULL);
    const pf_fix_change *c = done(r);
    pf_media_info info = PF_MEDIA_INFO_INIT;
    int sw, sh, ow, oh;
    double right, wrong;

    assert_fixed(g, r, c, dir, before, len, &info);
    /* Displayed 3000×4000, cropped to 3:5: stored upright, no EXIF left. */
    ASSERT_EQ(info.width, 2400);
    ASSERT_EQ(info.height, 4000);
    ASSERT_EQ(info.coded_width, 2400);
    ASSERT_EQ(info.coded_height, 4000);
    ASSERT_EQ(info.orientation, 0);
    bytes = slurp(c->output, &len);
    for (size_t i = 0; i + 6 <= len; i++)
        ASSERT(memcmp(bytes + i, "Exif\0\0", 6) != 0);
    free(bytes);
    /* The pixels are the source turned clockwise, centre-cropped. */
    src = decode_rgb(path, 8, &sw, &sh);
    out = decode_rgb(c->output, 8, &ow, &oh);
    ASSERT_EQ(sw, 500);
    ASSERT_EQ(ow, 300);
    right = orientation_error(src, sw, sh, 6, out, ow, oh, (375 - 300) / 2);
    wrong = orientation_error(src, sw, sh, 8, out, ow, oh, (375 - 300) / 2);
    fprintf(stderr, "   block error turned right %.1f, turned wrong %.1f\n", right, wrong);
    ASSERT(right < 12);
    ASSERT(wrong > 3 * right + 10);
    free(src);
    free(out);
    free(before);
    pf_fix_result_free(r);
    pf_schema_free(g);
    remove_dir(dir);
}

/* An RGB picture for the orientation test, turned and mirrored by plain
 * primitives rather than the fixer's table, so the two are independent. */
struct pic {
    int w, h;
    uint8_t *px;
};

static struct pic rot90(struct pic a)            /* clockwise */
{
    struct pic b = { a.h, a.w, malloc((size_t)a.w * a.h * 3) };

    ASSERT(b.px);
    for (int y = 0; y < a.h; y++)
        for (int x = 0; x < a.w; x++)
            memcpy(b.px + ((size_t)x * b.w + (a.h - 1 - y)) * 3,
                   a.px + ((size_t)y * a.w + x) * 3, 3);
    free(a.px);
    return b;
}

static struct pic mirror(struct pic a)           /* left to right */
{
    struct pic b = { a.w, a.h, malloc((size_t)a.w * a.h * 3) };

    ASSERT(b.px);
    for (int y = 0; y < a.h; y++)
        for (int x = 0; x < a.w; x++)
            memcpy(b.px + ((size_t)y * a.w + (a.w - 1 - x)) * 3,
                   a.px + ((size_t)y * a.w + x) * 3, 3);
    free(a.px);
    return b;
}

/* The picture as a viewer shows EXIF orientation o (TIFF 6.0 / EXIF 2.3). */
static struct pic displayed(const uint8_t *px, int w, int h, int o)
{
    struct pic p = { w, h, malloc((size_t)w * h * 3) };

    ASSERT(p.px);
    memcpy(p.px, px, (size_t)w * h * 3);
    switch (o) {
    case 2: return mirror(p);
    case 3: return rot90(rot90(p));
    case 4: return rot90(rot90(mirror(p)));
    case 5: return rot90(rot90(rot90(mirror(p))));
    case 6: return rot90(p);
    case 7: return rot90(mirror(p));
    case 8: return rot90(rot90(rot90(p)));
    default: return p;
    }
}

/* The worst difference of block means over a 5×5 grid between two
 * pictures of the same aspect (the output is smaller). */
static double grid_error(struct pic a, const uint8_t *out, int ow, int oh)
{
    double worst = 0;

    if (a.w * oh != a.h * ow)
        return 1e9;
    for (int by = 0; by < 5; by++)
        for (int bx = 0; bx < 5; bx++) {
            double m1[3], m2[3];

            block_mean(out, ow * 3, bx * ow / 5, by * oh / 5, ow / 5, oh / 5, m1);
            block_mean(a.px, a.w * 3, bx * a.w / 5, by * a.h / 5, a.w / 5, a.h / 5, m2);
            for (int c = 0; c < 3; c++)
                worst = fmax(worst, fabs(m1[c] - m2[c]));
        }
    return worst;
}

/* Every EXIF orientation, made by patching the value in jpg_exif3.jpg's
 * one-entry IFD, is probed, fixed (shrunk to 400 on the long side) and the
 * output's pixels matched against the independently turned source. */
static void test_every_orientation(void)
{
    static const char text[] =
        "{\"preflight_rules\":1,\"model\":\"test/small\",\"media\":{\"image\":\"image\"},"
        "\"input_schema\":{\"type\":\"object\",\"properties\":{\"image\":{\"type\":\"string\","
        "\"validations\":[{\"validation_rule\":\"long_side_pixels<=\",\"validation_value\":400}]}}}}";
    pf_schema *s = NULL;
    const char *dir = make_dir(), *src = make_dir();
    size_t len;
    uint8_t *jpeg = slurp(FIXTURE("jpg_exif3.jpg"), &len);
    int sw, sh;
    uint8_t *stored;
    char path[300];

    ASSERT_EQ(pf_schema_load_text(ctx, text, sizeof text - 1, "small", &s), PF_OK);
    ASSERT(len > 0x20 && memcmp(jpeg + 6, "Exif\0\0II", 8) == 0 && jpeg[0x1e] == 3);
    snprintf(path, sizeof path, "%s/exif.jpg", src);
    stored = decode_rgb(FIXTURE("jpg_exif3.jpg"), 1, &sw, &sh);
    for (int o = 1; o <= 8; o++) {
        pf_media_info in = PF_MEDIA_INFO_INIT;
        pf_fix_result *r;
        const pf_fix_change *c;
        uint8_t *out;
        int ow, oh, temporaries;
        double err[9];

        jpeg[0x1e] = (uint8_t)o;
        spit(path, jpeg, len);
        ASSERT_EQ(pf_probe(ctx, path, &in), PF_OK);
        ASSERT_EQ(in.orientation, o);
        r = fix_schema(s, dir, NULL, arg("image", path), NULL);
        c = done(r);
        ASSERT_EQ(c->width, o >= 5 ? 300 : 400);
        ASSERT_EQ(c->height, o >= 5 ? 400 : 300);
        ASSERT_EQ(pf_probe(ctx, c->output, &in), PF_OK);
        ASSERT_EQ(in.orientation, 0);
        out = decode_rgb(c->output, 1, &ow, &oh);
        for (int k = 1; k <= 8; k++) {
            struct pic d = displayed(stored, sw, sh, k);

            err[k] = grid_error(d, out, ow, oh);
            free(d.px);
        }
        fprintf(stderr, "   orientation %d: %.1f; others", o, err[o]);
        for (int k = 1; k <= 8; k++)
            if (k != o && err[k] < 1e9)
                fprintf(stderr, " %.0f", err[k]);
        fputc('\n', stderr);
        ASSERT(err[o] < 12);
        for (int k = 1; k <= 8; k++)
            if (k != o)
                ASSERT(err[k] > 3 * err[o] + 10);
        free(out);
        pf_fix_result_free(r);
        ASSERT_EQ(count_files(dir, &temporaries), 1);
        remove_dir(dir);
        ASSERT(mkdir(dir, 0700) == 0);
    }
    free(stored);
    free(jpeg);
    pf_schema_free(s);
    remove_dir(dir);
    remove_dir(src);
}

static void test_transparency_kept(void)
{
    pf_schema *d = model(DREAMINA);
    const char *dir = make_dir(), *src = make_dir();
    char path[300];
    png_image pi;
    uint8_t *px = malloc(960 * 300 * 4), *before, *decoded;
    size_t len;
    pf_fix_result *r;
    const pf_fix_change *c;
    pf_media_info info = PF_MEDIA_INFO_INIT;
    int transparent = 0;

    /* 960×300 (3.2:1), with an alpha ramp. */
    ASSERT(px);
    for (int y = 0; y < 300; y++)
        for (int x = 0; x < 960; x++) {
            uint8_t *p = px + ((size_t)y * 960 + x) * 4;

            p[0] = (uint8_t)x;
            p[1] = (uint8_t)y;
            p[2] = 90;
            p[3] = (uint8_t)(x * 255 / 959);
        }
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = 960;
    pi.height = 300;
    pi.format = PNG_FORMAT_RGBA;
    snprintf(path, sizeof path, "%s/logo.png", src);
    ASSERT(png_image_write_to_file(&pi, path, 0, px, 0, NULL));
    before = slurp(path, &len);
    r = fix_schema(d, dir, NULL, "prompt=hi", arg("image_urls", path), NULL);
    c = done(r);
    assert_fixed(d, r, c, dir, before, len, &info);
    ASSERT_STR_EQ(info.format, "png");
    ASSERT_EQ(info.has_alpha, 1);
    ASSERT_EQ(info.height, 321);        /* enlarged past the 320 minimum */
    ASSERT_INT(info.width * 100, <, info.height * 300);
    /* The transparency survived. */
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    ASSERT(png_image_begin_read_from_file(&pi, c->output));
    pi.format = PNG_FORMAT_RGBA;
    decoded = malloc(PNG_IMAGE_SIZE(pi));
    ASSERT(decoded);
    ASSERT(png_image_finish_read(&pi, NULL, decoded, 0, NULL));
    for (size_t i = 0; i < (size_t)pi.width * pi.height; i++)
        transparent += decoded[i * 4 + 3] < 128;
    ASSERT_INT(transparent, >, (int)(pi.width * pi.height / 4));
    free(decoded);
    free(px);
    free(before);
    pf_fix_result_free(r);
    pf_schema_free(d);
    remove_dir(dir);
    remove_dir(src);
}

/* ---- nothing to do, dry runs and failures ---- */

static void test_nothing_to_fix(void)
{
    pf_schema *d = model(DREAMINA);
    const char *dir = make_dir();
    pf_fix_result *r = fix_schema(d, dir, NULL, "prompt=hi",
                                  arg("image_urls", FIXTURE("jpg_640x480.jpg")), NULL);
    int temporaries;

    ASSERT_EQ(pf_fix_result_change_count(r), 0);
    ASSERT_EQ(pf_fix_result_exit_code(r), 0);
    ASSERT_CONTAINS(pf_fix_result_request_json(r), FIXTURE("jpg_640x480.jpg"));
    ASSERT_EQ(count_files(dir, &temporaries), 0);
    pf_fix_result_free(r);
    /* A non-media violation stays: exit 1, nothing written. */
    r = fix_schema(d, dir, NULL, "prompt=hi", "frames:=7",
                   arg("image_urls", FIXTURE("jpg_640x480.jpg")), NULL);
    ASSERT_EQ(pf_fix_result_change_count(r), 0);
    ASSERT_EQ(pf_fix_result_exit_code(r), 1);
    ASSERT_EQ(count_files(dir, &temporaries), 0);
    pf_fix_result_free(r);
    pf_schema_free(d);
    remove_dir(dir);
}

static void test_dry_run_writes_nothing(void)
{
    pf_schema *g = model(GEN3);
    char dir[300];
    pf_fix_options o = PF_FIX_OPTIONS_INIT;
    pf_fix_result *r;
    const pf_fix_change *c;
    char *json;
    struct stat st;

    snprintf(dir, sizeof dir, "%s/not-made", make_dir());
    o.dry_run = 1;
    r = fix_schema(g, dir, &o, "promptText=hi", arg("promptImage", FIXTURE("jpg_8000x4000.jpg")),
                   NULL);
    ASSERT_EQ(pf_fix_result_change_count(r), 1);
    c = pf_fix_result_change(r, 0);
    ASSERT_EQ(c->status, PF_FIX_PLANNED);
    ASSERT_EQ(c->width, 6665);
    ASSERT_EQ(c->height, 3999);
    ASSERT_EQ(c->file_size, -1);
    ASSERT_CONTAINS(c->output, "not-made/jpg_8000x4000.jpg");
    ASSERT_CONTAINS(c->summary, "8000×4000 JPEG");
    ASSERT_CONTAINS(c->summary, "→ 6665×3999 JPEG (crop 1336 px)");
    ASSERT_EQ(pf_fix_result_exit_code(r), 0);
    ASSERT(stat(dir, &st) != 0 && errno == ENOENT);
    json = pf_fix_result_to_json(r);
    ASSERT_CONTAINS(json, "\"dry_run\":true");
    ASSERT_CONTAINS(json, "\"status\":\"planned\"");
    pf_free(json);
    pf_fix_result_free(r);
    *strrchr(dir, '/') = '\0';
    remove_dir(dir);
    pf_schema_free(g);
}

/* A failure: recorded with its code and a message naming the file, exit
 * status as documented, and the output directory left empty. */
static void expect_failure(const pf_schema *s, const char *field, const char *path,
                           pf_err code, int exit_code)
{
    const char *dir = make_dir();
    pf_fix_result *r = fix_schema(s, dir, NULL, "prompt=hi", "promptText=hi",
                                  arg(field, path), NULL);
    const pf_fix_change *c;
    int temporaries;

    if (pf_fix_result_change_count(r) != 1) {
        dump(r);
        FAIL_AT("expected one failure");
    }
    c = pf_fix_result_change(r, 0);
    ASSERT_EQ(c->status, PF_FIX_FAILED);
    if (c->code != code) {
        dump(r);
        FAIL_AT("%s: code %s, expected %s", path, pf_err_name(c->code), pf_err_name(code));
    }
    ASSERT_CONTAINS(c->message, strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
    ASSERT(!c->output);
    ASSERT_EQ(pf_fix_result_exit_code(r), exit_code);
    ASSERT_EQ(count_files(dir, &temporaries), 0);
    pf_fix_result_free(r);
    remove_dir(dir);
}

static void test_failures_leave_nothing(void)
{
    static const char text[] =
        "{\"preflight_rules\":1,\"model\":\"test/unmeetable\",\"media\":{\"image\":\"image\"},"
        "\"input_schema\":{\"type\":\"object\",\"properties\":{\"image\":{\"type\":\"string\","
        "\"validations\":["
        "{\"validation_rule\":\"width_pixels<=\",\"validation_value\":1000},"
        "{\"validation_rule\":\"file_size_mb>\",\"validation_value\":5,"
        "\"validation_error\":\"File size must be over 5 MB.\"}]}}}}";
    pf_schema *d = model(DREAMINA), *g = model(GEN3), *a = model(ALEPH), *u = NULL;
    char *uri;
    size_t len;
    uint8_t *jpeg;

    /* unreadable sources: what the check said, exit 2 */
    expect_failure(d, "image_urls", CORRUPT("truncated.jpg"), PF_ECORRUPT, 2);
    expect_failure(d, "image_urls", CORRUPT("truncated.png"), PF_ECORRUPT, 2);
    expect_failure(d, "image_urls", CORRUPT("garbage.png"), PF_ECORRUPT, 2);
    expect_failure(d, "image_urls", CORRUPT("text.jpg"), PF_EFORMAT, 2);
    /* headers that claim too many pixels: refused before allocating */
    expect_failure(d, "image_urls", CORRUPT("huge_65000.jpg"), PF_ELIMIT, 2);
    expect_failure(d, "image_urls", CORRUPT("huge_100000.png"), PF_ELIMIT, 2);
    /* video where an image goes: cannot fix (videos: test_fix_video.c) */
    expect_failure(g, "promptImage", FIXTURE("mp4_noaudio.mp4"), PF_ECANNOT, 1);
    expect_failure(a, "image_url", CORRUPT("truncated.mp4"), PF_ECORRUPT, 2);
    /* an output that would still be rejected is not handed over */
    ASSERT_EQ(pf_schema_load_text(ctx, text, sizeof text - 1, "unmeetable", &u), PF_OK);
    expect_failure(u, "image", FIXTURE("jpg_4097x2000.jpg"), PF_ECANNOT, 1);
    pf_schema_free(u);
    /* a data URI is checked but only files are fixed */
    jpeg = slurp(FIXTURE("jpg_1500x500.jpg"), &len);
    uri = malloc(len * 2 + 64);
    ASSERT(uri);
    strcpy(uri, "data:image/jpeg;base64,");
    {
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *o = uri + strlen(uri);

        for (size_t i = 0; i < len; i += 3) {
            uint32_t v = (uint32_t)jpeg[i] << 16 | (i + 1 < len ? (uint32_t)jpeg[i + 1] << 8 : 0) |
                         (i + 2 < len ? jpeg[i + 2] : 0);

            *o++ = b64[v >> 18];
            *o++ = b64[(v >> 12) & 63];
            *o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
            *o++ = i + 2 < len ? b64[v & 63] : '=';
        }
        *o = '\0';
    }
    {
        const char *dir = make_dir();
        pf_request *req = pf_request_new();
        pf_fix_result *r = NULL;
        int temporaries;

        ASSERT_EQ(pf_request_add_string(ctx, req, "prompt", "hi"), PF_OK);
        ASSERT_EQ(pf_request_add_string(ctx, req, "image_urls", uri), PF_OK);
        ASSERT_EQ(pf_fix(ctx, d, req, dir, NULL, &r), PF_OK);
        ASSERT_EQ(pf_fix_result_change_count(r), 1);
        ASSERT_EQ(pf_fix_result_change(r, 0)->code, PF_ECANNOT);
        ASSERT_CONTAINS(pf_fix_result_change(r, 0)->message, "data URI");
        ASSERT_EQ(count_files(dir, &temporaries), 0);
        pf_fix_result_free(r);
        pf_request_free(req);
        remove_dir(dir);
    }
    free(uri);
    free(jpeg);
    pf_schema_free(d);
    pf_schema_free(g);
    pf_schema_free(a);
}

static void test_never_over_the_original(void)
{
    pf_schema *d = model(DREAMINA);
    const char *dir = make_dir();
    char path[300];
    size_t len;
    uint8_t *data = slurp(FIXTURE("jpg_1500x500.jpg"), &len), *after;
    pf_fix_result *r;
    const pf_fix_change *c;
    int temporaries;

    /* The source sits in the output directory, with the very name the
     * output would take. */
    snprintf(path, sizeof path, "%s/jpg_1500x500.jpg", dir);
    spit(path, data, len);
    r = fix_schema(d, dir, NULL, "prompt=hi", arg("image_urls", path), NULL);
    c = done(r);
    ASSERT_CONTAINS(c->output, "/jpg_1500x500-1.jpg");
    ASSERT_EQ(count_files(dir, &temporaries), 2);
    ASSERT_EQ(temporaries, 0);
    after = slurp(path, &len);
    ASSERT(memcmp(after, data, len) == 0);
    free(after);
    pf_fix_result_free(r);
    /* Fixing the same file twice gives the same name, replaced. */
    r = fix_schema(d, dir, NULL, "prompt=hi", arg("image_urls", path), NULL);
    ASSERT_CONTAINS(done(r)->output, "/jpg_1500x500-1.jpg");
    ASSERT_EQ(count_files(dir, &temporaries), 2);
    pf_fix_result_free(r);
    free(data);
    pf_schema_free(d);
    remove_dir(dir);
}

static void test_full_disk(void)
{
    int fd = open("/dev/full", O_WRONLY);
    static const char data[4096];

    if (fd < 0) {
        fprintf(stderr, "   /dev/full missing: skipped\n");
        return;
    }
    ASSERT_EQ(pf__fix_write_all(ctx, fd, data, sizeof data, "out"), PF_ENOSPC);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "out");
    ASSERT_STR_EQ(pf_err_name(PF_ENOSPC), "no_space");
    ASSERT_STR_EQ(pf_err_name(PF_ECANNOT), "cannot_fix");
    close(fd);
}

/* Large reductions: one libswscale pass of more than ~25x (Lanczos) read
 * out of bounds (fuzz_fix, a 16x12090 WebP); pf__av_resize steps down in
 * area-averaging passes. A grey ramp must come out as its mean. And no
 * pixel buffer past PF_MAX_ALLOC is allocated. */
static void test_large_reductions(void)
{
    static const int cases[][4] = { { 16, 12090, 16, 16 }, { 4000, 400, 100, 10 },
                                    { 20000, 8, 1, 1 }, { 3, 9000, 3, 2 } };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pf__image src, out;

        ASSERT_EQ(pf__image_alloc(ctx, "ramp", cases[i][0], cases[i][1], 3, &src), PF_OK);
        for (int y = 0; y < src.h; y++)
            memset(src.px + (size_t)y * src.stride, 100 + (int)(56.0 * y / src.h),
                   (size_t)src.w * 3);
        for (int f = PF__RESAMPLE_LANCZOS; f <= PF__RESAMPLE_BILINEAR; f++) {
            ASSERT_EQ(pf__av_resize(ctx, "ramp", &src, cases[i][2], cases[i][3],
                                    (enum pf__resample)f, &out), PF_OK);
            ASSERT_EQ(out.w, cases[i][2]);
            ASSERT_EQ(out.h, cases[i][3]);
            ASSERT_INT(abs(out.px[0] - (cases[i][3] == 1 ? 128 : 100)), <=, 20);
            pf__image_free(&out);
        }
        pf__image_free(&src);
    }
    ASSERT_EQ(pf__image_alloc(ctx, "huge", 10000, 9000, 3, &(struct pf__image){ 0 }),
              PF_ELIMIT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "256 MiB memory limit");
}

static void test_bad_calls(void)
{
    pf_schema *d = model(DREAMINA);
    pf_request *req = pf_request_new();
    pf_fix_result *r = (pf_fix_result *)&r;
    pf_fix_options o = PF_FIX_OPTIONS_INIT;

    ASSERT_EQ(pf_fix(ctx, d, req, "", NULL, &r), PF_EUSAGE);
    ASSERT(!r);
    o.fit = 7;
    ASSERT_EQ(pf_fix(ctx, d, req, "/tmp", &o, &r), PF_EUSAGE);
    /* Nothing needs fixing: the directory is not even made... */
    ASSERT_EQ(pf_request_add_file(ctx, req, "image_urls", FIXTURE("jpg_640x480.jpg")),
              PF_OK);
    ASSERT_EQ(pf_request_add_string(ctx, req, "prompt", "hi"), PF_OK);
    ASSERT_EQ(pf_fix(ctx, d, req, "/dev/null/x", NULL, &r), PF_OK);
    ASSERT_EQ(pf_fix_result_change_count(r), 0);
    pf_fix_result_free(r);
    /* ...and when it cannot be made, the fix fails, naming it. */
    pf_request_free(req);
    req = pf_request_new();
    ASSERT_EQ(pf_request_add_file(ctx, req, "image_urls", FIXTURE("jpg_1500x500.jpg")),
              PF_OK);
    ASSERT_EQ(pf_fix(ctx, d, req, "/dev/null/x", NULL, &r), PF_OK);
    ASSERT_EQ(pf_fix_result_change_count(r), 1);
    ASSERT_EQ(pf_fix_result_change(r, 0)->status, PF_FIX_FAILED);
    ASSERT_CONTAINS(pf_fix_result_change(r, 0)->message, "/dev/null");
    ASSERT_EQ(pf_fix_result_exit_code(r), 2);
    pf_fix_result_free(r);
    pf_fix_result_free(NULL);
    pf_request_free(req);
    pf_schema_free(d);
}

/* With arguments, only the cases whose names contain one of them run:
 * valgrind replays the small ones (tests/CMakeLists.txt). */
static int wanted(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i]))
            return 1;
    return argc < 2;
}

#define RUN_CASE(fn)                                                         \
    do {                                                                     \
        if (wanted(argc, argv, #fn))                                         \
            RUN(fn);                                                         \
    } while (0)

int main(int argc, char **argv)
{
    ctx = pf_ctx_new();
    RUN_CASE(test_limits_read_like_the_check);
    RUN_CASE(test_plans_at_the_boundaries);
    RUN_CASE(test_impossible_plans);
    RUN_CASE(test_quality_search);
    RUN_CASE(test_fix_to_a_size_limit);
    RUN_CASE(test_dreamina_fixes);
    RUN_CASE(test_gen3_fixes);
    RUN_CASE(test_orientation_baked_in);
    RUN_CASE(test_every_orientation);
    RUN_CASE(test_small_formats);
    RUN_CASE(test_transparency_kept);
    RUN_CASE(test_nothing_to_fix);
    RUN_CASE(test_dry_run_writes_nothing);
    RUN_CASE(test_failures_leave_nothing);
    RUN_CASE(test_never_over_the_original);
    RUN_CASE(test_full_disk);
    RUN_CASE(test_large_reductions);
    RUN_CASE(test_bad_calls);
    pf_ctx_free(ctx);
    return 0;
}
