/* The job subcommands: submit, status, wait, result, cancel, jobs, resume.
 * Each is a few calls to the jobs section of include/preflight.h; what they
 * share (the ledger options, Ctrl-C, the live status line, printing a job)
 * is at the top. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define JOB_OPTIONS_HELP                                                     \
    "  --state-dir DIR     the job ledger's directory (default\n"           \
    "                      $XDG_STATE_HOME/preflight or ~/.local/state/preflight)\n" \
    "  --ledger URL        the ledger: sqlite:PATH or postgresql://HOST/DB, shared\n" \
    "                      by workers on several machines (default $PREFLIGHT_LEDGER,\n" \
    "                      else the state directory's jobs.db; never a password)\n" \
    "  --base-url URL      send API calls to URL instead of the provider's host\n" \
    "  --token-file FILE   read the API token from FILE (default: the environment,\n" \
    "                      RUNCOMFY_API_TOKEN or YOUR_API_TOKEN, COMETAPI_KEY,\n" \
    "                      FAL_KEY)\n"                                     \
    "  --json              print exactly one JSON object on stdout\n"      \
    "  --verbose           log each API call to stderr (never a token or a\n" \
    "                      URL's query string)\n"

#define WAIT_OPTIONS_HELP                                                    \
    "  --timeout SECONDS   stop waiting after this long; the job goes on and\n" \
    "                      stays recorded\n"                                  \
    "  --keep-on-interrupt on Ctrl-C, leave a queued job in the queue (by default\n" \
    "                      it is cancelled; a running job always goes on)\n" \
    "  --force             replace existing files of the same names\n"

#define EXIT_HELP                                                            \
    "exit status: 0 done, 1 the job failed or was cancelled, 2 the command\n" \
    "could not be carried out (usage, network, outcome unknown, timeout).\n"

const char pf_cli_submit_usage[] =
    "usage: preflight submit --model ID [--schema FILE] [--input REQUEST.json]\n"
    "                        [-o DIR] [--force] [--allow-http] [--state-dir DIR]\n"
    "                        [--base-url URL] [--token-file FILE] [--json] [--verbose]\n"
    "                        FIELD=VALUE | FIELD:=JSON ...\n"
    "\n"
    "Checks the request as 'check' does and, only if it passes, submits it to\n"
    "the model's API. The submission is recorded in the job ledger before it is\n"
    "sent: the same request submitted again returns the recorded job instead of\n"
    "paying twice. Media must be URLs the API can fetch ('preflight run' hosts\n"
    "local files). Prints the job's number and the API's request id.\n"
    "\n"
    "  --model ID          a bundled model (see 'preflight models')\n"
    "  --schema FILE       a rules file, or a RunComfy input schema (--model names\n"
    "                      the model to submit to)\n"
    "  --input FILE        a request JSON object (\"-\" reads stdin)\n"
    "  -o, --output DIR    where 'wait' and 'resume' download the outputs\n"
    "  --force             submit even if the ledger holds this request (pays again)\n"
    "  --allow-http        probe plain http:// URLs (local test servers)\n"
    JOB_OPTIONS_HELP
    "\n"
    "exit status: 0 submitted (or already recorded), 1 the check failed (nothing\n"
    "was sent), 2 could not submit (an outcome unknown among them).\n";

const char pf_cli_status_usage[] =
    "usage: preflight status [--state-dir DIR] [--base-url URL] [--token-file FILE]\n"
    "                        [--json] [--verbose] ID\n"
    "\n"
    "Asks the API for a recorded job's state once, records it and prints it: in_queue\n"
    "(with the queue position), in_progress, completed, failed, cancelled, or\n"
    "outcome_unknown for a submission nobody saw answered. ID is the API's request\n"
    "id or the job's number in the ledger.\n"
    "\n"
    JOB_OPTIONS_HELP
    "\n"
    "exit status: 0 the job is queued, running or completed, 1 it failed or was\n"
    "cancelled, 2 the state could not be learnt.\n";

const char pf_cli_wait_usage[] =
    "usage: preflight wait [-o DIR] [--timeout SECONDS] [--keep-on-interrupt] [--force]\n"
    "                      [--state-dir DIR] [--base-url URL] [--token-file FILE]\n"
    "                      [--json] [--verbose] ID\n"
    "\n"
    "Polls a recorded job until it finishes (from about 1 s apart up to 15 s, with\n"
    "jitter; a live status line on a terminal), then downloads every output not\n"
    "downloaded yet into DIR: streamed to a temporary file, resumed with a Range\n"
    "request after an interrupted transfer, probed (an output that is not the media\n"
    "it claims is an error) and renamed to a safe name taken from its URL. An\n"
    "output URL refused as expired (401, 403, 404, 410) makes it read the job's\n"
    "result once more for fresh URLs and try again. Prints the outputs with their\n"
    "probed facts.\n"
    "\n"
    "  -o, --output DIR    download into DIR (default: the directory recorded at\n"
    "                      submission, else the current directory)\n"
    WAIT_OPTIONS_HELP
    JOB_OPTIONS_HELP
    "\n"
    EXIT_HELP;

const char pf_cli_result_usage[] =
    "usage: preflight result [--state-dir DIR] [--base-url URL] [--token-file FILE]\n"
    "                        [--json] [--verbose] ID\n"
    "\n"
    "Prints a finished job's outputs: kind, URL (without its query string) and,\n"
    "once downloaded, the local file with its probed facts. Fetches the result\n"
    "from the API when the ledger does not hold it yet.\n"
    "\n"
    JOB_OPTIONS_HELP
    "\n"
    "exit status: 0 the job completed, 1 it failed or was cancelled, 2 it is not\n"
    "finished or its result could not be read.\n";

const char pf_cli_cancel_usage[] =
    "usage: preflight cancel [--state-dir DIR] [--base-url URL] [--token-file FILE]\n"
    "                        [--json] [--verbose] ID\n"
    "\n"
    "Cancels a queued job. A job already running cannot be cancelled (the APIs\n"
    "refuse) and goes on.\n"
    "\n"
    JOB_OPTIONS_HELP
    "\n"
    "exit status: 0 cancelled, 2 not cancelled.\n";

const char pf_cli_jobs_usage[] =
    "usage: preflight jobs [--unfinished] [--limit N] [--state-dir DIR] [--json]\n"
    "\n"
    "Lists the jobs in the ledger, newest first: number, request id, model, state\n"
    "and when it was submitted. No network access.\n"
    "\n"
    "  --unfinished        only the jobs 'resume' would continue\n"
    "  --limit N           at most N jobs (default 20; 0 for all)\n"
    "  --state-dir DIR     the job ledger's directory\n"
    "  --ledger URL        the ledger: sqlite:PATH or postgresql://HOST/DB\n"
    "  --json              print one JSON object: {\"ledger\", \"jobs\": [...]}\n"
    "\n"
    "exit status: 0, or 2 when the ledger cannot be read.\n";

const char pf_cli_resume_usage[] =
    "usage: preflight resume [-o DIR] [--timeout SECONDS] [--keep-on-interrupt]\n"
    "                        [--force] [--state-dir DIR] [--base-url URL]\n"
    "                        [--token-file FILE] [--json] [--verbose]\n"
    "\n"
    "Continues every unfinished job in the ledger, oldest first, as 'wait' would:\n"
    "after a crash, a kill -9 or a closed terminal. A job whose submission was\n"
    "never seen answered is reported as outcome unknown, with what to check; it is\n"
    "never submitted again. A job another live worker is carrying on (it holds the\n"
    "job's lease) is left to it and reported as held (exit 1); once that worker is\n"
    "gone (its lease expired, on a shared PostgreSQL ledger) resume takes it over.\n"
    "\n"
    "  -o, --output DIR    download jobs that recorded no directory into DIR\n"
    WAIT_OPTIONS_HELP
    JOB_OPTIONS_HELP
    "\n"
    "exit status: 0 every job completed and is downloaded, 1 a job failed, was\n"
    "cancelled or is held by another worker, 2 some job could not be carried on.\n";

/* ---- shared ------------------------------------------------------------- */

