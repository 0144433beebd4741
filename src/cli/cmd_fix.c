/* preflight fix: parse the request arguments, run pf_fix, print what changed,
 * the request to send and its check. Ctrl-C asks the library to stop; a
 * long encode draws its progress on stderr when that is a terminal. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* 128 + SIGINT and 128 + SIGTERM, as a shell reports a command either
 * ended. */
#define PF_EXIT_INTERRUPTED 130
#define PF_EXIT_TERMINATED 143

const char pf_cli_fix_usage[] =
    "usage: preflight fix --model ID [--schema FILE] [--input REQUEST.json] -o DIR\n"
    "                     [--fit crop|pad|none] [--pad-color RRGGBB|blur]\n"
    "                     [--max-pixels N] [--max-duration SECONDS] [--dry-run]\n"
    "                     [--json] [--allow-http] [--verbose]\n"
    "                     FIELD=VALUE | FIELD:=JSON | FIELD=@PATH ...\n"
    "\n"
    "Makes each local media file that breaks a rule of its field, or whose aspect\n"
    "differs from the requested ratio, comply: orientation baked in, metadata\n"
    "dropped, cropped or padded, resized, converted to an accepted format.\n"
    "Images are encoded at the highest JPEG quality that fits the size limit.\n"
    "Videos are encoded as H.264 and AAC in an MP4 with its index at the front,\n"
    "at the bit rate that fills the size limit without passing it, scaled to the\n"
    "requested ratio's resolution at most, trimmed and reframed as the rules ask;\n"
    "a video whose streams comply but whose container or index placement does\n"
    "not is copied into a new MP4 without re-encoding. New files go to DIR, never\n"
    "over the originals, and are checked again with the same rules before they\n"
    "get their names; files that need nothing are not copied. Prints each change,\n"
    "the request to send (media fields pointing at the new files) and its check.\n"
    "A long encode shows its progress on stderr when that is a terminal.\n"
    "\n"
    "  --model ID          a bundled model (see 'preflight models')\n"
    "  --schema FILE       a rules file, a fal OpenAPI document or a RunComfy\n"
    "                      input schema\n"
    "  --input FILE        a request JSON object (\"-\" reads stdin)\n"
    "  -o, --output DIR    where fixed files are written (created if missing)\n"
    "  --fit MODE          how an aspect is reached: crop (centred; the default),\n"
    "                      pad (centred on a canvas) or none (keep the aspect\n"
    "                      unless a rule forbids it; the requested ratio is ignored)\n"
    "  --pad-color COLOR   the pad canvas: RRGGBB (default 000000) or blur;\n"
    "                      transparency is flattened onto it in a JPEG\n"
    "  --max-pixels N      refuse to decode a larger image or video frame\n"
    "                      (default 100000000)\n"
    "  --max-duration SECONDS\n"
    "                      keep at most this much of each video from its start\n"
    "  --dry-run           print the plan from the probed facts; write nothing\n"
    "  --json              print exactly one JSON object on stdout\n"
    "  --allow-http        probe plain http:// URLs (local test servers)\n"
    "  --verbose           log what is read and each encode, to stderr\n"
    "  FIELD=...           the request, as for check\n"
    "\n"
    "exit status: 0 the request to send passes, 1 violations remain or a file\n"
    "cannot be made to comply, 2 an input could not be read, decoded or written,\n"
    "130 interrupted (Ctrl-C), 143 terminated (SIGTERM): the file being written\n"
    "is removed.\n";

#define GREEN  "\033[32m"
#define RED    "\033[31m"
#define YELLOW "\033[33m"
#define DIM    "\033[2m"
#define RESET  "\033[0m"

struct fix_args {
    const char *model, *schema, *input, *outdir;
    int json, allow_http, verbose;
    pf_fix_options opts;
};

/* Progress on stderr, redrawn in place; shown only once an encode has run
 * for a second, so quick fixes print nothing. */
struct progress_view {
    int shown;
};

static void clock_text(char *buf, size_t size, double s)
{
    long t = s < 0 || !isfinite(s) ? 0 : (long)(s + 0.5);

    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void draw_progress(void *userdata, const pf_fix_progress *p)
{
    struct progress_view *v = userdata;
    char eta[32] = "", pct[16] = "", frames[48];

    if (!v->shown && (p->done || p->elapsed < 1.0))
        return;
    if (p->done) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        v->shown = 0;
        return;
    }
    v->shown = 1;
    if (p->total_frames > 0)
        snprintf(frames, sizeof frames, "frame %lld/%lld", (long long)p->frames,
                 (long long)p->total_frames);
    else
        snprintf(frames, sizeof frames, "frame %lld", (long long)p->frames);
    if (p->duration > 0)
        snprintf(pct, sizeof pct, " %3.0f%%", fmin(100, 100 * p->position / p->duration));
    if (p->eta >= 0) {
        memcpy(eta, "  ETA ", 7);
        clock_text(eta + 6, sizeof eta - 6, p->eta);
    }
    fprintf(stderr, "\r\033[K  %s  %s%s  %.2f× real time%s%s", p->field, frames, pct,
            p->speed, eta, p->attempt > 1 ? "  (encode again: size)" : "");
    fflush(stderr);
}

