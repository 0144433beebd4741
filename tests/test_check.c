/*
 * The check through the public API, on real files: every parameter keyword
 * and every media rule of the bundled schemas, plus the advice and the bad
 * inputs a user will meet.
 */
#include <unistd.h>

#include "preflight.h"
#include "test.h"

#define ALEPH "runwayml/runway-aleph/video-to-video"
#define GEN3 "runwayml/runway-gen-3-alpha/turbo/image-to-video"
#define DREAMINA "bytedance/dreamina-3-0/pro/image-to-video"
#define COMET "cometapi:runwayml/v1/video_to_video"

/* Runs a check of model with "FIELD=VALUE", "FIELD:=JSON" or "FIELD=@PATH"
 * arguments, the way the CLI reads them. NULL-terminated. */
static pf_report *check(const char *model, ...)
{
    pf_ctx *ctx = pf_ctx_new();
    pf_schema *schema = NULL;
    pf_request *req = pf_request_new();
    pf_report *report = NULL;
    const char *arg;
    va_list ap;

    ASSERT_EQ(pf_schema_load_model(ctx, model, &schema), PF_OK);
    va_start(ap, model);
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
    ASSERT_EQ(pf_check(ctx, schema, req, &report), PF_OK);
    pf_request_free(req);
    pf_schema_free(schema);
    pf_ctx_free(ctx);
    return report;
}

static char *arg(const char *field, const char *fixture)
{
    static char buf[16][4200];
    static int slot;
    char *p = buf[slot++ % 16];

    snprintf(p, 4200, "%s=@%s", field, fixture);
    return p;
}

static const pf_violation *find(const pf_report *r, const char *field, const char *rule)
{
    for (size_t i = 0; i < pf_report_violation_count(r); i++) {
        const pf_violation *v = pf_report_violation(r, i);

        if (strcmp(v->field, field) == 0 && strcmp(v->rule, rule) == 0)
            return v;
    }
    return NULL;
}

static void dump(const pf_report *r)
{
    char *json = pf_report_to_json(r);

    fprintf(stderr, "report: %s\n", json);
    pf_free(json);
}

#define ASSERT_VIOLATION(r, field, rule)                                     \
    do {                                                                     \
        if (!find(r, field, rule)) {                                         \
            dump(r);                                                         \
            FAIL_AT("no %s violation on %s", rule, field);                   \
        }                                                                    \
    } while (0)
#define ASSERT_NO_VIOLATION(r, field, rule)                                  \
    do {                                                                     \
        if (find(r, field, rule)) {                                          \
            dump(r);                                                         \
            FAIL_AT("unexpected %s violation on %s", rule, field);           \
        }                                                                    \
    } while (0)
#define ASSERT_OK(r)                                                         \
    do {                                                                     \
        if (!pf_report_ok(r)) {                                              \
            dump(r);                                                         \
            FAIL_AT("expected a passing report");                            \
        }                                                                    \
    } while (0)

static int has_warning(const pf_report *r, const char *field, const char *text)
{
    for (size_t i = 0; i < pf_report_warning_count(r); i++) {
        const pf_warning *w = pf_report_warning(r, i);

        if (strcmp(w->field, field) == 0 && strstr(w->message, text))
            return 1;
    }
    return 0;
}

/* ---- parameters ---- */

static void test_required_and_defaults(void)
{
    pf_report *r = check(DREAMINA, NULL);

    ASSERT_VIOLATION(r, "prompt", "required");
    ASSERT_VIOLATION(r, "image_urls", "required");
    ASSERT_EQ(pf_report_exit_code(r), 1);
    ASSERT_CONTAINS(pf_report_defaults_json(r), "\"frames\":121");
    ASSERT_CONTAINS(pf_report_defaults_json(r), "\"seed\":-1");
    pf_report_free(r);

    /* aleph lists ratio as required and gives it a default: still required */
    r = check(ALEPH, "prompt=x", arg("video_url", FIXTURE("mp4_h264_640x360_2s.mp4")), NULL);
    ASSERT_VIOLATION(r, "ratio", "required");
    ASSERT_CONTAINS(find(r, "ratio", "required")->message, "ratio=1280:720");
    pf_report_free(r);
}