int pf_cli_job_option(int argc, char **argv, int *i, struct pf_cli_job_args *a,
                      char *msg, size_t msg_size)
{
    const char *arg = argv[*i], *v = NULL;
    const char **slot = NULL;

    if (strcmp(arg, "--json") == 0) {
        a->json = 1;
        return 1;
    }
    if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "-v") == 0) {
        a->verbose = 1;
        return 1;
    }
    if (pf_cli_option_value(argc, argv, i, "--state-dir", &v))
        slot = &a->state_dir;
    else if (pf_cli_option_value(argc, argv, i, "--base-url", &v))
        slot = &a->base_url;
    else if (pf_cli_option_value(argc, argv, i, "--token-file", &v))
        slot = &a->token_file;
    else if (pf_cli_option_value(argc, argv, i, "--ledger", &v))
        slot = &a->ledger;
    else if (strncmp(arg, "--token", 7) == 0 && strncmp(arg, "--token-file", 12) != 0) {
        /* Said before anything else: a token in argv is visible to every
         * user of the machine (ps, /proc). */
        snprintf(msg, msg_size, "%s is not an option: a token is never taken from "
                 "the command line (set RUNCOMFY_API_TOKEN or COMETAPI_KEY, or use "
                 "--token-file FILE)", strncmp(arg, "--token=", 8) == 0 ? "--token" : arg);
        return -1;
    }
    if (!slot)
        return 0;
    if (!v || !*v) {
        snprintf(msg, msg_size, "%s needs a value", arg);
        return -1;
    }
    *slot = v;
    return 1;
}

