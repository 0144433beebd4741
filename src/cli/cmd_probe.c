/* preflight probe: the facts of many files, probed by a pool of threads
 * (one per core) and printed in the order given. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

const char pf_cli_probe_usage[] =
    "usage: preflight probe [--json] [--jobs N] [--allow-http] [--verbose]\n"
    "                       FILE|URL|- ...\n"
    "\n"
    "Prints what a server will see of each file: format, codec, displayed\n"
    "width and height (rotation, EXIF orientation and pixel aspect applied),\n"
    "size, duration, frame rate, frame count, audio. Reads headers only.\n"
    "\n"
    "  --json              one JSON object per line, in the order given\n"
    "  --jobs N            probe N files at a time (default: one per core)\n"
    "  --allow-http        probe plain http:// URLs (local test servers)\n"
    "  --verbose           log what is read, to stderr\n"
    "  -                   read more paths from stdin, one per line\n"
    "\n"
    "exit status: 0 all probed, 2 some input could not be probed.\n";

struct job {
    const char *path;
    char *out;                  /* the line(s) to print on stdout */
    char *err;                  /* the one-line error, or NULL */
    int done;
};

struct pool {
    struct job *jobs;
    size_t count;
    size_t next;                /* next job to take */
    size_t printed;             /* jobs before this one are printed */
    int failures;
    int json, allow_http, verbose;
    pthread_mutex_t lock;
};

/* Prints the finished jobs that are next in line. Called with the lock
 * held by whichever worker completes a job, so nothing waits on a printer
 * thread and output keeps the order given. */
static void flush_ready(struct pool *p)
{
    while (p->printed < p->count && p->jobs[p->printed].done) {
        struct job *j = &p->jobs[p->printed++];

        if (j->err) {
            fflush(stdout);
            pf_cli_error("%s", j->err);
            p->failures++;
        }
        if (j->out)
            puts(j->out);
        free(j->out);
        free(j->err);
        j->out = j->err = NULL;
    }
}

static char *json_line(const char *path, const pf_media_info *info, pf_err rc,
                       const char *message)
{
    cJSON *o;
    char *text = NULL, *file = NULL, *facts = NULL;

    if (rc) {
        cJSON *e;

        if (!(o = cJSON_CreateObject()))
            return NULL;
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddBoolToObject(o, "ok", 0);
        e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", pf_err_name(rc));
        cJSON_AddStringToObject(e, "message", message);
        text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return text;
    }
    /* The facts object with "file" and "ok" spliced in front, for people
     * reading the lines; built once, not printed, parsed and printed again. */
    if ((o = cJSON_CreateString(path)))
        file = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    facts = pf_media_info_to_json(info);
    if (file && facts && facts[0] == '{')
        text = malloc(strlen(file) + strlen(facts) + 24);
    if (text)
        sprintf(text, "{\"file\":%s,\"ok\":true,%s", file, facts + 1);
    free(file);
    pf_free(facts);
    return text;
}

static void run_job(struct pool *p, pf_ctx *ctx, struct job *j)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    pf_err rc = pf_probe(ctx, j->path, &info);
    char desc[512];

    if (rc)
        j->err = strdup(pf_ctx_error(ctx));
    if (p->json) {
        j->out = json_line(j->path, &info, rc, pf_ctx_error(ctx));
    } else if (!rc) {
        pf_cli_describe_media(desc, sizeof desc, &info);
        j->out = malloc(strlen(j->path) + strlen(desc) + 4);
        if (j->out)
            sprintf(j->out, "%s: %s", j->path, desc);
    }
}

static void *worker(void *arg)
{
    struct pool *p = arg;
    pf_ctx *ctx = pf_ctx_new();

    if (ctx) {
        pf_ctx_set_allow_http(ctx, p->allow_http);
        if (p->verbose)
            pf_ctx_set_log(ctx, pf_cli_log_stderr, NULL);
    }
    for (;;) {
        struct job *j;

        pthread_mutex_lock(&p->lock);
        j = p->next < p->count ? &p->jobs[p->next++] : NULL;
        pthread_mutex_unlock(&p->lock);
        if (!j)
            break;
        if (ctx)
            run_job(p, ctx, j);
        else
            j->err = strdup("out of memory");
        pthread_mutex_lock(&p->lock);
        j->done = 1;
        flush_ready(p);
        pthread_mutex_unlock(&p->lock);
    }
    pf_ctx_free(ctx);
    return NULL;
}

