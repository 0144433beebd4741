/*
 * The validation_rule interpreter: parsing, and every rule of every bundled
 * schema evaluated just below, at and just above its boundary.
 */
#include <math.h>

#include "rules/rules_internal.h"
#include "test.h"

static pf_media_info image(int w, int h, int64_t bytes)
{
    pf_media_info in = PF_MEDIA_INFO_INIT;

    memset(&in, 0, sizeof in);
    in.kind = PF_MEDIA_IMAGE;
    in.width = in.coded_width = w;
    in.height = in.coded_height = h;
    in.file_size = bytes;
    in.duration = in.fps = -1;
    in.frame_count = in.bit_rate = -1;
    strcpy(in.format, "jpeg");
    strcpy(in.codec, "jpeg");
    return in;
}

static enum pf__verdict eval(const char *rule_text, double limit, pf_media_info in)
{
    struct pf__rule rule;
    struct pf__subject subject = { &in, "file" };
    cJSON *lim = cJSON_CreateNumber(limit), *actual = NULL;
    enum pf__verdict v;

    ASSERT_EQ(pf__rule_parse(rule_text, &rule), 0);
    v = pf__rule_eval(&rule, lim, &subject, &actual);
    cJSON_Delete(lim);
    cJSON_Delete(actual);
    return v;
}

static void test_parse(void)
{
    struct pf__rule r;

    ASSERT_EQ(pf__rule_parse("width_pixels<=", &r), 0);
    ASSERT_STR_EQ(r.metric, "width_pixels");
    ASSERT_EQ(r.op, PF__OP_LE);
    ASSERT_EQ(pf__rule_parse("width/height<", &r), 0);
    ASSERT_STR_EQ(r.metric, "width/height");
    ASSERT_EQ(r.op, PF__OP_LT);
    ASSERT_EQ(pf__rule_parse("file_size_mb< ", &r), 0);
    ASSERT_STR_EQ(r.metric, "file_size_mb");
    ASSERT_EQ(pf__rule_parse("duration_seconds >=", &r), 0);
    ASSERT_STR_EQ(r.metric, "duration_seconds");
    ASSERT_EQ(r.op, PF__OP_GE);
    ASSERT_EQ(pf__rule_parse("fps!=", &r), 0);
    ASSERT_EQ(r.op, PF__OP_NE);
    ASSERT_EQ(pf__rule_parse("format==", &r), 0);
    ASSERT_EQ(r.op, PF__OP_EQ);
    ASSERT_EQ(pf__rule_parse("width_pixels", &r), -1);
    ASSERT_EQ(pf__rule_parse("<", &r), -1);
    ASSERT_EQ(pf__rule_parse("", &r), -1);
    ASSERT_EQ(pf__rule_parse(NULL, &r), -1);
}