pf_err pf_cli_jobs_open(pf_ctx *ctx, const struct pf_cli_job_args *a, pf_jobs **out)
{
    pf_jobs_options o;

    pf_jobs_options_init(&o);
    o.state_dir = a->state_dir;
    o.base_url = a->base_url;
    o.token_file = a->token_file;
    if (a->verbose)
        pf_ctx_set_log(ctx, pf_cli_log_stderr, NULL);
    return pf_jobs_open_ledger(ctx, &o, a->ledger, out);
}

static int progress_shown;

void pf_cli_job_progress(void *userdata, const pf_job *job, const pf_job_progress *p)
{
    char line[200], sz[32], total[32];
    int secs = (int)p->elapsed;

    (void)userdata;
    if (!isatty(STDERR_FILENO))
        return;
    if (p->downloading) {
        pf_format_size(sz, sizeof sz, p->bytes);
        pf_format_size(total, sizeof total, p->total);
        snprintf(line, sizeof line, "job %lld: downloading output %zu of %zu, %s%s%s  %d:%02d",
                 (long long)pf_job_number(job), p->output + 1, p->outputs, sz,
                 p->total >= 0 ? " of " : "", p->total >= 0 ? total : "",
                 secs / 60, secs % 60);
    } else if (p->queue_position >= 0) {
        snprintf(line, sizeof line, "job %lld: %s, position %d  %d:%02d",
                 (long long)pf_job_number(job), pf_job_state_name(p->state),
                 p->queue_position, secs / 60, secs % 60);
    } else {
        snprintf(line, sizeof line, "job %lld: %s  %d:%02d", (long long)pf_job_number(job),
                 pf_job_state_name(p->state), secs / 60, secs % 60);
    }
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    progress_shown = 1;
}

void pf_cli_job_progress_end(void)
{
    if (progress_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        progress_shown = 0;
    }
}

