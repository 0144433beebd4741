/* preflight run: check (or fix), host local files, submit, wait, download,
 * print the manifest. Each step is one call into the library; the request
 * is only ever submitted after it passed its check, and the ledger makes a
 * second run of the same command carry on instead of paying again. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char pf_cli_run_usage[] =
    "usage: preflight run --model ID [--schema FILE] [--input REQUEST.json] -o DIR\n"
    "                     [--fix [--fit crop|pad|none]]\n"
    "                     [--upload fal | --upload s3://BUCKET/PREFIX [--expires SECONDS]\n"
    "                      [--credentials-file FILE] | --put-url URL [--get-url URL]\n"
    "                      [--content-type TYPE] | --inline]\n"
    "                     [--timeout SECONDS] [--keep-on-interrupt] [--force]\n"
    "                     [--state-dir DIR] [--base-url URL] [--token-file FILE]\n"
    "                     [--json] [--allow-http] [--verbose]\n"
    "                     FIELD=VALUE | FIELD:=JSON | FIELD=@PATH ...\n"
    "\n"
    "Checks the request (with --fix, makes its local images comply first, into\n"
    "DIR/inputs), hosts its local files, submits it, waits for the job and\n"
    "downloads every output into DIR, then prints a manifest: the job, its\n"
    "outputs with local paths, sizes and probed facts. A request that fails its\n"
    "check is never submitted. The submission is recorded first in the job\n"
    "ledger: running the same command again (after a crash, a kill, Ctrl-C)\n"
    "picks the job up where it was instead of paying again.\n"
    "\n"
    "  --model ID          a bundled model (see 'preflight models')\n"
    "  --schema FILE       a rules file, a fal OpenAPI document or a RunComfy\n"
    "                      input schema\n"
    "  --input FILE        a request JSON object (\"-\" reads stdin)\n"
    "  -o, --output DIR    where the outputs are downloaded (created if missing)\n"
    "  --fix               fix local images first, as 'preflight fix' does\n"
    "  --fit MODE          with --fix: crop (default), pad or none\n"
    "  --upload fal        host local files on fal's CDN (the default for fal\n"
    "                      models; FAL_KEY or --token-file, PREFLIGHT_FAL_REST_URL)\n"
    "  --upload s3://BUCKET/PREFIX\n"
    "                      host local files in your bucket (signed here; AWS_*\n"
    "                      credentials as for 'preflight upload')\n"
    "  --expires SECONDS   lifetime of the signed GET URLs (default 86400)\n"
    "  --credentials-file FILE\n"
    "                      AWS credentials from FILE, not the environment\n"
    "  --put-url URL       host the one local file with this presigned PUT URL;\n"
    "                      @FILE reads it from a file, - from stdin\n"
    "  --get-url URL       the URL the API fetches it from; @FILE, -\n"
    "  --content-type TYPE with --put-url: the type to send it with, exactly the\n"
    "                      one a URL signed for a type was signed with (a URL\n"
    "                      that serves it as application/octet-stream gets a\n"
    "                      warning: Runway fetches inputs served with their type)\n"
    "  --inline            send local files as data: URIs where the API takes\n"
    "                      them (CometAPI's videoUri), within the size cap\n"
    "  --timeout SECONDS   stop waiting after this long; the job goes on and\n"
    "                      'preflight wait' or 'preflight resume' picks it up\n"
    "  --keep-on-interrupt on Ctrl-C, leave a queued job in the queue (by default\n"
    "                      it is cancelled; a running job always goes on)\n"
    "  --force             submit again even if the ledger holds this request\n"
    "                      (pays again), and replace existing output files\n"
    "  --state-dir DIR     the job ledger's directory\n"
    "  --ledger URL        the ledger: sqlite:PATH or postgresql://HOST/DB\n"
    "  --base-url URL      send API calls to URL instead of the provider's host\n"
    "                      (fal: also PREFLIGHT_FAL_QUEUE_URL)\n"
    "  --token-file FILE   read the API token from FILE (default: the environment,\n"
    "                      RUNCOMFY_API_TOKEN or YOUR_API_TOKEN, COMETAPI_KEY,\n"
    "                      FAL_KEY)\n"
    "  --json              print exactly one JSON object: the manifest\n"
    "  --allow-http        probe plain http:// URLs (local test servers)\n"
    "  --verbose           log each step and request to stderr (never a token\n"
    "                      or a URL's query string)\n"
    "  FIELD=...           the request, as for check\n"
    "\n"
    "exit status: 0 the outputs are downloaded, 1 the check failed (nothing was\n"
    "submitted) or the job failed or was cancelled, 2 could not be carried out\n"
    "(usage, upload, network, outcome unknown, timeout, a bad output).\n";

struct run_args {
    const char *model, *schema, *input, *outdir;
    struct pf_cli_job_args job;
    int fix, fit, allow_http, force, keep, inline_data;
    int64_t timeout_ms;
    pf_upload_options up;
    int hosting;                /* an upload mode was given */
    char *put_url, *get_url;    /* read from @FILE or stdin, owned */
    int stdin_used;
    int fal_default;            /* --upload fal chosen for a fal model: said
                                 * once, when a file is hosted */
};