/* The documents' own boundaries, by hand. */
static void test_documented_boundaries(void)
{
    /* dreamina: width/height< 3 — exactly 3.0 fails, just under passes */
    ASSERT_EQ(eval("width/height<", 3, image(1500, 500, 1)), PF__FAIL);
    ASSERT_EQ(eval("width/height<", 3, image(1499, 500, 1)), PF__PASS);
    /* dreamina: width/height> 0.33 — exactly 0.33 fails */
    ASSERT_EQ(eval("width/height>", 0.33, image(330, 1000, 1)), PF__FAIL);
    ASSERT_EQ(eval("width/height>", 0.33, image(331, 1000, 1)), PF__PASS);
    /* dreamina: width_pixels> 320 — the rule, not the message's "at least" */
    ASSERT_EQ(eval("width_pixels>", 320, image(320, 480, 1)), PF__FAIL);
    ASSERT_EQ(eval("width_pixels>", 320, image(321, 480, 1)), PF__PASS);
    ASSERT_EQ(eval("width_pixels<=", 4096, image(4096, 4096, 1)), PF__PASS);
    ASSERT_EQ(eval("width_pixels<=", 4096, image(4097, 4096, 1)), PF__FAIL);
    /* file_size_mb< 4.7 in decimal megabytes: 4,700,000 bytes fail */
    ASSERT_EQ(eval("file_size_mb<", 4.7, image(640, 480, 4700000)), PF__FAIL);
    ASSERT_EQ(eval("file_size_mb<", 4.7, image(640, 480, 4699999)), PF__PASS);
    ASSERT_EQ(eval("file_size_mb<", 16, image(640, 480, 16000000)), PF__FAIL);
    ASSERT_EQ(eval("file_size_mb<", 16, image(640, 480, 15999999)), PF__PASS);
    /* a lower size limit reads MiB: 1 MB minimum needs 1,048,576 bytes */
    ASSERT_EQ(eval("file_size_mb>=", 1, image(640, 480, 1000000)), PF__FAIL);
    ASSERT_EQ(eval("file_size_mb>=", 1, image(640, 480, 1048576)), PF__PASS);
    /* gen-3: 1:2 to 2:1, both ends open */
    ASSERT_EQ(eval("width/height<", 2, image(8000, 4000, 1)), PF__FAIL);
    ASSERT_EQ(eval("width/height>", 0.5, image(4000, 8000, 1)), PF__FAIL);
    ASSERT_EQ(eval("width_pixels<", 8000, image(8000, 10, 1)), PF__FAIL);
    ASSERT_EQ(eval("width_pixels<", 8000, image(7999, 10, 1)), PF__PASS);
}

static void test_other_metrics(void)
{
    pf_media_info v = image(1920, 1080, 5000000);
    struct pf__rule r;
    struct pf__subject s = { &v, "https" };
    cJSON *lim, *actual = NULL;

    v.kind = PF_MEDIA_VIDEO;
    v.duration = 10.0;
    v.fps = 30;
    v.frame_count = 300;
    v.has_audio = 1;
    ASSERT_EQ(eval("duration_seconds<=", 10, v), PF__PASS);
    ASSERT_EQ(eval("duration_seconds<", 10, v), PF__FAIL);
    ASSERT_EQ(eval("fps<=", 30, v), PF__PASS);
    ASSERT_EQ(eval("frame_rate>", 30, v), PF__FAIL);
    ASSERT_EQ(eval("frame_count==", 300, v), PF__PASS);
    ASSERT_EQ(eval("frame_count!=", 300, v), PF__FAIL);
    ASSERT_EQ(eval("short_side_pixels>=", 1080, v), PF__PASS);
    ASSERT_EQ(eval("long_side_pixels<", 1920, v), PF__FAIL);
    ASSERT_EQ(eval("megapixels<=", 2.0736, v), PF__PASS);
    ASSERT_EQ(eval("height/width<", 0.5625, v), PF__FAIL);
    /* a still image has no duration: not measured, not passed */
    ASSERT_EQ(eval("duration_seconds<", 5, image(10, 10, 1)), PF__NOT_MEASURED);
    /* unknown metrics are reported, never passed */
    ASSERT_EQ(eval("loudness_lufs<", -14, v), PF__UNKNOWN_METRIC);

    /* string metrics: "one of" with an array limit */
    ASSERT_EQ(pf__rule_parse("format==", &r), 0);
    lim = cJSON_Parse("[\"jpeg\",\"png\"]");
    ASSERT_EQ(pf__rule_eval(&r, lim, &s, &actual), PF__PASS);
    cJSON_Delete(actual);
    strcpy(v.format, "webp");
    ASSERT_EQ(pf__rule_eval(&r, lim, &s, &actual), PF__FAIL);
    ASSERT_STR_EQ(actual->valuestring, "webp");
    cJSON_Delete(actual);
    cJSON_Delete(lim);
    /* a numeric metric with a string limit cannot be checked */
    lim = cJSON_CreateString("16");
    ASSERT_EQ(pf__rule_parse("file_size_mb<", &r), 0);
    ASSERT_EQ(pf__rule_eval(&r, lim, &s, &actual), PF__BAD_VALUE);
    cJSON_Delete(lim);
    /* url_scheme needs no probe */
    ASSERT_EQ(pf__rule_parse("url_scheme==", &r), 0);
    ASSERT_EQ(pf__rule_needs_probe(&r), 0);
    lim = cJSON_Parse("[\"https\",\"data\"]");
    s.info = NULL;
    s.scheme = "data";
    ASSERT_EQ(pf__rule_eval(&r, lim, &s, &actual), PF__PASS);
    cJSON_Delete(actual);
    s.scheme = "http";
    ASSERT_EQ(pf__rule_eval(&r, lim, &s, &actual), PF__FAIL);
    cJSON_Delete(actual);
    cJSON_Delete(lim);
}

