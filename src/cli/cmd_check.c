/* preflight check: parse the request arguments, run pf_check, print. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char pf_cli_check_usage[] =
    "usage: preflight check --model ID [--schema FILE] [--input REQUEST.json]\n"
    "                       [--json] [--allow-http] [--verbose]\n"
    "                       FIELD=VALUE | FIELD:=JSON | FIELD=@PATH ...\n"
    "\n"
    "Checks every parameter (required, type, maxLength, enum, minimum/maximum,\n"
    "items) and probes every media input, local file or URL, against each of\n"
    "the schema's validation rules. Violations quote the schema's own text.\n"
    "\n"
    "  --model ID          a bundled model: runwayml/runway-aleph/video-to-video,\n"
    "                      or another provider's: cometapi:runwayml/v1/video_to_video,\n"
    "                      fal:fal-ai/kling-video/v2.6/pro/image-to-video\n"
    "  --schema FILE       a rules file, a fal OpenAPI document, or any RunComfy\n"
    "                      input schema copied from a model's docs page (--model\n"
    "                      then names it)\n"
    "  --input FILE        a request JSON object (\"-\" reads stdin); media values\n"
    "                      may be URLs, data URIs or local paths\n"
    "  --json              print exactly one JSON object on stdout\n"
    "  --allow-http        probe plain http:// URLs (local test servers)\n"
    "  --verbose           log what is read, to stderr (no secrets)\n"
    "  FIELD=VALUE         a string parameter\n"
    "  FIELD:=JSON         a raw JSON value: seed:=42, frames:=121\n"
    "  FIELD=@PATH         a local media file; repeat a field to append\n"
    "\n"
    "exit status: 0 pass, 1 violations, 2 could not check (usage, unreadable\n"
    "or undecodable input, missing schema, network failure).\n";

struct check_args {
    const char *model;
    const char *schema;
    const char *input;
    int json, allow_http, verbose;
};

static int fail(const struct check_args *a, pf_err code, const char *message)
{
    return pf_cli_fail(a->json, code, message);
}

int pf_cli_check(int argc, char **argv)
{
    struct check_args a = { 0 };
    pf_ctx *ctx = pf_ctx_new();
    pf_request *req = pf_request_new();
    pf_schema *schema = NULL;
    pf_report *report = NULL;
    char **fields = calloc((size_t)argc + 1, sizeof *fields);
    int nfields = 0, status = PF_EXIT_ERROR;
    pf_err rc;

    if (!ctx || !req || !fields) {
        pf_cli_error("out of memory");
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *arg = argv[i];

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(pf_cli_usage("check"), stdout);
            status = PF_EXIT_OK;
            goto out;
        } else if (strcmp(arg, "--json") == 0) {
            a.json = 1;
        } else if (strcmp(arg, "--allow-http") == 0) {
            a.allow_http = 1;
        } else if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "-v") == 0) {
            a.verbose = 1;
        } else if (pf_cli_option_value(argc, argv, &i, "--model", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--schema", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--input", &v)) {
            if (!v || !*v) {
                status = fail(&a, PF_EUSAGE, "check: an option needs a value");
                goto out;
            }
            if (strncmp(arg, "--model", 7) == 0)
                a.model = v;
            else if (strncmp(arg, "--schema", 8) == 0)
                a.schema = v;
            else
                a.input = v;
        } else if (arg[0] == '-' && arg[1] == '-' ) {
            char msg[300];

            snprintf(msg, sizeof msg, "check: unknown option '%.200s' "
                     "(see 'preflight help check')", arg);
            status = fail(&a, PF_EUSAGE, msg);
            goto out;
        } else {
            fields[nfields++] = argv[i];
        }
    }
    if (!a.model && !a.schema) {
        status = fail(&a, PF_EUSAGE,
                      "check: --model ID or --schema FILE is required "
                      "(see 'preflight models')");
        goto out;
    }
    {
        struct pf_cli_request_args ra = { a.model, a.schema, a.input, fields, nfields,
                                          a.allow_http, a.verbose };
        char msg[600];

        if ((rc = pf_cli_load_request(ctx, "check", &ra, &schema, req, msg, sizeof msg))) {
            status = fail(&a, rc, msg);
            goto out;
        }
    }
    if ((rc = pf_check(ctx, schema, req, &report))) {
        status = fail(&a, rc, pf_cli_ctx_error(ctx, rc));
        goto out;
    }
    /* Input errors are said once each on stderr, as one-liners, whatever
     * the output mode: a pipeline's log shows why the exit status is 2. */
    for (size_t i = 0; i < pf_report_error_count(report); i++)
        pf_cli_error("%s", pf_report_error(report, i)->message);
    if (a.json) {
        char *text = pf_report_to_json(report);

        if (!text) {
            pf_cli_error("out of memory");
            goto out;
        }
        puts(text);
        pf_free(text);
    } else {
        printf("%s\n", pf_schema_model(schema));
        pf_cli_print_report(stdout, report, pf_cli_use_color(stdout));
    }
    status = pf_report_exit_code(report);
out:
    pf_report_free(report);
    pf_schema_free(schema);
    pf_request_free(req);
    pf_ctx_free(ctx);
    free(fields);
    return status;
}