static int fail(const struct run_args *a, pf_err code, const char *message)
{
    pf_cli_job_progress_end();
    pf_cli_fail(a->job.json, code, message);
    return pf_cli_job_exit(code) == PF_EXIT_OK ? PF_EXIT_ERROR : pf_cli_job_exit(code);
}

static int upload_progress(void *userdata, int64_t done, int64_t total)
{
    char a[32], b[32];

    (void)userdata;
    if (isatty(STDERR_FILENO)) {
        pf_format_size(a, sizeof a, done);
        pf_format_size(b, sizeof b, total);
        fprintf(stderr, "\r\033[Kuploading: %s of %s", a, b);
        if (done >= total)
            fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    return 0;
}

/* The host callback of pf_jobs_submit: one upload per local file. */
static pf_err host(void *userdata, pf_ctx *ctx, const char *field, const char *path,
                   char **url)
{
    struct run_args *a = userdata;
    pf_upload *up = NULL;
    pf_err rc;

    if (a->fal_default && !a->job.json) {
        printf("hosting local files on fal's CDN (--upload fal, the default for fal "
               "models)\n");
        fflush(stdout);
        a->fal_default = 0;
    }
    if ((rc = pf_upload_file(ctx, path, &a->up, &up)))
        return rc;
    if (pf_upload_get(up)->warning)
        pf_cli_error("warning: %s: %s (--content-type TYPE)", field, pf_upload_get(up)->warning);
    *url = strdup(pf_upload_get(up)->get_url);
    pf_upload_free(up);
    return *url ? PF_OK : PF_ENOMEM;
}

/* Parses argv; -1 to go on, else the exit status. */
static int parse(struct run_args *a, int argc, char **argv, char **fields, int *nfields)
{
    char msg[400];

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        int r;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(pf_cli_usage("run"), stdout);
            return PF_EXIT_OK;
        }
        if ((r = pf_cli_job_option(argc, argv, &i, &a->job, msg, sizeof msg)) < 0)
            return fail(a, PF_EUSAGE, msg);
        if (r > 0)
            continue;
        if (strcmp(arg, "--fix") == 0) {
            a->fix = 1;
        } else if (strcmp(arg, "--force") == 0) {
            a->force = 1;
        } else if (strcmp(arg, "--keep-on-interrupt") == 0) {
            a->keep = 1;
        } else if (strcmp(arg, "--allow-http") == 0) {
            a->allow_http = 1;
        } else if (strcmp(arg, "--inline") == 0) {
            a->up.mode = PF_UPLOAD_INLINE;
            a->hosting++;
        } else if (pf_cli_option_value(argc, argv, &i, "--model", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--schema", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--input", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--output", &v) ||
                   pf_cli_option_value(argc, argv, &i, "-o", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--fit", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--upload", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--expires", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--credentials-file", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--put-url", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--get-url", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--content-type", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--timeout", &v)) {
            if (!v || !*v) {
                snprintf(msg, sizeof msg, "run: %s needs a value", arg);
                return fail(a, PF_EUSAGE, msg);
            }
            if (strncmp(arg, "--model", 7) == 0) {
                a->model = v;
            } else if (strncmp(arg, "--schema", 8) == 0) {
                a->schema = v;
            } else if (strncmp(arg, "--input", 7) == 0) {
                a->input = v;
            } else if (strncmp(arg, "--fit", 5) == 0) {
                if (pf_cli_parse_fit(v, &a->fit) != 0)
                    return fail(a, PF_EUSAGE, "run: --fit takes crop, pad or none");
            } else if (strncmp(arg, "--upload", 8) == 0) {
                a->up.mode = strcmp(v, "fal") == 0 ? PF_UPLOAD_FAL : PF_UPLOAD_S3;
                a->up.s3_url = a->up.mode == PF_UPLOAD_S3 ? v : NULL;
                a->hosting++;
            } else if (strncmp(arg, "--expires", 9) == 0) {
                char *end;

                a->up.expires = strtoll(v, &end, 10);
                if (*end || a->up.expires <= 0)
                    return fail(a, PF_EUSAGE, "run: --expires takes a number of seconds");
            } else if (strncmp(arg, "--credentials-file", 18) == 0) {
                a->up.credentials_file = v;
            } else if (strncmp(arg, "--put-url", 9) == 0 ||
                       strncmp(arg, "--get-url", 9) == 0) {
                int put = arg[2] == 'p';
                char **slot = put ? &a->put_url : &a->get_url, err[300];

                if (*slot) {
                    snprintf(msg, sizeof msg, "run: %s given twice", put ? "--put-url"
                                                                         : "--get-url");
                    return fail(a, PF_EUSAGE, msg);
                }
                if (!(*slot = pf_cli_url_arg(v, put ? "--put-url" : "--get-url",
                                             &a->stdin_used, err, sizeof err))) {
                    snprintf(msg, sizeof msg, "run: %s", err);
                    return fail(a, PF_EUSAGE, msg);
                }
                if (put) {
                    a->up.mode = PF_UPLOAD_PUT;
                    a->up.put_url = a->put_url;
                    a->hosting++;
                } else {
                    a->up.get_url = a->get_url;
                }
            } else if (strncmp(arg, "--content-type", 14) == 0) {
                a->up.content_type = v;
            } else if (strncmp(arg, "--timeout", 9) == 0) {
                if ((a->timeout_ms = pf_cli_parse_seconds(v)) < 0)
                    return fail(a, PF_EUSAGE, "run: --timeout takes a number of seconds");
            } else {
                a->outdir = v;
            }
        } else if (arg[0] == '-' && arg[1]) {
            snprintf(msg, sizeof msg, "run: unknown option '%.200s' (see 'preflight help "
                     "run')", arg);
            return fail(a, PF_EUSAGE, msg);
        } else {
            fields[(*nfields)++] = argv[i];
        }
    }
    if (!a->model && !a->schema)
        return fail(a, PF_EUSAGE, "run: --model ID is required (see 'preflight models')");
    if (!a->outdir)
        return fail(a, PF_EUSAGE, "run: -o DIR is required: the outputs are downloaded "
                    "there");
    if (a->hosting > 1)
        return fail(a, PF_EUSAGE, "run: give one of --upload, --put-url and --inline");
    if (a->up.get_url && a->up.mode != PF_UPLOAD_PUT)
        return fail(a, PF_EUSAGE, "run: --get-url goes with --put-url");
    /* One type for one file: --upload hosts each file with its own. */
    if (a->up.content_type && a->up.mode != PF_UPLOAD_PUT)
        return fail(a, PF_EUSAGE, "run: --content-type goes with --put-url");
    return -1;
}