void pf_cli_print_job(FILE *out, pf_ctx *ctx, const pf_job *job, int probe_media)
{
    char when[32], pos[32] = "";
    time_t t = (time_t)pf_job_created(job);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    if (pf_job_queue_position(job) >= 0)
        snprintf(pos, sizeof pos, " (position %d)", pf_job_queue_position(job));
    fprintf(out, "job %lld  %s  %s  %s%s  %s\n", (long long)pf_job_number(job),
            pf_job_request_id(job) ? pf_job_request_id(job) : "-", pf_job_model(job),
            pf_job_state_name(pf_job_get_state(job)), pos, when);
    if (pf_job_error(job) && pf_job_get_state(job) != PF_JOB_COMPLETED)
        fprintf(out, "  %s\n", pf_job_error(job));
    for (size_t i = 0; i < pf_job_output_count(job); i++) {
        const pf_job_output *o = pf_job_output_at(job, i);
        pf_media_info info = PF_MEDIA_INFO_INIT;
        char desc[512], num[600];
        char *where = pf_job_output_json_path(job, i);

        /* "output 2 (images[1])": where the result held it, when it says. */
        snprintf(num, sizeof num, "%zu%s%.500s%s", i + 1, where ? " (" : "",
                 where ? where : "", where ? ")" : "");
        pf_free(where);
        if (o->path && probe_media && pf_probe(ctx, o->path, &info) == PF_OK) {
            pf_cli_describe_media(desc, sizeof desc, &info);
            fprintf(out, "  output %s  %s: %s\n", num, o->path, desc);
        } else if (o->path) {
            fprintf(out, "  output %s  %s\n", num, o->path);
        } else {
            fprintf(out, "  output %s  %s %s\n", num,
                    o->kind == PF_MEDIA_UNKNOWN ? "media" : pf_media_kind_name(o->kind),
                    o->url);
        }
    }
}

/* The job's JSON with "ok" (and "error") first. */
static cJSON *job_json(pf_ctx *ctx, const pf_job *job, int ok, pf_err code,
                       const char *message)
{
    char *text = pf_job_to_json(ctx, job, 1);
    cJSON *doc = text ? cJSON_Parse(text) : NULL, *head = cJSON_CreateObject(), *err;

    pf_free(text);
    if (!doc || !head) {
        cJSON_Delete(doc);
        cJSON_Delete(head);
        return NULL;
    }
    cJSON_AddBoolToObject(head, "ok", ok);
    if (!ok && (err = cJSON_AddObjectToObject(head, "error"))) {
        cJSON_AddStringToObject(err, "code", pf_err_name(code));
        cJSON_AddStringToObject(err, "message", message ? message : "");
    }
    while (doc->child) {
        cJSON *item = cJSON_DetachItemViaPointer(doc, doc->child);

        cJSON_AddItemToObject(head, item->string, item);
    }
    cJSON_Delete(doc);
    return head;
}

static void print_json(cJSON *doc)
{
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;

    if (text)
        puts(text);
    else
        pf_cli_json_error(PF_ENOMEM, "out of memory");
    free(text);
}

void pf_cli_print_job_json(pf_ctx *ctx, const pf_job *job, int ok, pf_err code,
                           const char *message)
{
    cJSON *doc = job_json(ctx, job, ok, code, message);

    print_json(doc);
    cJSON_Delete(doc);
}

int pf_cli_job_exit(pf_err rc)
{
    if (rc == PF_OK)
        return PF_EXIT_OK;
    return rc == PF_EJOB || rc == PF_EHELD ? PF_EXIT_VIOLATION : PF_EXIT_ERROR;
}

int64_t pf_cli_parse_seconds(const char *text)
{
    char *end;
    double s = strtod(text, &end);

    if (end == text || *end || !(s > 0) || s > 1e7)
        return -1;
    return (int64_t)(s * 1000);
}

/* ---- the commands -------------------------------------------------------- */

struct cmd {
    const char *name;
    struct pf_cli_job_args a;
    const char *id, *outdir;
    int64_t timeout_ms;
    int keep, force, unfinished;
    long limit;
    pf_ctx *ctx;
    pf_jobs *jobs;
};

static int fail(const struct cmd *c, pf_err code, const char *message)
{
    pf_cli_job_progress_end();
    pf_cli_fail(c->a.json, code, message);
    return pf_cli_job_exit(code) == PF_EXIT_OK ? PF_EXIT_ERROR : pf_cli_job_exit(code);
}

static int fail_ctx(const struct cmd *c, pf_err code)
{
    return fail(c, code, pf_cli_ctx_error(c->ctx, code));
}