static void test_max_length_counts_characters(void)
{
    char field[4000] = "promptText=";
    pf_report *r;

    /* 512 Chinese characters: 1536 bytes, fits maxLength 512 */
    for (int i = 0; i < 512; i++)
        strcat(field, "画");
    r = check(GEN3, field, arg("promptImage", FIXTURE("jpg_640x480.jpg")), NULL);
    ASSERT_OK(r);
    pf_report_free(r);
    strcat(field, "画");
    r = check(GEN3, field, arg("promptImage", FIXTURE("jpg_640x480.jpg")), NULL);
    ASSERT_VIOLATION(r, "promptText", "maxLength");
    ASSERT_STR_EQ(find(r, "promptText", "maxLength")->actual, "513");
    ASSERT_STR_EQ(find(r, "promptText", "maxLength")->limit, "512");
    pf_report_free(r);
}

static void test_enum_type_minimum_maximum(void)
{
    pf_report *r = check(GEN3, "promptText=x", arg("promptImage", FIXTURE("jpg_640x480.jpg")),
                         "ratio=1280:720", "duration:=7", "seed:=4294967296", NULL);

    ASSERT_VIOLATION(r, "ratio", "enum");
    ASSERT_CONTAINS(find(r, "ratio", "enum")->message, "1280:768");
    ASSERT_VIOLATION(r, "duration", "enum");
    ASSERT_VIOLATION(r, "seed", "maximum");
    pf_report_free(r);

    r = check(GEN3, "promptText=x", arg("promptImage", FIXTURE("jpg_640x480.jpg")),
              "ratio=768:1280", "duration:=10", "seed:=4294967295", NULL);
    ASSERT_NO_VIOLATION(r, "seed", "maximum");
    ASSERT_NO_VIOLATION(r, "duration", "enum");
    pf_report_free(r);

    r = check(GEN3, "promptText=x", arg("promptImage", FIXTURE("jpg_640x480.jpg")),
              "seed:=-1", "duration=5", NULL);
    ASSERT_VIOLATION(r, "seed", "minimum");
    /* a string "5" is not the integer 5; the message says how to pass one */
    ASSERT_VIOLATION(r, "duration", "type");
    ASSERT_CONTAINS(find(r, "duration", "type")->message, "duration:=5");
    pf_report_free(r);

    r = check(GEN3, "promptText=x", arg("promptImage", FIXTURE("jpg_640x480.jpg")),
              "seed:=1.5", NULL);
    ASSERT_VIOLATION(r, "seed", "type");
    pf_report_free(r);

    r = check(DREAMINA, "prompt=x", arg("image_urls", FIXTURE("jpg_640x480.jpg")),
              "frames:=241", NULL);
    ASSERT_OK(r);
    pf_report_free(r);
    r = check(DREAMINA, "prompt=x", arg("image_urls", FIXTURE("jpg_640x480.jpg")),
              "frames:=120", NULL);
    ASSERT_VIOLATION(r, "frames", "enum");
    pf_report_free(r);
}

static void test_items(void)
{
    /* a scalar for an array field becomes one element; repeating appends */
    pf_report *r = check(DREAMINA, "prompt=x", arg("image_urls", FIXTURE("jpg_640x480.jpg")),
                         arg("image_urls", FIXTURE("jpg_1500x500.jpg")), NULL);

    ASSERT_VIOLATION(r, "image_urls", "maxItems");
    ASSERT_VIOLATION(r, "image_urls[1]", "width/height<");
    ASSERT_NO_VIOLATION(r, "image_urls[0]", "width/height<");
    pf_report_free(r);

    r = check(DREAMINA, "prompt=x", "image_urls:=[]", NULL);
    ASSERT_VIOLATION(r, "image_urls", "minItems");
    pf_report_free(r);

    r = check(COMET, "promptText=x", "model=gen4_aleph",
              arg("videoUri", FIXTURE("mp4_h264_640x360_2s.mp4")),
              "references:=[{\"type\":\"video\",\"uri\":\"https://example.invalid/a.jpg\"},{}]",
              NULL);
    ASSERT_VIOLATION(r, "references[0].type", "enum");
    ASSERT_VIOLATION(r, "references[1].uri", "required");
    pf_report_free(r);
}

