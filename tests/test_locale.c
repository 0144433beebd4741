/*
 * The library's text does not follow the process's locale: after
 * setlocale(LC_ALL, "de_DE.UTF-8") a report still reads "(portrait, 0.562)"
 * and JSON numbers keep their '.', as the "process-wide state" contract in
 * preflight.h says. Skips (77) when the machine has no de_DE.UTF-8 (ctest's
 * locale_setup makes it with localedef where it can).
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "preflight.h"
#include "test.h"

static pf_ctx *ctx;

static const char *warning_of(const pf_report *r, const char *field)
{
    for (size_t i = 0; i < pf_report_warning_count(r); i++)
        if (strcmp(pf_report_warning(r, i)->field, field) == 0)
            return pf_report_warning(r, i)->message;
    return NULL;
}

static void test_report_text(void)
{
    pf_schema *s = NULL;
    pf_request *req = pf_request_new();
    pf_report *r = NULL;
    const char *w;
    char *json;

    ASSERT_EQ(pf_schema_load_model(ctx, "runwayml/runway-aleph/video-to-video", &s), PF_OK);
    ASSERT_EQ(pf_request_add_string(ctx, req, "prompt", "x"), PF_OK);
    ASSERT_EQ(pf_request_add_string(ctx, req, "ratio", "1280:720"), PF_OK);
    ASSERT_EQ(pf_request_add_file(ctx, req, "video_url",
                                  FIXTURE("mp4_vertical_720x1280.mp4")), PF_OK);
    ASSERT_EQ(pf_check(ctx, s, req, &r), PF_OK);
    w = warning_of(r, "video_url");
    ASSERT(w != NULL);
    ASSERT_CONTAINS(w, "(portrait, 0.562)");
    ASSERT_CONTAINS(w, "asks for landscape (1.78)");
    /* The report's JSON: the probed duration and fps with a '.'. */
    json = pf_report_to_json(r);
    ASSERT(json != NULL);
    ASSERT(strstr(json, "\"fps\":25") || strstr(json, "\"fps\":30") ||
           strstr(json, "\"fps\":29.97"));
    pf_free(json);
    pf_report_free(r);
    pf_request_free(req);
    pf_schema_free(s);
}

static void test_numbers(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    char size[32], *json;

    pf_format_size(size, sizeof size, 4699999);
    ASSERT_STR_EQ(size, "4.69 MB");
    info.kind = PF_MEDIA_VIDEO;
    info.duration = 2.5;
    info.fps = 29.97;
    info.width = info.height = -1;
    json = pf_media_info_to_json(&info);
    ASSERT(json != NULL);
    ASSERT_CONTAINS(json, "\"duration\":2.5");
    ASSERT_CONTAINS(json, "\"fps\":29.97");
    pf_free(json);
}

int main(void)
{
    char probe[16];

    if (!setlocale(LC_ALL, "de_DE.UTF-8")) {
        fprintf(stderr, "SKIP: no de_DE.UTF-8 locale on this machine "
                "(localedef -i de_DE -f UTF-8 de_DE.UTF-8 makes it)\n");
        return 77;
    }
    /* The locale is in force: printf itself writes a decimal comma, so a
     * pass below means the library kept its own numbers in "C". */
    snprintf(probe, sizeof probe, "%.2f", 1.5);
    ASSERT_STR_EQ(probe, "1,50");
    ctx = pf_ctx_new();
    RUN(test_report_text);
    RUN(test_numbers);
    pf_ctx_free(ctx);
    return 0;
}