/* Parses the options a job command takes (which ones: flags) and its ID.
 * Returns -1 to go on, else the exit status. */
enum { TAKES_ID = 1, TAKES_WAIT = 2, TAKES_LIST = 4 };

static int parse(struct cmd *c, int argc, char **argv, int takes)
{
    char msg[400];

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        int r;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(pf_cli_usage(c->name), stdout);
            return PF_EXIT_OK;
        }
        if ((r = pf_cli_job_option(argc, argv, &i, &c->a, msg, sizeof msg)) < 0)
            return fail(c, PF_EUSAGE, msg);
        if (r > 0)
            continue;
        if ((takes & TAKES_WAIT) && (pf_cli_option_value(argc, argv, &i, "-o", &v) ||
                                     pf_cli_option_value(argc, argv, &i, "--output", &v))) {
            if (!v || !*v)
                return fail(c, PF_EUSAGE, "-o needs a directory");
            c->outdir = v;
        } else if ((takes & TAKES_WAIT) &&
                   pf_cli_option_value(argc, argv, &i, "--timeout", &v)) {
            if (!v || (c->timeout_ms = pf_cli_parse_seconds(v)) < 0) {
                snprintf(msg, sizeof msg, "--timeout takes a number of seconds, not "
                         "'%.100s'", v ? v : "");
                return fail(c, PF_EUSAGE, msg);
            }
        } else if ((takes & TAKES_WAIT) && strcmp(arg, "--keep-on-interrupt") == 0) {
            c->keep = 1;
        } else if ((takes & TAKES_WAIT) && strcmp(arg, "--force") == 0) {
            c->force = 1;
        } else if ((takes & TAKES_LIST) && strcmp(arg, "--unfinished") == 0) {
            c->unfinished = 1;
        } else if ((takes & TAKES_LIST) &&
                   pf_cli_option_value(argc, argv, &i, "--limit", &v)) {
            char *end;

            c->limit = v ? strtol(v, &end, 10) : -1;
            if (!v || *end || c->limit < 0)
                return fail(c, PF_EUSAGE, "--limit takes a number (0: all)");
        } else if (arg[0] == '-' && arg[1]) {
            snprintf(msg, sizeof msg, "%s: unknown option '%.200s' (see 'preflight "
                     "help %s')", c->name, arg, c->name);
            return fail(c, PF_EUSAGE, msg);
        } else if ((takes & TAKES_ID) && !c->id) {
            c->id = arg;
        } else {
            snprintf(msg, sizeof msg, "%s: unexpected argument '%.200s'", c->name, arg);
            return fail(c, PF_EUSAGE, msg);
        }
    }
    if ((takes & TAKES_ID) && !c->id) {
        snprintf(msg, sizeof msg, "%s: which job? give its request id or number (see "
                 "'preflight jobs')", c->name);
        return fail(c, PF_EUSAGE, msg);
    }
    return -1;
}

/* Runs a command body with the context, the ledger and the job (when it
 * takes an ID) ready. */
typedef int (*cmd_fn)(struct cmd *c, pf_job *job);

static int with_job(const char *name, int argc, char **argv, int takes, cmd_fn fn)
{
    struct cmd c;
    pf_job *job = NULL;
    int status;
    pf_err rc;

    memset(&c, 0, sizeof c);
    c.name = name;
    c.limit = 20;
    if (!(c.ctx = pf_ctx_new())) {
        pf_cli_error("out of memory");
        return PF_EXIT_ERROR;
    }
    if ((status = parse(&c, argc, argv, takes)) >= 0)
        goto out;
    pf_cli_catch_interrupt(c.ctx, 3);
    if ((rc = pf_cli_jobs_open(c.ctx, &c.a, &c.jobs)) ||
        (c.id && (rc = pf_jobs_get(c.jobs, c.id, &job)))) {
        status = fail_ctx(&c, rc);
        goto out;
    }
    status = fn(&c, job);
out:
    pf_cli_job_progress_end();
    pf_job_free(job);
    pf_jobs_close(c.jobs);
    pf_cli_release_interrupt();
    pf_ctx_free(c.ctx);
    return status;
}