/* The paths to probe: the arguments, with "-" replaced by the lines of
 * stdin (one path per line). lines keeps what was read, to be freed. */
static int collect(char **args, size_t nargs, char ***lines_out, size_t *nlines,
                   struct job **jobs_out, size_t *count)
{
    struct job *jobs = NULL;
    char **lines = NULL;
    size_t n = 0, nl = 0;
    int stdin_used = 0;

    for (size_t i = 0; i < nargs && !stdin_used; i++) {
        char *line = NULL;
        size_t len = 0;
        ssize_t got;

        if (strcmp(args[i], "-") != 0)
            continue;
        stdin_used = 1;
        while ((got = getline(&line, &len, stdin)) > 0) {
            char **grown;

            while (got && (line[got - 1] == '\n' || line[got - 1] == '\r'))
                line[--got] = '\0';
            if (!got)
                continue;
            if (!(grown = realloc(lines, (nl + 1) * sizeof *lines))) {
                free(line);
                goto nomem;
            }
            lines = grown;
            lines[nl++] = line;
            line = NULL;
            len = 0;
        }
        free(line);
    }
    if (!(jobs = calloc(nargs + nl + 1, sizeof *jobs)))
        goto nomem;
    for (size_t i = 0; i < nargs; i++) {
        if (strcmp(args[i], "-") == 0) {
            for (size_t k = 0; k < nl; k++)
                jobs[n++].path = lines[k];
            continue;
        }
        jobs[n++].path = args[i];
    }
    *jobs_out = jobs;
    *count = n;
    *lines_out = lines;
    *nlines = nl;
    return 0;
nomem:
    for (size_t i = 0; i < nl; i++)
        free(lines[i]);
    free(lines);
    free(jobs);
    return -1;
}

int pf_cli_probe(int argc, char **argv)
{
    struct pool p = { 0 };
    pthread_t threads[64];
    char **lines = NULL;
    size_t nlines = 0;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    char **args = calloc((size_t)argc + 1, sizeof *args);
    size_t nargs = 0;
    int nthreads = 0, failures = 0;

    if (!args) {
        pf_cli_error("out of memory");
        return PF_EXIT_ERROR;
    }

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(pf_cli_usage("probe"), stdout);
            free(args);
            return PF_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            p.json = 1;
        } else if (strcmp(argv[i], "--allow-http") == 0) {
            p.allow_http = 1;
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            p.verbose = 1;
        } else if (strcmp(argv[i], "--jobs") == 0 || strncmp(argv[i], "--jobs=", 7) == 0) {
            const char *v = argv[i][6] == '=' ? argv[i] + 7 : (i + 1 < argc ? argv[++i] : "");
            char *end;

            jobs = strtol(v, &end, 10);
            if (!*v || *end || jobs < 1 || jobs > 64) {
                pf_cli_error("probe: --jobs takes a number from 1 to 64");
                free(args);
                return PF_EXIT_ERROR;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            pf_cli_error("probe: unknown option '%s' (see 'preflight help probe')",
                         argv[i]);
            free(args);
            return PF_EXIT_ERROR;
        } else {
            args[nargs++] = argv[i];
        }
    }
    if (collect(args, nargs, &lines, &nlines, &p.jobs, &p.count) != 0) {
        pf_cli_error("out of memory");
        free(args);
        return PF_EXIT_ERROR;
    }
    if (p.count == 0) {
        pf_cli_error("probe: no files given (see 'preflight help probe')");
        failures = 1;
        goto out;
    }
    if (jobs < 1)
        jobs = 1;
    if ((size_t)jobs > p.count)
        jobs = (long)p.count;
    pthread_mutex_init(&p.lock, NULL);
    for (; nthreads < jobs; nthreads++)
        if (pthread_create(&threads[nthreads], NULL, worker, &p) != 0)
            break;
    if (nthreads == 0)
        worker(&p);             /* no thread could start: do it here */
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&p.lock);
    failures = p.failures;
out:
    for (size_t i = 0; i < nlines; i++)
        free(lines[i]);
    free(lines);
    free(p.jobs);
    free(args);
    return failures ? PF_EXIT_ERROR : PF_EXIT_OK;
}