static void test_unknown_field_warns(void)
{
    pf_report *r = check(DREAMINA, "prompt=x", arg("image_urls", FIXTURE("jpg_640x480.jpg")),
                         "negative_prompt=blur", NULL);

    ASSERT_OK(r);
    ASSERT(has_warning(r, "negative_prompt", "not in the model's schema"));
    pf_report_free(r);
}

/* ---- media rules of each bundled schema, on real files ---- */

static void expect_image(const char *model, const char *field, const char *fixture,
                         const char *rule, int violated)
{
    pf_report *r;
    char path[64];

    if (strcmp(model, DREAMINA) == 0) {
        r = check(model, "prompt=x", arg(field, FIXTURE(fixture)), NULL);
        snprintf(path, sizeof path, "%s[0]", field);
    } else {
        r = check(model, "promptText=x", arg(field, FIXTURE(fixture)), NULL);
        snprintf(path, sizeof path, "%s", field);
    }
    ASSERT_EQ(pf_report_error_count(r), 0);
    if (violated)
        ASSERT_VIOLATION(r, path, rule);
    else
        ASSERT_NO_VIOLATION(r, path, rule);
    pf_report_free(r);
}

static void test_gen3_image_rules(void)
{
    expect_image(GEN3, "promptImage", "jpg_8000x4000.jpg", "width_pixels<", 1);
    expect_image(GEN3, "promptImage", "jpg_8000x4000.jpg", "width/height<", 1);
    expect_image(GEN3, "promptImage", "jpg_7999x4000.jpg", "width_pixels<", 0);
    expect_image(GEN3, "promptImage", "jpg_7999x4000.jpg", "width/height<", 0);
    expect_image(GEN3, "promptImage", "jpg_4000x8000.jpg", "height_pixels<", 1);
    expect_image(GEN3, "promptImage", "jpg_4000x8000.jpg", "width/height>", 1);
    expect_image(GEN3, "promptImage", "jpg_4000x7999.jpg", "height_pixels<", 0);
    expect_image(GEN3, "promptImage", "jpg_4000x7999.jpg", "width/height>", 0);
    expect_image(GEN3, "promptImage", "png_size_16000000.png", "file_size_mb<", 1);
    expect_image(GEN3, "promptImage", "png_size_15999999.png", "file_size_mb<", 0);
}

static void test_dreamina_image_rules(void)
{
    expect_image(DREAMINA, "image_urls", "jpg_4096x4096.jpg", "width_pixels<=", 0);
    expect_image(DREAMINA, "image_urls", "jpg_4096x4096.jpg", "height_pixels<=", 0);
    expect_image(DREAMINA, "image_urls", "jpg_4097x2000.jpg", "width_pixels<=", 1);
    expect_image(DREAMINA, "image_urls", "jpg_2000x4097.jpg", "height_pixels<=", 1);
    expect_image(DREAMINA, "image_urls", "jpg_320x480.jpg", "width_pixels>", 1);
    expect_image(DREAMINA, "image_urls", "jpg_321x480.jpg", "width_pixels>", 0);
    expect_image(DREAMINA, "image_urls", "jpg_480x320.jpg", "height_pixels>", 1);
    expect_image(DREAMINA, "image_urls", "jpg_480x321.jpg", "height_pixels>", 0);
    expect_image(DREAMINA, "image_urls", "jpg_1500x500.jpg", "width/height<", 1);
    expect_image(DREAMINA, "image_urls", "jpg_1499x500.jpg", "width/height<", 0);
    expect_image(DREAMINA, "image_urls", "jpg_330x1000.jpg", "width/height>", 1);
    expect_image(DREAMINA, "image_urls", "jpg_331x1000.jpg", "width/height>", 0);
    expect_image(DREAMINA, "image_urls", "jpg_size_4700000.jpg", "file_size_mb<", 1);
    expect_image(DREAMINA, "image_urls", "jpg_size_4699999.jpg", "file_size_mb<", 0);
    /* the documented extension: JPEG or PNG only */
    expect_image(DREAMINA, "image_urls", "img.webp", "format==", 1);
    expect_image(DREAMINA, "image_urls", "png_640x480.png", "format==", 0);
    /* EXIF orientation: stored 4000x3000, displayed 3000x4000 */
    {
        pf_report *r = check(DREAMINA, "prompt=x",
                             arg("image_urls", FIXTURE("jpg_exif6_4000x3000.jpg")), NULL);
        const pf_media_info *in = pf_report_input(r, 0, NULL, NULL);

        ASSERT(in);
        ASSERT_EQ(in->width, 3000);
        ASSERT_EQ(in->height, 4000);
        pf_report_free(r);
    }
    /* the violation carries limit, actual and the schema's own words */
    {
        pf_report *r = check(DREAMINA, "prompt=x",
                             arg("image_urls", FIXTURE("jpg_1500x500.jpg")), NULL);
        const pf_violation *v = find(r, "image_urls[0]", "width/height<");

        ASSERT(v);
        ASSERT_STR_EQ(v->limit, "3");
        ASSERT_STR_EQ(v->actual, "3");
        ASSERT_STR_EQ(v->message, "The ratio of long side to short side must be within 3:1.");
        pf_report_free(r);
    }
}