/* Prints a job after a command: JSON or text, ok or with the error. */
static int show(struct cmd *c, const pf_job *job, pf_err rc, int probe)
{
    int status = pf_cli_job_exit(rc);

    pf_cli_job_progress_end();
    if (rc)
        pf_cli_error("%s", pf_cli_job_error(c->ctx, rc, job));
    if (c->a.json)
        pf_cli_print_job_json(c->ctx, job, rc == PF_OK, rc,
                              rc ? pf_cli_job_error(c->ctx, rc, job) : NULL);
    else
        pf_cli_print_job(stdout, c->ctx, job, probe);
    return status;
}

static int state_exit(pf_job_state s)
{
    if (s == PF_JOB_FAILED || s == PF_JOB_CANCELLED || s == PF_JOB_REJECTED)
        return PF_EXIT_VIOLATION;
    return s == PF_JOB_UNKNOWN ? PF_EXIT_ERROR : PF_EXIT_OK;
}

static int do_status(struct cmd *c, pf_job *job)
{
    pf_err rc = pf_jobs_refresh(c->jobs, job);

    if (rc)
        return show(c, job, rc, 0);
    show(c, job, PF_OK, 0);
    return state_exit(pf_job_get_state(job));
}

static int do_result(struct cmd *c, pf_job *job)
{
    pf_err rc = pf_jobs_refresh(c->jobs, job);
    pf_job_state s = pf_job_get_state(job);
    char msg[300];

    if (rc)
        return show(c, job, rc, 0);
    if (s == PF_JOB_COMPLETED)
        return show(c, job, PF_OK, 1);
    if (s == PF_JOB_FAILED || s == PF_JOB_CANCELLED || s == PF_JOB_REJECTED) {
        snprintf(msg, sizeof msg, "job %lld is %s%s%s", (long long)pf_job_number(job),
                 pf_job_state_name(s), pf_job_error(job) ? ": " : "",
                 pf_job_error(job) ? pf_job_error(job) : "");
        return fail(c, PF_EJOB, msg);
    }
    snprintf(msg, sizeof msg, "job %lld is %s: no result yet ('preflight wait %s' waits "
             "for it)", (long long)pf_job_number(job), pf_job_state_name(s), c->id);
    return fail(c, PF_EUSAGE, msg);
}

static int do_cancel(struct cmd *c, pf_job *job)
{
    pf_err rc = pf_jobs_cancel(c->jobs, job);

    if (rc) {
        fail_ctx(c, rc);
        return PF_EXIT_ERROR;
    }
    return show(c, job, PF_OK, 0);
}

static pf_wait_options wait_options(const struct cmd *c, const char *outdir)
{
    pf_wait_options w;

    pf_wait_options_init(&w);
    w.timeout_ms = c->timeout_ms;
    w.keep_on_interrupt = c->keep;
    w.outdir = outdir;
    w.force = c->force;
    w.progress = pf_cli_job_progress;
    return w;
}

static int do_wait(struct cmd *c, pf_job *job)
{
    const char *dir = c->outdir ? c->outdir : pf_job_outdir(job) ? NULL : ".";
    pf_wait_options w = wait_options(c, dir);

    return show(c, job, pf_jobs_wait(c->jobs, job, &w), 1);
}

