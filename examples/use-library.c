/*
 * Using libpreflight from another program: probe a file, then check a
 * request that uses it against a bundled model's schema, and print the
 * verdict. Build it against an installed preflight:
 *
 *   cc use-library.c $(pkg-config --cflags --libs preflight) -o use-library
 *
 * or with CMake: find_package(preflight 0.2 REQUIRED) and
 * target_link_libraries(use-library PRIVATE preflight::preflight).
 *
 *   ./use-library photo.jpg      (exit 0 pass, 1 violations, 2 error)
 */
#include <stdio.h>
#include <string.h>

#include <preflight.h>

int main(int argc, char **argv)
{
    const char *model = "runwayml/runway-gen-3-alpha/turbo/image-to-video";
    pf_media_info info = PF_MEDIA_INFO_INIT;   /* carries its size: see ABI */
    pf_schema *schema = NULL;
    pf_request *req = NULL;
    pf_report *report = NULL;
    pf_ctx *ctx = NULL;
    int status = 2;
    pf_err rc;

    if (argc != 2) {
        fprintf(stderr, "usage: %s IMAGE\n", argv[0]);
        return 2;
    }
    if (strcmp(pf_version(), PF_VERSION) != 0)
        fprintf(stderr, "note: built with preflight %s, running with %s\n",
                PF_VERSION, pf_version());
    /* Optional: fixes the process-wide behaviour before any use. */
    if ((rc = pf_global_init(PF_GLOBAL_DEFAULT)) != PF_OK ||
        !(ctx = pf_ctx_new()) || !(req = pf_request_new())) {
        fprintf(stderr, "cannot initialise libpreflight\n");
        goto out;
    }

    if ((rc = pf_probe(ctx, argv[1], &info)) != PF_OK) {
        fprintf(stderr, "%s [%s]\n", pf_ctx_error(ctx), pf_err_name(rc));
        goto out;
    }
    printf("%s: %s %s %d×%d\n", argv[1], pf_media_kind_name(info.kind), info.format,
           info.width, info.height);

    if ((rc = pf_schema_load_model(ctx, model, &schema)) != PF_OK ||
        (rc = pf_request_add_string(ctx, req, "promptText", "a slow pan")) != PF_OK ||
        (rc = pf_request_add_file(ctx, req, "promptImage", argv[1])) != PF_OK ||
        (rc = pf_check(ctx, schema, req, &report)) != PF_OK) {
        fprintf(stderr, "%s [%s]\n", pf_ctx_error(ctx), pf_err_name(rc));
        goto out;
    }
    for (size_t i = 0; i < pf_report_violation_count(report); i++) {
        const pf_violation *v = pf_report_violation(report, i);

        printf("violation: %s: %s\n", v->field, v->message);
    }
    for (size_t i = 0; i < pf_report_error_count(report); i++)
        printf("error: %s: %s\n", pf_report_error(report, i)->field,
               pf_report_error(report, i)->message);
    printf("%s for %s\n", pf_report_ok(report) ? "PASS" : "FAIL", pf_schema_model(schema));
    status = pf_report_exit_code(report);
out:
    pf_report_free(report);
    pf_request_free(req);
    pf_schema_free(schema);
    pf_ctx_free(ctx);
    return status;
}