static int fail(const struct fix_args *a, pf_err code, const char *message)
{
    return pf_cli_fail(a->json, code, message);
}

/* RRGGBB (a leading '#' allowed), or "blur". */
static int parse_pad(const char *v, pf_fix_options *o)
{
    char *end;
    unsigned long rgb;

    if (strcmp(v, "blur") == 0) {
        o->blur_fill = 1;
        return 0;
    }
    if (*v == '#')
        v++;
    if (strlen(v) != 6)
        return -1;
    rgb = strtoul(v, &end, 16);
    if (*end)
        return -1;
    o->pad_rgb = (uint32_t)rgb;
    o->blur_fill = 0;
    return 0;
}

/* A failure the report does not already show as an input error. */
static int reported(const pf_report *r, const pf_fix_change *c)
{
    for (size_t i = 0; i < pf_report_error_count(r); i++) {
        const pf_input_error *e = pf_report_error(r, i);

        if (strcmp(e->field, c->field) == 0 && strcmp(e->message, c->message) == 0)
            return 1;
    }
    return 0;
}

static void print_text(const pf_fix_result *res, const char *model, int dry_run,
                       int color)
{
    const char *green = color ? GREEN : "", *red = color ? RED : "";
    const char *yellow = color ? YELLOW : "", *dim = color ? DIM : "";
    const char *reset = color ? RESET : "";
    const pf_report *report = pf_fix_result_report(res);
    size_t n = pf_fix_result_change_count(res);

    printf("%s\n", model);
    for (size_t i = 0; i < n; i++) {
        const pf_fix_change *c = pf_fix_result_change(res, i);

        if (c->status == PF_FIX_FAILED) {
            if (!reported(report, c))
                printf("%s✗ %-16s%s %s %s[%s]%s\n", red, c->field, reset, c->message,
                       dim, pf_err_name(c->code), reset);
            continue;
        }
        printf("%s%s %-16s%s %s\n", c->status == PF_FIX_DONE ? green : "",
               c->status == PF_FIX_DONE ? "✓" : "~", c->field, reset, c->summary);
        printf("  %-16s %s%s %s%s\n", "", dim,
               c->status == PF_FIX_DONE ? "→" : "would write", c->output, reset);
        if (c->warning)
            printf("%s! %-16s%s %s\n", yellow, c->field, reset, c->warning);
    }
    if (!n)
        printf("  nothing to fix\n");
    printf("request: %s\n", pf_fix_result_request_json(res));
    if (dry_run)
        printf("dry run: nothing written; the check below is of the request as given\n");
    pf_cli_print_report(stdout, report, color);
}