static int do_jobs(struct cmd *c, pf_job *unused)
{
    pf_job **list = NULL;
    size_t n = 0;
    pf_err rc;

    (void)unused;
    if ((rc = pf_jobs_list(c->jobs, c->unfinished, (size_t)c->limit, &list, &n)))
        return fail_ctx(c, rc);
    if (c->a.json) {
        cJSON *doc = cJSON_CreateObject(), *arr;

        if (doc) {
            cJSON_AddBoolToObject(doc, "ok", 1);
            cJSON_AddStringToObject(doc, "ledger", pf_jobs_ledger_path(c->jobs));
            arr = cJSON_AddArrayToObject(doc, "jobs");
            for (size_t i = 0; arr && i < n; i++) {
                char *text = pf_job_to_json(c->ctx, list[i], 0);
                cJSON *item = text ? cJSON_Parse(text) : NULL;

                pf_free(text);
                if (item)
                    cJSON_AddItemToArray(arr, item);
            }
        }
        print_json(doc);
        cJSON_Delete(doc);
    } else if (!n) {
        printf("no %sjobs in %s\n", c->unfinished ? "unfinished " : "",
               pf_jobs_ledger_path(c->jobs));
    } else {
        for (size_t i = 0; i < n; i++)
            pf_cli_print_job(stdout, c->ctx, list[i], 0);
    }
    pf_job_list_free(list, n);
    return PF_EXIT_OK;
}

static int do_resume(struct cmd *c, pf_job *unused)
{
    pf_job **list = NULL;
    size_t n = 0;
    int worst = PF_EXIT_OK;
    cJSON *doc = c->a.json ? cJSON_CreateObject() : NULL, *arr = NULL;
    pf_err rc;

    (void)unused;
    if ((rc = pf_jobs_list(c->jobs, 1, 0, &list, &n))) {
        cJSON_Delete(doc);
        return fail_ctx(c, rc);
    }
    if (doc)
        arr = cJSON_AddArrayToObject(doc, "jobs");
    /* Oldest first: the order they were paid for. */
    for (size_t k = n; k-- > 0;) {
        pf_job *job = list[k];
        const char *dir = c->outdir && !pf_job_outdir(job) ? c->outdir : NULL;
        pf_wait_options w = wait_options(c, dir);
        int status;

        /* Another worker's job is left to it: its lease says it lives. */
        if (!(rc = pf_jobs_hold(c->jobs, job)))
            rc = pf_jobs_wait(c->jobs, job, &w);
        pf_cli_job_progress_end();
        status = pf_cli_job_exit(rc);
        if (rc)
            pf_cli_error("%s", pf_cli_job_error(c->ctx, rc, job));
        if (arr) {
            cJSON *item = job_json(c->ctx, job, rc == PF_OK, rc, pf_cli_job_error(c->ctx, rc, job));

            if (item)
                cJSON_AddItemToArray(arr, item);
        } else {
            pf_cli_print_job(stdout, c->ctx, job, 1);
        }
        if (status > worst)
            worst = status;
        if (rc == PF_EINTR)
            break;
    }
    if (doc) {
        cJSON_AddBoolToObject(doc, "ok", worst == PF_EXIT_OK);
        print_json(doc);
        cJSON_Delete(doc);
    } else if (!n) {
        printf("nothing to resume in %s\n", pf_jobs_ledger_path(c->jobs));
    }
    pf_job_list_free(list, n);
    return worst;
}

int pf_cli_status(int argc, char **argv)
{
    return with_job("status", argc, argv, TAKES_ID, do_status);
}

int pf_cli_result(int argc, char **argv)
{
    return with_job("result", argc, argv, TAKES_ID, do_result);
}

int pf_cli_cancel(int argc, char **argv)
{
    return with_job("cancel", argc, argv, TAKES_ID, do_cancel);
}

int pf_cli_wait(int argc, char **argv)
{
    return with_job("wait", argc, argv, TAKES_ID | TAKES_WAIT, do_wait);
}

int pf_cli_jobs(int argc, char **argv)
{
    return with_job("jobs", argc, argv, TAKES_LIST, do_jobs);
}

int pf_cli_resume(int argc, char **argv)
{
    return with_job("resume", argc, argv, TAKES_WAIT, do_resume);
}

/* ---- submit ------------------------------------------------------------- */