static void test_aleph_video_rules(void)
{
    pf_report *r = check(ALEPH, "prompt=x", "ratio=1280:720",
                         arg("video_url", FIXTURE("mp4_size_16000000.mp4")),
                         arg("image_url", FIXTURE("png_size_16000000.png")), NULL);

    ASSERT_VIOLATION(r, "video_url", "file_size_mb<");
    ASSERT_VIOLATION(r, "image_url", "file_size_mb<");
    ASSERT_STR_EQ(find(r, "video_url", "file_size_mb<")->message,
                  "File size must be less than 16 MB.");
    pf_report_free(r);

    r = check(ALEPH, "prompt=x", "ratio=1280:720",
              arg("video_url", FIXTURE("mp4_size_15999999.mp4")),
              arg("image_url", FIXTURE("png_size_15999999.png")), NULL);
    ASSERT_OK(r);
    pf_report_free(r);
}

static void test_media_type(void)
{
    pf_report *r = check(ALEPH, "prompt=x", "ratio=1280:720",
                         arg("video_url", CORRUPT("audio_only.mp4")), NULL);

    ASSERT_VIOLATION(r, "video_url", "media_type");
    ASSERT_CONTAINS(find(r, "video_url", "media_type")->message, "no video stream");
    pf_report_free(r);

    r = check(ALEPH, "prompt=x", "ratio=1280:720",
              arg("video_url", FIXTURE("jpg_640x480.jpg")), NULL);
    ASSERT_VIOLATION(r, "video_url", "media_type");
    pf_report_free(r);
}

/* ---- advice ---- */

static void test_ratio_advice(void)
{
    pf_report *r = check(ALEPH, "prompt=x", "ratio=1280:720",
                         arg("video_url", FIXTURE("mp4_vertical_720x1280.mp4")), NULL);

    ASSERT_OK(r);
    ASSERT(has_warning(r, "video_url", "cropped or letterboxed"));
    pf_report_free(r);

    /* a rotated phone clip is portrait as displayed */
    r = check(ALEPH, "prompt=x", "ratio=720:1280",
              arg("video_url", FIXTURE("mp4_rot90.mp4")), NULL);
    ASSERT(!has_warning(r, "video_url", "cropped"));
    pf_report_free(r);
    r = check(ALEPH, "prompt=x", "ratio=1280:720",
              arg("video_url", FIXTURE("mp4_h264_640x360_2s.mp4")), NULL);
    ASSERT(!has_warning(r, "video_url", "cropped"));
    pf_report_free(r);
}