int pf_cli_fix(int argc, char **argv)
{
    struct fix_args a;
    struct progress_view view = { 0 };
    pf_ctx *ctx = pf_ctx_new();
    pf_request *req = pf_request_new();
    pf_schema *schema = NULL;
    pf_fix_result *res = NULL;
    char **fields = calloc((size_t)argc + 1, sizeof *fields);
    int nfields = 0, status = PF_EXIT_ERROR;
    pf_err rc;

    memset(&a, 0, sizeof a);
    pf_fix_options_init(&a.opts);
    if (!ctx || !req || !fields) {
        pf_cli_error("out of memory");
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *arg = argv[i];
        char msg[300];

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(pf_cli_usage("fix"), stdout);
            status = PF_EXIT_OK;
            goto out;
        } else if (strcmp(arg, "--json") == 0) {
            a.json = 1;
        } else if (strcmp(arg, "--dry-run") == 0) {
            a.opts.dry_run = 1;
        } else if (strcmp(arg, "--allow-http") == 0) {
            a.allow_http = 1;
        } else if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "-v") == 0) {
            a.verbose = 1;
        } else if (pf_cli_option_value(argc, argv, &i, "--model", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--schema", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--input", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--output", &v) ||
                   pf_cli_option_value(argc, argv, &i, "-o", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--fit", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--pad-color", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--max-pixels", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--max-duration", &v)) {
            if (!v || !*v) {
                status = fail(&a, PF_EUSAGE, "fix: an option needs a value");
                goto out;
            }
            if (strncmp(arg, "--model", 7) == 0) {
                a.model = v;
            } else if (strncmp(arg, "--schema", 8) == 0) {
                a.schema = v;
            } else if (strncmp(arg, "--input", 7) == 0) {
                a.input = v;
            } else if (strncmp(arg, "--fit", 5) == 0) {
                if (pf_cli_parse_fit(v, &a.opts.fit) != 0) {
                    snprintf(msg, sizeof msg, "fix: --fit takes crop, pad or none, "
                             "not '%.100s'", v);
                    status = fail(&a, PF_EUSAGE, msg);
                    goto out;
                }
            } else if (strncmp(arg, "--pad-color", 11) == 0) {
                if (parse_pad(v, &a.opts) != 0) {
                    snprintf(msg, sizeof msg, "fix: --pad-color takes RRGGBB or blur, "
                             "not '%.100s'", v);
                    status = fail(&a, PF_EUSAGE, msg);
                    goto out;
                }
            } else if (strncmp(arg, "--max-duration", 14) == 0) {
                char *end;
                double d = strtod(v, &end);

                if (*end || !(d > 0) || !isfinite(d)) {
                    snprintf(msg, sizeof msg, "fix: --max-duration takes a positive number "
                             "of seconds, not '%.100s'", v);
                    status = fail(&a, PF_EUSAGE, msg);
                    goto out;
                }
                a.opts.max_duration = d;
            } else if (strncmp(arg, "--max-pixels", 12) == 0) {
                char *end;
                long long n = strtoll(v, &end, 10);

                if (*end || n <= 0) {
                    snprintf(msg, sizeof msg, "fix: --max-pixels takes a positive "
                             "number, not '%.100s'", v);
                    status = fail(&a, PF_EUSAGE, msg);
                    goto out;
                }
                a.opts.max_pixels = n;
            } else {
                a.outdir = v;
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            snprintf(msg, sizeof msg, "fix: unknown option '%.200s' "
                     "(see 'preflight help fix')", arg);
            status = fail(&a, PF_EUSAGE, msg);
            goto out;
        } else {
            fields[nfields++] = argv[i];
        }
    }
    if (!a.model && !a.schema) {
        status = fail(&a, PF_EUSAGE, "fix: --model ID or --schema FILE is required "
                      "(see 'preflight models')");
        goto out;
    }
    if (!a.outdir) {
        status = fail(&a, PF_EUSAGE, "fix: -o DIR is required: fixed files are "
                      "written there, never over the originals");
        goto out;
    }
    {
        struct pf_cli_request_args ra = { a.model, a.schema, a.input, fields, nfields,
                                          a.allow_http, a.verbose };
        char msg[600];

        if ((rc = pf_cli_load_request(ctx, "fix", &ra, &schema, req, msg, sizeof msg))) {
            status = fail(&a, rc, msg);
            goto out;
        }
    }
    /* Progress goes where a person watches, never into --json output. */
    if (!a.json && isatty(STDERR_FILENO)) {
        a.opts.progress = draw_progress;
        a.opts.progress_userdata = &view;
    }
    /* The first Ctrl-C or SIGTERM stops cleanly, a second ends the process
     * at once. */
    pf_cli_catch_interrupt(ctx, 2);
    pf_cli_catch_terminate();
    rc = pf_fix(ctx, schema, req, a.outdir, &a.opts, &res);
    pf_cli_release_interrupt();
    if (view.shown)
        fputs("\r\033[K", stderr);
    if (rc) {
        status = fail(&a, rc, pf_cli_ctx_error(ctx, rc));
        if (rc == PF_EINTR)
            status = pf_cli_terminated() ? PF_EXIT_TERMINATED : PF_EXIT_INTERRUPTED;
        goto out;
    }
    /* Each failure once on stderr, as one line naming the file and why,
     * whatever the output mode (as check does for its input errors). */
    for (size_t i = 0; i < pf_fix_result_change_count(res); i++) {
        const pf_fix_change *c = pf_fix_result_change(res, i);

        if (c->status == PF_FIX_FAILED)
            pf_cli_error("%s", c->message);
    }
    if (a.json) {
        char *text = pf_fix_result_to_json(res);

        if (!text) {
            pf_cli_error("out of memory");
            goto out;
        }
        puts(text);
        pf_free(text);
    } else {
        print_text(res, pf_schema_model(schema), a.opts.dry_run,
                   pf_cli_use_color(stdout));
    }
    status = pf_fix_result_exit_code(res);
out:
    pf_fix_result_free(res);
    pf_schema_free(schema);
    pf_request_free(req);
    pf_ctx_free(ctx);
    free(fields);
    return status;
}