int pf_cli_submit(int argc, char **argv)
{
    struct cmd c;
    pf_request *req = pf_request_new();
    pf_schema *schema = NULL;
    pf_report *report = NULL;
    pf_job *job = NULL;
    char **fields = calloc((size_t)argc + 1, sizeof *fields);
    const char *model = NULL, *schema_file = NULL, *input = NULL;
    int nfields = 0, allow_http = 0, status = PF_EXIT_ERROR;
    pf_submit_options so;
    char msg[600];
    pf_err rc;

    memset(&c, 0, sizeof c);
    pf_submit_options_init(&so);
    c.name = "submit";
    if (!(c.ctx = pf_ctx_new()) || !req || !fields) {
        pf_cli_error("out of memory");
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        int r;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(pf_cli_usage("submit"), stdout);
            status = PF_EXIT_OK;
            goto out;
        }
        if ((r = pf_cli_job_option(argc, argv, &i, &c.a, msg, sizeof msg)) < 0) {
            status = fail(&c, PF_EUSAGE, msg);
            goto out;
        }
        if (r > 0)
            continue;
        if (strcmp(arg, "--force") == 0) {
            so.force = 1;
        } else if (strcmp(arg, "--allow-http") == 0) {
            allow_http = 1;
        } else if (pf_cli_option_value(argc, argv, &i, "--model", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--schema", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--input", &v) ||
                   pf_cli_option_value(argc, argv, &i, "--output", &v) ||
                   pf_cli_option_value(argc, argv, &i, "-o", &v)) {
            if (!v || !*v) {
                status = fail(&c, PF_EUSAGE, "submit: an option needs a value");
                goto out;
            }
            if (strncmp(arg, "--model", 7) == 0)
                model = v;
            else if (strncmp(arg, "--schema", 8) == 0)
                schema_file = v;
            else if (strncmp(arg, "--input", 7) == 0)
                input = v;
            else
                so.outdir = v;
        } else if (arg[0] == '-' && arg[1]) {
            snprintf(msg, sizeof msg, "submit: unknown option '%.200s' (see 'preflight "
                     "help submit')", arg);
            status = fail(&c, PF_EUSAGE, msg);
            goto out;
        } else {
            fields[nfields++] = argv[i];
        }
    }
    if (!model && !schema_file) {
        status = fail(&c, PF_EUSAGE, "submit: --model ID is required (see 'preflight "
                      "models')");
        goto out;
    }
    {
        struct pf_cli_request_args ra = { model, schema_file, input, fields, nfields,
                                          allow_http, c.a.verbose };

        if ((rc = pf_cli_load_request(c.ctx, "submit", &ra, &schema, req, msg, sizeof msg))) {
            status = fail(&c, rc, msg);
            goto out;
        }
    }
    if ((rc = pf_check(c.ctx, schema, req, &report))) {
        status = fail_ctx(&c, rc);
        goto out;
    }
    for (size_t i = 0; i < pf_report_error_count(report); i++)
        pf_cli_error("%s", pf_report_error(report, i)->message);
    if (!pf_report_ok(report)) {
        /* Never submitted: the report says why, on stdout as 'check' does. */
        if (c.a.json) {
            char *text = pf_report_to_json(report);

            if (text)
                puts(text);
            pf_free(text);
        } else {
            printf("%s\n", pf_schema_model(schema));
            pf_cli_print_report(stdout, report, pf_cli_use_color(stdout));
            printf("not submitted\n");
        }
        status = pf_report_exit_code(report);
        goto out;
    }
    pf_cli_catch_interrupt(c.ctx, 3);
    if ((rc = pf_cli_jobs_open(c.ctx, &c.a, &c.jobs)) ||
        (rc = pf_jobs_submit(c.jobs, schema, report, &so, &job))) {
        status = fail_ctx(&c, rc);
        goto out;
    }
    if (c.a.json) {
        pf_cli_print_job_json(c.ctx, job, 1, PF_OK, NULL);
    } else {
        if (pf_job_reused(job))
            printf("already submitted: not sent again (--force sends it again)\n");
        pf_cli_print_job(stdout, c.ctx, job, 0);
    }
    status = PF_EXIT_OK;
out:
    pf_job_free(job);
    pf_jobs_close(c.jobs);
    pf_report_free(report);
    pf_schema_free(schema);
    pf_request_free(req);
    pf_cli_release_interrupt();
    pf_ctx_free(c.ctx);
    free(fields);
    return status;
}