static void test_url_schemes(void)
{
    pf_report *r = check(DREAMINA, "prompt=x", "image_urls=http://example.invalid/a.jpg", NULL);

    /* not probed (no --allow-http): a violation, no network */
    ASSERT_VIOLATION(r, "image_urls[0]", "url_scheme==");
    ASSERT_EQ(pf_report_input_count(r), 0);
    pf_report_free(r);

    r = check(DREAMINA, "prompt=x", "image_urls=ftp://example.invalid/a.jpg", NULL);
    ASSERT_VIOLATION(r, "image_urls[0]", "url_scheme==");
    pf_report_free(r);

    /* RunComfy fetches URLs only; CometAPI's videoUri takes data URIs */
    r = check(DREAMINA, "prompt=x",
              "image_urls=data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
              NULL);
    ASSERT_VIOLATION(r, "image_urls[0]", "url_scheme==");
    pf_report_free(r);

    r = check(COMET, "promptText=x", "model=gen4_aleph",
              "videoUri=data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
              NULL);
    ASSERT_NO_VIOLATION(r, "videoUri", "url_scheme==");
    ASSERT_VIOLATION(r, "videoUri", "media_type");   /* a PNG is no video */
    pf_report_free(r);

    r = check(DREAMINA, "prompt=x", "image_urls=", NULL);
    ASSERT_VIOLATION(r, "image_urls[0]", "required");
    pf_report_free(r);
}

/* ---- inputs that cannot be checked ---- */

static void expect_input_error(const char *fixture_path, pf_err code)
{
    pf_report *r = check(DREAMINA, "prompt=x", arg("image_urls", fixture_path), NULL);
    const pf_input_error *e = pf_report_error(r, 0);

    if (!e) {
        dump(r);
        FAIL_AT("%s: expected an input error", fixture_path);
    }
    ASSERT_EQ(e->code, code);
    ASSERT_STR_EQ(e->field, "image_urls[0]");
    ASSERT_CONTAINS(e->message, fixture_path);
    ASSERT_EQ(pf_report_exit_code(r), 2);
    ASSERT(!pf_report_ok(r));
    pf_report_free(r);
}

static void test_bad_inputs(void)
{
    expect_input_error(CORRUPT("empty.jpg"), PF_EEMPTY);
    expect_input_error(CORRUPT("text.jpg"), PF_EFORMAT);
    expect_input_error(CORRUPT("truncated.jpg"), PF_ECORRUPT);
    expect_input_error(CORRUPT("truncated.png"), PF_ECORRUPT);
    expect_input_error(CORRUPT("truncated_header.png"), PF_ECORRUPT);
    expect_input_error(CORRUPT("garbage.png"), PF_ECORRUPT);
    expect_input_error(CORRUPT("truncated_moov.mp4"), PF_ECORRUPT);
    expect_input_error(FIXTURE("no-such-file.jpg"), PF_ENOENT);

    /* a header claiming 65000x65000 is measured, not decoded: violations */
    {
        pf_report *r = check(DREAMINA, "prompt=x",
                             arg("image_urls", CORRUPT("huge_65000.jpg")), NULL);

        ASSERT_VIOLATION(r, "image_urls[0]", "width_pixels<=");
        ASSERT_EQ(pf_report_exit_code(r), 1);
        pf_report_free(r);
        r = check(DREAMINA, "prompt=x", arg("image_urls", CORRUPT("huge_100000.png")), NULL);
        ASSERT_VIOLATION(r, "image_urls[0]", "height_pixels<=");
        pf_report_free(r);
    }
}

/* ---- schemas ---- */