/* The check passed on stdout in text mode; in JSON mode only the manifest
 * is printed, or the report when the check failed. */
static void print_report(const struct run_args *a, const pf_schema *schema,
                         const pf_report *report)
{
    if (a->job.json) {
        char *text = pf_report_to_json(report);

        if (text)
            puts(text);
        pf_free(text);
        return;
    }
    printf("%s\n", pf_schema_model(schema));
    pf_cli_print_report(stdout, report, pf_cli_use_color(stdout));
}

int pf_cli_run(int argc, char **argv)
{
    struct run_args a;
    pf_ctx *ctx = pf_ctx_new();
    pf_request *req = pf_request_new();
    pf_schema *schema = NULL;
    pf_report *report = NULL;
    pf_fix_result *fixed = NULL;
    pf_jobs *jobs = NULL;
    pf_job *job = NULL;
    char **fields = calloc((size_t)argc + 1, sizeof *fields), msg[600], *inputs = NULL;
    const pf_report *checked;
    int nfields = 0, status = PF_EXIT_ERROR;
    pf_submit_options so;
    pf_wait_options wo;
    pf_err rc;

    memset(&a, 0, sizeof a);
    pf_upload_options_init(&a.up);
    pf_submit_options_init(&so);
    pf_wait_options_init(&wo);
    if (!ctx || !req || !fields) {
        pf_cli_error("out of memory");
        goto out;
    }
    if ((status = parse(&a, argc, argv, fields, &nfields)) >= 0)
        goto out;
    status = PF_EXIT_ERROR;
    {
        struct pf_cli_request_args ra = { a.model, a.schema, a.input, fields, nfields,
                                          a.allow_http, a.job.verbose };

        if ((rc = pf_cli_load_request(ctx, "run", &ra, &schema, req, msg, sizeof msg))) {
            status = fail(&a, rc, msg);
            goto out;
        }
    }
    pf_cli_catch_interrupt(ctx, 3);
    /* 1. check, or fix and check */
    if (a.fix) {
        pf_fix_options fo;

        pf_fix_options_init(&fo);
        fo.fit = a.fit;
        if (!(inputs = malloc(strlen(a.outdir) + 8))) {
            pf_cli_error("out of memory");
            goto out;
        }
        sprintf(inputs, "%s/inputs", a.outdir);
        if ((rc = pf_fix(ctx, schema, req, inputs, &fo, &fixed))) {
            status = fail(&a, rc, pf_cli_ctx_error(ctx, rc));
            goto out;
        }
        for (size_t i = 0; i < pf_fix_result_change_count(fixed); i++) {
            const pf_fix_change *c = pf_fix_result_change(fixed, i);

            if (c->status == PF_FIX_FAILED)
                pf_cli_error("%s", c->message);
            else if (!a.job.json)
                printf("fixed %s: %s\n  → %s\n", c->field, c->summary, c->output);
        }
        checked = pf_fix_result_report(fixed);
    } else {
        if ((rc = pf_check(ctx, schema, req, &report))) {
            status = fail(&a, rc, pf_cli_ctx_error(ctx, rc));
            goto out;
        }
        checked = report;
    }
    for (size_t i = 0; i < pf_report_error_count(checked); i++)
        pf_cli_error("%s", pf_report_error(checked, i)->message);
    if (!pf_report_ok(checked)) {
        print_report(&a, schema, checked);
        if (!a.job.json)
            printf("not submitted\n");
        status = pf_report_exit_code(checked);
        goto out;
    }
    if (!a.job.json)
        print_report(&a, schema, checked);
    /* 2. host and submit (the ledger first: maybe nothing to do) */
    so.force = a.force;
    so.outdir = a.outdir;
    /* fal's models fetch from fal's CDN best, and its key is the one the
     * job needs anyway: that is where local files go unless told. */
    if (!a.hosting && strcmp(pf_schema_provider(schema), "fal") == 0) {
        a.up.mode = PF_UPLOAD_FAL;
        a.hosting = 1;
        a.fal_default = 1;
    }
    /* The fal key for the upload comes from where the job's does. */
    if (a.up.mode == PF_UPLOAD_FAL && !a.up.credentials_file)
        a.up.credentials_file = a.job.token_file;
    if (a.hosting) {
        a.up.progress = upload_progress;
        so.host = host;
        so.host_userdata = &a;
        so.host_limit = a.up.mode == PF_UPLOAD_PUT ? 1 : 0;
    }
    if ((rc = pf_cli_jobs_open(ctx, &a.job, &jobs)) ||
        (rc = pf_jobs_submit(jobs, schema, checked, &so, &job))) {
        status = fail(&a, rc, pf_cli_ctx_error(ctx, rc));
        goto out;
    }
    if (!a.job.json)
        printf("%s job %lld: request %s\n", pf_job_reused(job)
               ? "already submitted, not sent again:" : "submitted:",
               (long long)pf_job_number(job), pf_job_request_id(job));
    fflush(stdout);
    /* 3. wait and download */
    wo.timeout_ms = a.timeout_ms;
    wo.keep_on_interrupt = a.keep;
    wo.outdir = a.outdir;
    wo.force = a.force;
    wo.progress = pf_cli_job_progress;
    rc = pf_jobs_wait(jobs, job, &wo);
    pf_cli_job_progress_end();
    if (rc)
        pf_cli_error("%s", pf_cli_job_error(ctx, rc, job));
    /* 4. the manifest, whatever happened: the job is what the user has */
    if (a.job.json)
        pf_cli_print_job_json(ctx, job, rc == PF_OK, rc, rc ? pf_cli_job_error(ctx, rc, job) : NULL);
    else
        pf_cli_print_job(stdout, ctx, job, 1);
    status = pf_cli_job_exit(rc);
out:
    pf_cli_job_progress_end();
    pf_job_free(job);
    pf_jobs_close(jobs);
    pf_fix_result_free(fixed);
    pf_report_free(report);
    pf_schema_free(schema);
    pf_request_free(req);
    pf_cli_release_interrupt();
    pf_ctx_free(ctx);
    free(fields);
    free(inputs);
    free(a.put_url);
    free(a.get_url);
    return status;
}
