/*
 * Fuzz target for the rules engine: schema loading, request building, the
 * check and its report, and the validation_rule parser and evaluator.
 *
 * Input layout: a schema JSON text, then a separator byte (the first NUL
 * or 0xFF, neither of which can occur in UTF-8 JSON), then a request JSON
 * object. Without a separator the whole input is the schema and the
 * request is empty, which still exercises "required" and the defaults.
 *
 * The check probes media, and a media value is a local path or a URL: left
 * alone, a fuzzer would open arbitrary files and reach the network. Once
 * the schema is loaded, every string under a field the schema calls media
 * that is not a data: URI is replaced by a tiny valid PNG data URI, so
 * probing stays in memory (fuzzed data: URIs are kept: they are probed
 * from memory too, and reach the base64 decoder and the probers).
 *
 * Built two ways (CMakeLists.txt): with -fsanitize=fuzzer as fuzz_schema,
 * and with fuzz/replay_main.c as replay_schema, which ctest runs over
 * fuzz/corpus/schema.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/internal.h"
#include "rules/rules_internal.h"

#define FUZZ_MAX_PROBE_BYTES (1 << 20)
#define FUZZ_PROBE_TIMEOUT_MS 2000
/* pf__rule_parse is fed each line of the input, up to these bounds. */
#define FUZZ_MAX_RULE_LINES 64
#define FUZZ_MAX_RULE_LEN 256

/* A 2x2 RGB PNG: what every path or URL under a media field becomes. */
static const char fuzz_png_uri[] =
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEE"
    "lEQVR42mP4z8AARAwQCgAf7gP9Y167WwAAAABJRU5ErkJggg==";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Replaces every string below item that pf_probe would read from disk or
 * the network. */
static void fuzz_sanitise(cJSON *item)
{
    cJSON *child;

    if (cJSON_IsString(item)) {
        if (strncasecmp(item->valuestring, "data:", 5) != 0)
            cJSON_SetValuestring(item, fuzz_png_uri);
        return;
    }
    cJSON_ArrayForEach(child, item)
        fuzz_sanitise(child);
}

/* The request member a media path starts at, found the way check.c's
 * walk_media finds it: up to the first '.', less a trailing "[]". Every
 * member of that name is sanitised, duplicates included, and whole: a
 * scalar given for an array field is wrapped at check time, and a nested
 * path ("references[].uri") lives somewhere inside. */
static void fuzz_sanitise_media(const pf_schema *schema, pf_request *req)
{
    for (size_t i = 0; i < schema->media_count; i++) {
        const char *path = schema->media[i].path;
        size_t n = strcspn(path, ".");
        cJSON *member;

        if (n > 2 && path[n - 2] == '[' && path[n - 1] == ']')
            n -= 2;
        cJSON_ArrayForEach(member, req->root)
            if (member->string && strlen(member->string) == n &&
                memcmp(member->string, path, n) == 0)
                fuzz_sanitise(member);
    }
}

/* Parses each line of the input as a validation_rule and evaluates what
 * parses against fixed facts and limits of every JSON type. */
static void fuzz_rules(const uint8_t *data, size_t size)
{
    static const pf_media_info facts = {
        .kind = PF_MEDIA_VIDEO, .source = PF_SOURCE_DATA, .format = "mp4",
        .codec = "h264", .width = 640, .height = 360, .coded_width = 640,
        .coded_height = 360, .has_video = 1, .has_audio = 1, .bit_depth = 8,
        .file_size = 123456, .duration = 2.0, .fps = 25, .frame_count = 50,
        .bit_rate = 480000,
    };
    static const char *const limits[] = {
        "1", "0.5", "1e308", "\"jpeg\"", "[\"png\",\"jpg\"]", "[1]", "true",
        "null", "{}",
    };
    size_t start = 0, lines = 0;

    while (start < size && lines < FUZZ_MAX_RULE_LINES) {
        size_t end = start, len;
        char text[FUZZ_MAX_RULE_LEN + 1];
        struct pf__rule rule;

        while (end < size && data[end] != '\n' && data[end] != '\0' &&
               data[end] != 0xFF)
            end++;
        len = end - start < FUZZ_MAX_RULE_LEN ? end - start : FUZZ_MAX_RULE_LEN;
        memcpy(text, data + start, len);
        text[len] = '\0';
        start = end + 1;
        lines++;
        if (pf__rule_parse(text, &rule) != 0)
            continue;
        (void)pf__rule_needs_probe(&rule);
        for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
            cJSON *limit = cJSON_Parse(limits[i]), *actual = NULL;
            struct pf__subject with = { &facts, "https" };
            struct pf__subject without = { NULL, "data" };

            if (!limit)
                continue;
            (void)pf__rule_eval(&rule, limit, &with, &actual);
            cJSON_Delete(actual);
            actual = NULL;
            (void)pf__rule_eval(&rule, limit, &without, &actual);
            cJSON_Delete(actual);
            cJSON_Delete(limit);
        }
    }
}