/* An image whose metric lands exactly on limit (or as near as integers
 * allow), then one step either side. Returns 0 when the metric is not
 * geometric or size-based. */
static int image_at(const char *metric, double limit, int step, pf_media_info *in)
{
    if (strcmp(metric, "width_pixels") == 0) {
        *in = image((int)limit + step, 1000, 1000);
    } else if (strcmp(metric, "height_pixels") == 0) {
        *in = image(1000, (int)limit + step, 1000);
    } else if (strcmp(metric, "width/height") == 0) {
        /* limit = w/h with h = 1000: 0.33 → 330/1000, 3 → 3000/1000 */
        *in = image((int)lround(limit * 1000) + step, 1000, 1000);
    } else if (strcmp(metric, "file_size_mb") == 0) {
        *in = image(640, 480, (int64_t)llround(limit * 1e6) + step);
    } else {
        return 0;
    }
    return 1;
}

static void test_every_bundled_rule(void)
{
    static const char *const models[] = {
        "runwayml/runway-aleph/video-to-video",
        "runwayml/runway-gen-3-alpha/turbo/image-to-video",
        "bytedance/dreamina-3-0/pro/image-to-video",
        "cometapi:runwayml/v1/video_to_video",
    };
    int checked = 0;

    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        pf_ctx *ctx = pf_ctx_new();
        pf_schema *s = NULL;

        ASSERT_EQ(pf_schema_load_model(ctx, models[m], &s), PF_OK);
        for (size_t i = 0; i < s->media_count; i++) {
            /* The schema's own validations: compiled rules whose limit is
             * a number (the documented extensions are string rules). */
            for (size_t k = 0; k < s->media[i].rule_count; k++) {
                const struct pf__media_rule *mr = &s->media[i].rules[k];
                const char *text = mr->key;
                double limit = mr->number;
                struct pf__rule r;

                if (mr->kind != PF__LIMIT_NUMBER)
                    continue;

                ASSERT_EQ(pf__rule_parse(text, &r), 0);
                for (int step = -1; step <= 1; step++) {
                    pf_media_info in = PF_MEDIA_INFO_INIT;
                    int inside;

                    ASSERT(image_at(r.metric, limit, step, &in));
                    /* Where the boundary value itself belongs follows from
                     * the operator; one step off is on the obvious side. */
                    switch (r.op) {
                    case PF__OP_LT: inside = step < 0; break;
                    case PF__OP_LE: inside = step <= 0; break;
                    case PF__OP_GT: inside = step > 0; break;
                    case PF__OP_GE: inside = step >= 0; break;
                    default: FAIL_AT("unexpected operator in %s", text);
                    }
                    if (eval(text, limit, in) != (inside ? PF__PASS : PF__FAIL))
                        FAIL_AT("%s %s %g at step %d: expected %s", models[m], text,
                                limit, step, inside ? "pass" : "fail");
                    checked++;
                }
            }
        }
        pf_schema_free(s);
        pf_ctx_free(ctx);
    }
    /* aleph 2 + gen-3 5 + dreamina 7 rules, three points each */
    ASSERT_EQ(checked, (2 + 5 + 7) * 3);
}

int main(void)
{
    RUN(test_parse);
    RUN(test_documented_boundaries);
    RUN(test_other_metrics);
    RUN(test_every_bundled_rule);
    return 0;
}