static void test_verbatim_schema(void)
{
    /* The input schema as pasted from the docs page, followed by the output
     * schema as the page prints it: media are inferred. */
    static const char text[] =
        "{\"type\":\"object\",\"required\":[\"prompt\",\"image_urls\"],\"properties\":{"
        "\"prompt\":{\"type\":\"string\",\"maxLength\":800},"
        "\"image_urls\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"format\":\"image_uri\"},"
        "\"maxItems\":1,\"minItems\":1,\"validations\":[{\"validation_rule\":\"width_pixels<=\","
        "\"validation_value\":4096,\"validation_error\":\"Maximum resolution is 4096x4096.\"},"
        "{\"validation_rule\":\"loudness_lufs<\",\"validation_value\":-14,\"validation_error\":\"x\"}]}}}"
        "{\"output\":{\"type\":\"object\"}}";
    pf_ctx *ctx = pf_ctx_new();
    pf_schema *s = NULL;
    pf_request *req = pf_request_new();
    pf_report *r = NULL;

    ASSERT_EQ(pf_schema_load_text(ctx, text, strlen(text), "pasted.json", &s), PF_OK);
    ASSERT_EQ(pf_request_add_string(ctx, req, "prompt", "x"), PF_OK);
    ASSERT_EQ(pf_request_add_file(ctx, req, "image_urls", FIXTURE("jpg_4097x2000.jpg")), PF_OK);
    ASSERT_EQ(pf_check(ctx, s, req, &r), PF_OK);
    ASSERT_VIOLATION(r, "image_urls[0]", "width_pixels<=");
    ASSERT(has_warning(r, "image_urls[0]", "unknown metric 'loudness_lufs'"));
    pf_report_free(r);
    pf_request_free(req);
    pf_schema_free(s);

    /* broken schemas: one clear error each */
    ASSERT_EQ(pf_schema_load_text(ctx, "{", 1, "a.json", &s), PF_EJSON);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "a.json");
    ASSERT(s == NULL);
    ASSERT_EQ(pf_schema_load_text(ctx, "[]", 2, "b.json", &s), PF_ESCHEMA);
    ASSERT_EQ(pf_schema_load_text(ctx, "{\"properties\":{\"a\":{\"validations\":[{}]}}}", 41,
                                  "c.json", &s), PF_ESCHEMA);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "validation_rule");
    ASSERT_EQ(pf_schema_load_model(ctx, "runwayml/runway-aleph/video-to-vide", &s), PF_ENOMODEL);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "did you mean 'runwayml/runway-aleph/video-to-video'");
    ASSERT_EQ(pf_schema_load_model(ctx, "../../etc/passwd", &s), PF_ENOMODEL);
    ASSERT_EQ(pf_schema_load_file(ctx, "/nonexistent/schema.json", NULL, &s), PF_ENOENT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "/nonexistent/schema.json");
    pf_ctx_free(ctx);
}

static void test_request_file(void)
{
    char path[] = "/tmp/pf-req-XXXXXX";
    int fd = mkstemp(path);
    pf_ctx *ctx = pf_ctx_new();
    pf_request *req = pf_request_new();
    char *json;
    FILE *f = fdopen(fd, "w");

    fputs("{\"prompt\":\"from file\",\"frames\":121}", f);
    fclose(f);
    ASSERT_EQ(pf_request_load_file(ctx, req, path), PF_OK);
    /* arguments override the file; repeated arguments append */
    ASSERT_EQ(pf_request_add_string(ctx, req, "prompt", "from args"), PF_OK);
    ASSERT_EQ(pf_request_add_string(ctx, req, "image_urls", "a.jpg"), PF_OK);
    ASSERT_EQ(pf_request_add_string(ctx, req, "image_urls", "b.jpg"), PF_OK);
    json = pf_request_to_json(req);
    ASSERT_STR_EQ(json, "{\"prompt\":\"from args\",\"frames\":121,\"image_urls\":[\"a.jpg\",\"b.jpg\"]}");
    pf_free(json);
    ASSERT_EQ(pf_request_add_json(ctx, req, "seed", "{oops"), PF_EJSON);
    unlink(path);
    f = fopen(path, "w");
    fputs("[1,2]", f);
    fclose(f);
    ASSERT_EQ(pf_request_load_file(ctx, req, path), PF_EJSON);
    ASSERT_CONTAINS(pf_ctx_error(ctx), path);
    unlink(path);
    pf_request_free(req);
    pf_ctx_free(ctx);
}

int main(void)
{
    RUN(test_required_and_defaults);
    RUN(test_max_length_counts_characters);
    RUN(test_enum_type_minimum_maximum);
    RUN(test_items);
    RUN(test_unknown_field_warns);
    RUN(test_gen3_image_rules);
    RUN(test_dreamina_image_rules);
    RUN(test_aleph_video_rules);
    RUN(test_media_type);
    RUN(test_ratio_advice);
    RUN(test_url_schemes);
    RUN(test_bad_inputs);
    RUN(test_verbatim_schema);
    RUN(test_request_file);
    return 0;
}