/* Adds each member of a request object the way the CLI does: strings as
 * FIELD=VALUE, everything else as FIELD:=JSON. */
static void fuzz_build_request(pf_ctx *ctx, pf_request *req, const char *text,
                               size_t len)
{
    cJSON *doc = cJSON_ParseWithLength(text, len), *member;

    if (!cJSON_IsObject(doc))
        goto out;
    cJSON_ArrayForEach(member, doc) {
        char *json;

        if (!member->string)
            continue;
        if (cJSON_IsString(member)) {
            (void)pf_request_add_string(ctx, req, member->string,
                                        member->valuestring);
            continue;
        }
        if ((json = cJSON_PrintUnformatted(member))) {
            (void)pf_request_add_json(ctx, req, member->string, json);
            free(json);
        }
    }
out:
    cJSON_Delete(doc);
}

/* Reads every accessor, so that a dangling or unterminated string in the
 * report shows up under ASan even when the JSON printer skips it. */
static void fuzz_read_report(const pf_report *report)
{
    volatile size_t sink = 0;
    char *json;

    (void)pf_report_ok(report);
    (void)pf_report_exit_code(report);
    for (size_t i = 0; i < pf_report_violation_count(report); i++) {
        const pf_violation *v = pf_report_violation(report, i);

        sink += strlen(v->field) + strlen(v->rule) + strlen(v->message);
        sink += v->limit ? strlen(v->limit) : 0;
        sink += v->actual ? strlen(v->actual) : 0;
    }
    for (size_t i = 0; i < pf_report_warning_count(report); i++) {
        const pf_warning *w = pf_report_warning(report, i);

        sink += strlen(w->field) + strlen(w->message);
    }
    for (size_t i = 0; i < pf_report_error_count(report); i++) {
        const pf_input_error *e = pf_report_error(report, i);

        sink += strlen(e->field) + strlen(e->message) +
                strlen(pf_err_name(e->code));
    }
    for (size_t i = 0; i < pf_report_input_count(report); i++) {
        const char *field = NULL, *value = NULL;
        const pf_media_info *info = pf_report_input(report, i, &field, &value);

        sink += strlen(field) + strlen(value) + strlen(info->format);
    }
    sink += strlen(pf_report_defaults_json(report));
    json = pf_report_to_json(report);
    sink += json ? strlen(json) : 0;
    pf_free(json);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_ctx *ctx = pf_ctx_new();
    pf_schema *schema = NULL;
    pf_request *req = NULL;
    pf_report *report = NULL;
    size_t schema_len = 0;
    char *json = NULL;

    if (!ctx)
        return 0;
    ctx->max_probe_bytes = FUZZ_MAX_PROBE_BYTES;
    ctx->probe_timeout_ms = FUZZ_PROBE_TIMEOUT_MS;
    fuzz_rules(data, size);

    while (schema_len < size && data[schema_len] != '\0' &&
           data[schema_len] != 0xFF)
        schema_len++;
    if (pf_schema_load_text(ctx, (const char *)data, schema_len, "fuzz",
                            &schema) != PF_OK)
        goto out;
    (void)pf_schema_model(schema);
    (void)pf_schema_provider(schema);

    if (!(req = pf_request_new()))
        goto out;
    if (schema_len < size)
        fuzz_build_request(ctx, req, (const char *)data + schema_len + 1,
                           size - schema_len - 1);
    fuzz_sanitise_media(schema, req);
    json = pf_request_to_json(req);
    if (pf_check(ctx, schema, req, &report) == PF_OK)
        fuzz_read_report(report);
out:
    pf_free(json);
    pf_report_free(report);
    pf_request_free(req);
    pf_schema_free(schema);
    pf_ctx_free(ctx);
    return 0;
}
