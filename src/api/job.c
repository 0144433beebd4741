/*
 * A job's life over the ledger: submit once, poll, cancel, wait.
 *
 * The one rule everything here serves: money is spent by a POST, so the
 * ledger learns of a submission before the POST is sent and of its answer
 * right after, and a POST is never repeated unless it certainly did not
 * reach the API (a refused connection, a 429 or 503) or the user says so.
 * A submission holds a lock on its request's key across processes from the
 * ledger lookup to the recorded answer; whoever later finds a job still
 * "submitting" under that lock knows its submitter died mid-way and that
 * nobody can tell whether the API created a job.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "../rules/rules_internal.h"

#define PF__SUBMIT_RETRIES 4        /* for a POST answered 429 or 503 */
#define PF__POLL_FAILURES 3         /* queries in a row before giving up */

/* ---- the request's key ---------------------------------------------------- */

/* Calls fn on each media value the schema names in a request object:
 * "image_urls[]" each element, "references[].uri" each element's uri. */
typedef pf_err (*media_fn)(void *ud, const char *field, cJSON *value);

static pf_err walk(const char *rest, cJSON *node, const char *path, media_fn fn,
                   void *ud)
{
    char part[128], sub[512];
    size_t n = strcspn(rest, ".");
    int each;
    cJSON *child;
    pf_err rc;

    if (n >= sizeof part)
        return PF_OK;
    memcpy(part, rest, n);
    part[n] = '\0';
    each = n > 2 && strcmp(part + n - 2, "[]") == 0;
    if (each)
        part[n - 2] = '\0';
    child = cJSON_GetObjectItemCaseSensitive(node, part);
    if (!child || cJSON_IsNull(child))
        return PF_OK;
    /* The path only labels messages ("references[2].uri"); a schema whose
     * path does not fit is cut short there, never in what is hashed. */
    if (snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", part) >= (int)sizeof sub)
        sub[sizeof sub - 2] = '~';
    if (each) {
        cJSON *e;
        int i = 0;

        if (!cJSON_IsArray(child))
            return PF_OK;
        cJSON_ArrayForEach(e, child) {
            char elem[540];

            if (snprintf(elem, sizeof elem, "%s[%d]", sub, i++) >= (int)sizeof elem)
                elem[sizeof elem - 2] = '~';
            rc = rest[n] ? walk(rest + n + 1, e, elem, fn, ud) : fn(ud, elem, e);
            if (rc)
                return rc;
        }
        return PF_OK;
    }
    return rest[n] ? walk(rest + n + 1, child, sub, fn, ud) : fn(ud, sub, child);
}

static pf_err each_media(const pf_schema *schema, cJSON *root, media_fn fn, void *ud)
{
    pf_err rc;

    for (size_t i = 0; i < schema->media_count; i++)
        if ((rc = walk(schema->media[i].path, root, "", fn, ud)))
            return rc;
    return PF_OK;
}

/* A local path, as check.c reads values: anything without a scheme. */
static int is_local(const char *v)
{
    const char *colon = strstr(v, "://");

    if (strncasecmp(v, "data:", 5) == 0)
        return 0;
    return !colon || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789+.-") != (size_t)(colon - v);
}

/* Query parameters that sign a URL rather than name what it points to:
 * a presigned URL made again for the same object differs only in these. */
static int signing_param(const char *name, size_t n)
{
    static const char *const exact[] = { "signature", "expires", "awsaccesskeyid",
                                         "key-pair-id", "policy", NULL };

    if ((n > 6 && strncasecmp(name, "x-amz-", 6) == 0) ||
        (n > 7 && strncasecmp(name, "x-goog-", 7) == 0))
        return 1;
    for (int i = 0; exact[i]; i++)
        if (strlen(exact[i]) == n && strncasecmp(name, exact[i], n) == 0)
            return 1;
    return 0;
}

static char *url_identity(const char *url)
{
    const char *q = strchr(url, '?');
    size_t len = strlen(url);
    char *out = malloc(len + 5), *w;

    if (!out)
        return NULL;
    w = out + sprintf(out, "url:%.*s", (int)(q ? q - url : (long)len), url);
    if (q) {
        const char *p = q + 1;
        char sep = '?';

        while (*p && *p != '#') {
            size_t n = strcspn(p, "&#"), name = strcspn(p, "=&#");

            if (n && !signing_param(p, name < n ? name : n)) {
                *w++ = sep;
                memcpy(w, p, n);
                w += n;
                sep = '&';
            }
            p += n;
            if (*p == '&')
                p++;
        }
    }
    *w = '\0';
    return out;
}

/* ---- what the ledger keeps of the body ---------------------------------- */

/* The ledger keeps what a resubmission needs, not what it cannot use or
 * must not hold: a local file hosted for the request is kept as its path
 * (its presigned URL expires, and is a credential), a data URI as its
 * hash and length (--inline makes up to 16 MB of them), a URL with a
 * signature as its redacted form. Each becomes
 * {"$preflight_media": {"path"|"sha256"+"bytes"|"url": ...}}; a body with
 * such a reference is sent again only from the request itself (a new run
 * of the same command), never from the ledger alone. */
static pf_err media_reference(void *ud, const char *field, cJSON *value)
{
    pf_ctx *ctx = ud;
    cJSON *ref = NULL, *inner;
    const char *v;
    char hex[65], red[2048];

    (void)field;
    if (!cJSON_IsString(value))
        return PF_OK;
    v = value->valuestring;
    if (is_local(v)) {
        char *abs = realpath(v, NULL);

        ref = cJSON_CreateObject();
        inner = ref ? cJSON_AddObjectToObject(ref, "$preflight_media") : NULL;
        if (inner && !cJSON_AddStringToObject(inner, "path", abs ? abs : v))
            inner = NULL;
        free(abs);
    } else if (strncasecmp(v, "data:", 5) == 0) {
        pf__api_sha256_hex(v, strlen(v), hex);
        ref = cJSON_CreateObject();
        inner = ref ? cJSON_AddObjectToObject(ref, "$preflight_media") : NULL;
        if (inner && (!cJSON_AddStringToObject(inner, "sha256", hex) ||
                      !cJSON_AddNumberToObject(inner, "bytes", (double)strlen(v))))
            inner = NULL;
    } else {
        char *id = url_identity(v);
        int signed_url = id && strlen(id) - 4 != strlen(v);

        free(id);
        if (!signed_url)
            return PF_OK;
        pf__redact_url(red, sizeof red, v);
        ref = cJSON_CreateObject();
        inner = ref ? cJSON_AddObjectToObject(ref, "$preflight_media") : NULL;
        if (inner && !cJSON_AddStringToObject(inner, "url", red))
            inner = NULL;
    }
    if (!inner) {
        cJSON_Delete(ref);
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    }
    /* In place: value's own node takes the reference's content. */
    free(value->valuestring);
    value->valuestring = NULL;
    value->type = cJSON_Object;
    value->child = ref->child;
    ref->child = NULL;
    cJSON_Delete(ref);
    return PF_OK;
}

/* The body as the ledger keeps it (see media_reference), malloc'd. */
static pf_err stored_body(pf_jobs *jobs, const pf_schema *schema, const cJSON *request,
                          char **out)
{
    cJSON *copy = cJSON_Duplicate(request, 1);
    pf_err rc = PF_OK;

    *out = NULL;
    if (!copy)
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    if (!(rc = each_media(schema, copy, media_reference, jobs->ctx)) &&
        !(*out = cJSON_PrintUnformatted(copy)))
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    cJSON_Delete(copy);
    return rc;
}

/* Sorts every object's members by name, so equal requests print equal. */
static int by_name(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static pf_err canonicalise(cJSON *node)
{
    cJSON **kids, *c;
    size_t n = 0, i = 0;

    for (c = node ? node->child : NULL; c; c = c->next, n++)
        if (canonicalise(c))
            return PF_ENOMEM;
    if (!cJSON_IsObject(node) || n < 2)
        return PF_OK;
    if (!(kids = malloc(n * sizeof *kids)))
        return PF_ENOMEM;
    for (c = node->child; c; c = c->next)
        kids[i++] = c;
    qsort(kids, n, sizeof *kids, by_name);
    for (i = 0; i < n; i++) {
        kids[i]->prev = i ? kids[i - 1] : kids[n - 1];
        kids[i]->next = i + 1 < n ? kids[i + 1] : NULL;
    }
    node->child = kids[0];
    free(kids);
    return PF_OK;
}

struct keying {
    pf_ctx *ctx;
    size_t locals;
    const char *first_field, *first_path;
};

/* Replaces a media value by what identifies its content. */
static pf_err key_media(void *ud, const char *field, cJSON *value)
{
    struct keying *k = ud;
    char hex[65], *id = NULL;
    pf_err rc;

    (void)field;
    if (!cJSON_IsString(value))
        return PF_OK;
    if (is_local(value->valuestring)) {
        if ((rc = pf__api_sha256_file(k->ctx, value->valuestring, hex)))
            return rc;
        id = pf__asprintf("sha256:%s", hex);
    } else if (strncasecmp(value->valuestring, "data:", 5) == 0) {
        pf__api_sha256_hex(value->valuestring, strlen(value->valuestring), hex);
        id = pf__asprintf("sha256:%s", hex);
    } else {
        id = url_identity(value->valuestring);
    }
    if (!id || !cJSON_SetValuestring(value, id)) {
        free(id);
        return pf__error(k->ctx, PF_ENOMEM, "out of memory");
    }
    free(id);
    return PF_OK;
}

static pf_err compute_key(pf_jobs *jobs, const pf_schema *schema, const pf_job *job,
                          const cJSON *request, char key[65])
{
    cJSON *copy = cJSON_Duplicate(request, 1);
    struct keying k = { jobs->ctx, 0, NULL, NULL };
    char *canon = NULL, *text = NULL;
    pf_err rc;

    if (!copy) {
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = each_media(schema, copy, key_media, &k)))
        goto out;
    if (canonicalise(copy) || !(canon = cJSON_PrintUnformatted(copy)) ||
        !(text = pf__asprintf("preflight job 1\n%s\n%s\n%s\n%s", job->provider,
                              job->base_url, job->model, canon))) {
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    pf__api_sha256_hex(text, strlen(text), key);
out:
    free(text);
    free(canon);
    cJSON_Delete(copy);
    return rc;
}

/* ---- hosting local files --------------------------------------------------- */

struct hosting {
    pf_jobs *jobs;
    const pf_submit_options *opts;
    int count_only;
    size_t locals;
    char first[600];
};

static pf_err host_media(void *ud, const char *field, cJSON *value)
{
    struct hosting *h = ud;
    char *url = NULL;
    pf_err rc;

    if (!cJSON_IsString(value) || !is_local(value->valuestring))
        return PF_OK;
    if (h->count_only) {
        if (!h->locals++)
            snprintf(h->first, sizeof h->first, "%s: %.400s", field, value->valuestring);
        return PF_OK;
    }
    pf__log(h->jobs->ctx, "%s: hosting %s", field, value->valuestring);
    pf__clear_error(h->jobs->ctx);
    if ((rc = h->opts->host(h->opts->host_userdata, h->jobs->ctx, field,
                            value->valuestring, &url))) {
        free(url);
        if (!*pf_ctx_error(h->jobs->ctx))
            pf__error(h->jobs->ctx, rc, "%s: %s could not be hosted (%s)", field,
                      value->valuestring, pf_strerror(rc));
        return rc;
    }
    if (!url || !cJSON_SetValuestring(value, url)) {
        free(url);
        return pf__error(h->jobs->ctx, url ? PF_ENOMEM : PF_EINTERNAL,
                         url ? "out of memory" : "%s: the upload gave no URL", field);
    }
    free(url);
    return PF_OK;
}

/* ---- messages ------------------------------------------------------------------ */

static const char *job_name(const pf_job *job, char *buf, size_t size)
{
    if (job->request_id)
        snprintf(buf, size, "job %lld (%s)", (long long)job->id, job->request_id);
    else
        snprintf(buf, size, "job %lld", (long long)job->id);
    return buf;
}

static pf_err unknown_outcome(pf_jobs *jobs, const pf_job *job)
{
    const struct pf__provider *p = pf__provider_find(job->provider);
    char when[64], name[200];
    struct tm tm;
    time_t t = (time_t)job->created;

    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    return pf__error(jobs->ctx, PF_EUNKNOWN, "%s, %s: outcome unknown: %s; the API may "
                     "or may not have created a job. Check %s for a request made at "
                     "%s; if there is none, submit it again, forced",
                     job_name(job, name, sizeof name), job->model,
                     job->error ? job->error : "its submission was never answered",
                     p ? p->where_to_check : "the provider's dashboard", when);
}

/* A job left "submitting" by a process that is gone: nobody will ever read
 * the API's answer. The caller holds the key's lock, or tried it. */
static pf_err mark_orphan(pf_jobs *jobs, pf_job *job)
{
    job->state = PF_JOB_UNKNOWN;
    if (pf__job_set(&job->error, "the process submitting it stopped before "
                    "recording the API's answer"))
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    return pf__ledger_update(jobs->ledger, job, "submitter gone");
}

/* 1 when a failed POST certainly never reached the API: no byte of it
 * was written, or it failed before any attempt (a missing token, a URL
 * the HTTP layer refuses). */
static int never_sent(pf_err rc, const struct pf__http_reply *reply)
{
    if (reply->status >= 0)
        return 0;
    return !reply->sent || rc == PF_EUSAGE || rc == PF_EAUTH;
}

/* ---- submit ----------------------------------------------------------------------- */

/* The headers a model's rules require besides Content-Type, as the job's
 * meta ({"headers": {...}}), or NULL. */
static pf_err rules_meta(pf_jobs *jobs, const pf_schema *schema, char **out)
{
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(schema->doc, "headers"), *h;
    cJSON *meta = NULL, *copy;
    int n = 0;

    *out = NULL;
    if (!cJSON_GetObjectItemCaseSensitive(schema->doc, "preflight_rules") ||
        !cJSON_IsObject(headers))
        return PF_OK;
    if (!(meta = cJSON_CreateObject()) || !(copy = cJSON_AddObjectToObject(meta, "headers")))
        goto nomem;
    cJSON_ArrayForEach(h, headers) {
        if (!cJSON_IsString(h) || strcasecmp(h->string, "Content-Type") == 0 ||
            strcasecmp(h->string, "Authorization") == 0)
            continue;
        if (!cJSON_AddStringToObject(copy, h->string, h->valuestring))
            goto nomem;
        n++;
    }
    if (n && !(*out = cJSON_PrintUnformatted(meta)))
        goto nomem;
    cJSON_Delete(meta);
    return PF_OK;
nomem:
    cJSON_Delete(meta);
    return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
}

/* An output directory as an absolute path, so 'resume' run from elsewhere
 * finds the same place. */
static char *absolute_dir(const char *dir)
{
    char cwd[PATH_MAX];

    if (!dir)
        return NULL;
    if (dir[0] == '/' || !getcwd(cwd, sizeof cwd))
        return strdup(dir);
    return pf__asprintf("%s/%s", cwd, dir);
}

/* Backoff before repeating a POST the API turned away (429, 503). */
static int64_t backoff_ms(pf_jobs *jobs, int attempt)
{
    int64_t base = (int64_t)jobs->ctx->retry_base_ms << (attempt < 10 ? attempt : 10);

    if (base > 30000)
        base = 30000;
    jobs->rng = jobs->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return base / 2 + (int64_t)((jobs->rng >> 33) % (uint64_t)(base / 2 + 1));
}

/* Records the API's answer. A ledger database that went away meanwhile (a
 * restart, a failover) is waited for, up to a minute: the request id is
 * the one thing that must not be lost, and the job was recorded before the
 * POST, so it is only ever updated, never made twice. */
static pf_err record_submitted(pf_jobs *jobs, pf_job *job)
{
    int64_t until = pf__now_ms() + 60000;
    pf_err rc;

    while ((rc = pf__ledger_update(jobs->ledger, job, "submitted")) == PF_ENET &&
           pf__now_ms() < until) {
        pf__log(jobs->ctx, "%s; trying again", pf_ctx_error(jobs->ctx));
        if (pf__sleep_ms(jobs->ctx, 500))
            break;
    }
    return rc;
}

/* 1 when the API's answer (or its absence) proves the POST created
 * nothing and may be sent again: turned away with 429 or 503, or a
 * connection that failed before a byte of the request was written. */
static int turned_away(pf_err rc, const struct pf__http_reply *reply)
{
    if (reply->status == 429 || reply->status == 503)
        return 1;
    return reply->status < 0 && !reply->sent && rc == PF_ENET;
}

/* Sends the recorded job's POST and records what became of it. Each time
 * the API turns it away, the ledger says so (unsent) before the wait, and
 * again before the next POST (in flight): a process killed while waiting
 * leaves a job that the next run, 'wait' or 'resume' sends, once, rather
 * than an "outcome unknown" for a job that never existed. */
static pf_err send_submission(pf_jobs *jobs, const struct pf__provider *p, pf_job *job)
{
    struct pf__http_reply reply = { 0 };
    char *url = NULL, msg[PF__ERRBUF], why[PF__ERRBUF + 96];
    pf_err rc;
    int attempt = 0;

    if ((rc = p->submit_url(jobs, job, &url)))
        goto rejected;
    for (;;) {
        int64_t wait;

        pf__http_reply_free(&reply);
        if (job->unsent && (rc = pf__ledger_set_unsent(jobs->ledger, job, 0,
                                                       attempt ? "sending again" : "sending")))
            goto out;
        /* One attempt: the layer must not resend a POST behind our back,
         * nor even retry a failed connect without the ledger knowing. */
        rc = pf__api_call(jobs, job, "POST", url, job->wire ? job->wire : job->body,
                          PF__API_ONCE, &reply);
        if (!turned_away(rc, &reply) || attempt >= PF__SUBMIT_RETRIES)
            break;
        /* Turned away before any work: safe to ask again, when the API
         * says (a rate limit's window), else after our own backoff. */
        if ((wait = pf__http_retry_after_wait(&reply)) < 0)
            wait = backoff_ms(jobs, attempt);
        attempt++;
        if (reply.status >= 0)
            snprintf(why, sizeof why, "submission answered HTTP %ld, asking again in "
                     "%.1f s%s", reply.status, (double)wait / 1000,
                     reply.retry_after_ms >= 0 ? " (its Retry-After)" : "");
        else
            snprintf(why, sizeof why, "submission not sent (%s), trying again in %.1f s",
                     pf_ctx_error(jobs->ctx), (double)wait / 1000);
        pf__clear_error(jobs->ctx);
        if ((rc = pf__ledger_set_unsent(jobs->ledger, job, 1, why)))
            goto out;
        pf__log(jobs->ctx, "%s", why);
        if (pf__sleep_ms(jobs->ctx, wait)) {
            rc = pf__error(jobs->ctx, PF_EINTR, "interrupted before the submission "
                           "was accepted: nothing was created");
            goto rejected;
        }
    }
    if (!rc) {
        /* A 2xx: a job exists even if its id cannot be read. */
        if ((rc = p->submitted(jobs, job, reply.body ? reply.body : "")))
            goto unknown;
        pf__log(jobs->ctx, "submitted job %lld: request %s", (long long)job->id,
                job->request_id);
        if ((rc = record_submitted(jobs, job))) {
            /* The one thing the user must not lose is the request id. */
            pf__strlcpy(msg, pf_ctx_error(jobs->ctx), sizeof msg);
            rc = pf__error(jobs->ctx, rc, "submitted as request %s, but the ledger could "
                           "not record it: %s", job->request_id, msg);
        }
        goto out;
    }
    /* Refused: a 4xx, a 503 still after retries, an error the API states in
     * a 2xx body (RunComfy's error_code), or a request that never left. */
    if ((reply.status >= 400 && reply.status < 500) || reply.status == 503 ||
        (rc == PF_EAPI && reply.status >= 200 && reply.status < 300) ||
        never_sent(rc, &reply))
        goto rejected;
unknown:
    pf__strlcpy(msg, pf_ctx_error(jobs->ctx), sizeof msg);
    job->state = PF_JOB_UNKNOWN;
    if (pf__job_set(&job->error, msg) ||
        pf__ledger_update(jobs->ledger, job, "outcome unknown") != PF_OK) {
        rc = pf__error(jobs->ctx, PF_EUNKNOWN, "outcome unknown: %s; and the ledger could "
                       "not record it", msg);
        goto out;
    }
    rc = unknown_outcome(jobs, job);
    goto out;
rejected:
    /* Nothing was created: say so in the ledger, keep the message. */
    pf__strlcpy(msg, pf_ctx_error(jobs->ctx), sizeof msg);
    job->state = PF_JOB_REJECTED;
    if (!pf__job_set(&job->error, msg))
        pf__ledger_update(jobs->ledger, job, "rejected");
    pf__error(jobs->ctx, rc, "%s", msg);
out:
    pf__http_reply_free(&reply);
    free(url);
    return rc;
}

pf_err pf_jobs_submit(pf_jobs *jobs, const pf_schema *schema, const pf_report *checked,
                      const pf_submit_options *opts, pf_job **out)
{
    pf_submit_options none;
    const struct pf__provider *p;
    const cJSON *request;
    cJSON *body = NULL;
    struct hosting host;
    pf_job *job = NULL, *found = NULL;
    int locked = 0;
    int64_t holder = 0;
    char key[65], lockname[80], jobname[40];
    pf_err rc;

    *out = NULL;
    if ((rc = pf__struct_in(jobs->ctx, &none, sizeof none, opts, "pf_submit_options")))
        return rc;
    opts = &none;
    if (!checked || !pf_report_ok(checked))
        return pf__error(jobs->ctx, PF_EUSAGE, "the request does not pass its check: "
                         "not submitted");
    if (!(p = pf__provider_find(schema->provider)))
        return pf__error(jobs->ctx, PF_EUSAGE, "%s: preflight cannot submit to provider "
                         "'%s'", schema->model ? schema->model : "?", schema->provider);
    if (!schema->model || !*schema->model)
        return pf__error(jobs->ctx, PF_EUSAGE, "the schema names no model: the model path "
                         "to submit to is needed");
    if (!(request = pf__report_request(checked)))
        return pf__error(jobs->ctx, PF_EINTERNAL, "the check kept no request");
    if (!(job = pf__job_new()) || !(body = cJSON_Duplicate(request, 1)) ||
        pf__job_set(&job->provider, p->name) || pf__job_set(&job->model, schema->model) ||
        pf__job_set(&job->base_url, pf__api_submit_base(jobs, p)) ||
        (opts->outdir && !(job->outdir = absolute_dir(opts->outdir)))) {
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    memset(&host, 0, sizeof host);
    host.jobs = jobs;
    host.opts = opts;
    host.count_only = 1;
    if ((rc = each_media(schema, body, host_media, &host)))
        goto out;
    if (host.locals && !opts->host) {
        rc = pf__error(jobs->ctx, PF_EUSAGE, "%s is a local file and the API fetches "
                       "URLs: host it first (no host function was "
                       "given)", host.first);
        goto out;
    }
    if (opts->host_limit && host.locals > opts->host_limit) {
        rc = pf__error(jobs->ctx, PF_EUSAGE, "the request has %zu local files and only "
                       "%zu can be hosted", host.locals, opts->host_limit);
        goto out;
    }
    if ((rc = compute_key(jobs, schema, job, request, key)) || (rc = pf__api_ready(jobs, p)))
        goto out;
    memcpy(job->key, key, sizeof key);
    snprintf(lockname, sizeof lockname, "submit %s", key);
    if ((rc = pf__ledger_lock(jobs->ledger, lockname, 1)))
        goto out;
    locked = 1;
    if ((rc = pf__ledger_find_key(jobs->ledger, key, &found)))
        goto out;
    /* We hold the key's lock, so a job still "submitting" lost its process:
     * one the API had turned away is sent now, as that process would
     * have (below, once its media are hosted again); one whose POST may
     * have arrived has an unknown outcome. */
    if (found && found->state == PF_JOB_SUBMITTING && !found->unsent &&
        (rc = mark_orphan(jobs, found)))
        goto out;
    /* --force sends a new job; the turned-away one, never created, must not
     * be sent too by a later 'resume'. */
    if (found && found->state == PF_JOB_SUBMITTING && found->unsent && opts->force) {
        found->state = PF_JOB_REJECTED;
        if ((rc = pf__ledger_update(jobs->ledger, found, "turned away; submitted "
                                    "again with force instead")))
            goto out;
    }
    if (found && !opts->force && !(found->state == PF_JOB_SUBMITTING && found->unsent)) {
        if (found->state == PF_JOB_UNKNOWN) {
            rc = unknown_outcome(jobs, found);
            goto out;
        }
        pf__log(jobs->ctx, "job %lld already holds this request: not submitted again",
                (long long)found->id);
        if (job->outdir && !found->outdir) {
            if (pf__job_set(&found->outdir, job->outdir)) {
                rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
                goto out;
            }
            if ((rc = pf__ledger_update(jobs->ledger, found, NULL)))
                goto out;
        }
        found->reused = 1;
        *out = found;
        found = NULL;
        goto out;
    }
    host.count_only = 0;
    if (host.locals && (rc = each_media(schema, body, host_media, &host)))
        goto out;
    if (!(job->wire = cJSON_PrintUnformatted(body))) {
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    if (found && !opts->force) {
        /* The turned-away job, sent with the media hosted just now. */
        free(found->wire);
        found->wire = job->wire;
        job->wire = NULL;
        if ((rc = send_submission(jobs, p, found)))
            goto out;
        *out = found;
        found = NULL;
        goto out;
    }
    if ((rc = stored_body(jobs, schema, request, &job->body)))
        goto out;
    if ((rc = rules_meta(jobs, schema, &job->meta)))
        goto out;
    job->state = PF_JOB_SUBMITTING;
    /* Recorded as not sent yet: a process killed before its POST leaves a
     * job the next run sends, not an "outcome unknown" (send_submission
     * marks it in flight just before the POST). */
    job->unsent = 1;
    if ((rc = pf__ledger_insert(jobs->ledger, job, opts->force, &holder)) == PF_EEXIST) {
        /* Another worker claimed the key since the lookup (its lease on it
         * had lapsed): its job is the one, nothing is sent. */
        pf__log(jobs->ctx, "job %lld claimed this request meanwhile: not submitted",
                (long long)holder);
        if (!(rc = pf__ledger_get_id(jobs->ledger, holder, &found))) {
            found->reused = 1;
            *out = found;
            found = NULL;
        }
        goto out;
    }
    if (rc)
        goto out;
    /* Held while this process carries the job on ('run' waits for it), so
     * that 'resume' elsewhere leaves it alone until this worker is gone.
     * Only that: failing to take it must not leave a recorded job unsent. */
    snprintf(jobname, sizeof jobname, "job %lld", (long long)job->id);
    pf__ledger_lock(jobs->ledger, jobname, 0);
    if ((rc = send_submission(jobs, p, job)))
        goto out;
    *out = job;
    job = NULL;
out:
    if (locked)
        pf__ledger_unlock(jobs->ledger, lockname);
    pf_job_free(found);
    pf_job_free(job);
    cJSON_Delete(body);
    return rc;
}

/* ---- finding ------------------------------------------------------------------------ */

pf_err pf_jobs_get(pf_jobs *jobs, const char *id, pf_job **out)
{
    pf_err rc = PF_ENOENT;

    *out = NULL;
    if (!id || !*id)
        return pf__error(jobs->ctx, PF_EUSAGE, "no job id given");
    if (strspn(id, "0123456789") == strlen(id) && strlen(id) < 19)
        rc = pf__ledger_get_id(jobs->ledger, strtoll(id, NULL, 10), out);
    if (rc == PF_ENOENT)
        rc = pf__ledger_get_request(jobs->ledger, id, out);
    if (rc == PF_ENOENT)
        return pf__error(jobs->ctx, PF_ENOENT, "no job '%.200s' in the ledger %s",
                         id, pf__ledger_path(jobs->ledger));
    return rc;
}

pf_err pf_jobs_list(pf_jobs *jobs, int unfinished_only, size_t limit, pf_job ***out,
                    size_t *count)
{
    return pf__ledger_list(jobs->ledger, unfinished_only, limit, out, count);
}

pf_err pf_jobs_hold(pf_jobs *jobs, pf_job *job)
{
    char lockname[40], who[300], name[200];
    pf_err rc;

    snprintf(lockname, sizeof lockname, "job %lld", (long long)job->id);
    if ((rc = pf__ledger_lock(jobs->ledger, lockname, 0)) != PF_EEXIST)
        return rc;
    pf__ledger_holder(jobs->ledger, lockname, who, sizeof who);
    return pf__error(jobs->ctx, PF_EHELD, "%s is held by %s: it is being carried on "
                     "there; resuming it takes it over once that worker is gone",
                     job_name(job, name, sizeof name),
                     *who ? who : "another preflight worker");
}

/* ---- status and cancel ------------------------------------------------------------ */

/* A job still "submitting": either another process is sending it right
 * now (leave it), or its process died (it becomes outcome unknown). */
/* Sends a job whose process died while the API had it turned away; the
 * caller holds the key's lock. */
static pf_err send_unsent(pf_jobs *jobs, pf_job *job)
{
    const struct pf__provider *p = pf__provider_find(job->provider);
    pf_err rc;

    if (!p)
        return pf__error(jobs->ctx, PF_EINTERNAL, "job %lld: unknown provider '%s'",
                         (long long)job->id, job->provider);
    if ((rc = pf__api_ready(jobs, p)))
        return rc;
    if (strstr(job->body, "\"$preflight_media\"")) {
        /* Its media were hosted or inlined for that attempt, and the
         * ledger keeps references, not the URLs or bytes. */
        return pf__error(jobs->ctx, PF_EUSAGE, "job %lld was turned away by the API "
                         "before it created anything; its media were hosted for that "
                         "attempt and must be again: submit the same request again to "
                         "send it", (long long)job->id);
    }
    pf__log(jobs->ctx, "job %lld was turned away and never sent again: sending it",
            (long long)job->id);
    return send_submission(jobs, p, job);
}

static pf_err settle_submitting(pf_jobs *jobs, pf_job *job, int send)
{
    char lockname[80];
    pf_err rc;

    snprintf(lockname, sizeof lockname, "submit %s", job->key);
    rc = pf__ledger_lock(jobs->ledger, lockname, 0);
    if (rc == PF_EEXIST)
        return PF_OK;
    if (rc)
        return rc;
    /* Under the lock, re-read: the submitter may have just finished. A job
     * the API turned away was never created: it waits for 'wait', 'resume'
     * or a new run to send it (send_unsent), never for a status query. */
    if (!(rc = pf__ledger_reload(jobs->ledger, job)) &&
        job->state == PF_JOB_SUBMITTING) {
        if (job->unsent && send)
            rc = send_unsent(jobs, job);
        else if (!job->unsent)
            rc = mark_orphan(jobs, job);
    }
    pf__ledger_unlock(jobs->ledger, lockname);
    return rc;
}

/* send: a job turned away by the API whose process is gone is sent (the
 * wait loop), rather than left for one that will (a status query). */
static pf_err refresh(pf_jobs *jobs, pf_job *job, int send)
{
    const struct pf__provider *p = pf__provider_find(job->provider);
    struct pf__poll poll;
    char detail[64];
    const char *why = NULL;
    pf_err rc;

    if ((rc = pf__ledger_reload(jobs->ledger, job)))
        return rc;
    if (job->state == PF_JOB_SUBMITTING)
        return settle_submitting(jobs, job, send);
    if (pf_job_state_is_final(job->state) &&
        !(job->state == PF_JOB_COMPLETED && !job->outputs_known))
        return PF_OK;
    if (!p)
        return pf__error(jobs->ctx, PF_EINTERNAL, "job %lld: unknown provider '%s'",
                         (long long)job->id, job->provider);
    if ((rc = p->poll(jobs, job, &poll)))
        return rc;
    /* Outputs first: a job is never "completed" without them. The ledger
     * ignores a second process's copy of the same list. (This re-reads
     * the job, so what the poll said is applied after.) */
    if (poll.outputs && (rc = pf__ledger_set_outputs(jobs->ledger, job))) {
        free(poll.meta);
        return rc;
    }
    if (poll.meta && pf__job_set(&job->meta, poll.meta)) {
        free(poll.meta);
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    }
    free(poll.meta);
    job->state = poll.state;
    job->queue_position = poll.state == PF_JOB_QUEUED ? poll.queue_position : -1;
    detail[0] = '\0';
    if (job->queue_position >= 0)
        snprintf(detail, sizeof detail, "queue position %d", job->queue_position);
    if (poll.state == PF_JOB_FAILED) {
        /* Recorded and shown: "could not fetch https://...?X-Amz-..." must
         * not keep its signature. */
        pf__redact_text(poll.reason, sizeof poll.reason);
        why = *poll.reason ? poll.reason : "the API gave no reason";
        if (pf__job_set(&job->error, why))
            return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    }
    return pf__ledger_update(jobs->ledger, job, why ? why : *detail ? detail : NULL);
}

pf_err pf_jobs_refresh(pf_jobs *jobs, pf_job *job)
{
    return refresh(jobs, job, 0);
}

pf_err pf__jobs_fresh_urls(pf_jobs *jobs, pf_job *job)
{
    const struct pf__provider *p = pf__provider_find(job->provider);
    size_t recorded = job->noutputs;
    struct pf__poll poll;
    char name[200], msg[PF__ERRBUF];
    pf_err rc;

    job_name(job, name, sizeof name);
    if (!p)
        return pf__error(jobs->ctx, PF_EINTERNAL, "%s: unknown provider '%s'", name,
                         job->provider);
    pf__log(jobs->ctx, "%s: reading its result again for fresh output URLs", name);
    rc = p->poll(jobs, job, &poll);
    free(poll.meta);     /* the same outputs: what is recorded of them holds */
    if (rc == PF_OK && !poll.outputs)
        rc = pf__error(jobs->ctx, PF_EAPI, "%s: the API no longer gives its outputs "
                       "(it says %s)", name, pf_job_state_name(poll.state));
    else if (!rc && job->noutputs != recorded)
        rc = pf__error(jobs->ctx, PF_EAPI, "%s: the API's result now lists %zu outputs, "
                       "not the %zu recorded", name, job->noutputs, recorded);
    if (!rc)
        return pf__ledger_refresh_urls(jobs->ledger, job);
    /* The query replaced the outputs in memory: the ledger's are the truth.
     * What the query said is the news, not a reload's success. */
    pf__strlcpy(msg, pf_ctx_error(jobs->ctx), sizeof msg);
    if (pf__ledger_reload(jobs->ledger, job) == PF_OK)
        pf__strlcpy(jobs->ctx->error, msg, sizeof jobs->ctx->error);
    return rc;
}

pf_err pf_jobs_cancel(pf_jobs *jobs, pf_job *job)
{
    const struct pf__provider *p = pf__provider_find(job->provider);
    char name[200];
    pf_err rc;

    if ((rc = pf_jobs_refresh(jobs, job)))
        return rc;
    job_name(job, name, sizeof name);
    if (job->state == PF_JOB_SUBMITTING || job->state == PF_JOB_UNKNOWN ||
        job->state == PF_JOB_REJECTED)
        return pf__error(jobs->ctx, PF_EUSAGE, "%s has no request id at the API "
                         "(%s): nothing to cancel", name, pf_job_state_name(job->state));
    if (pf_job_state_is_final(job->state))
        return pf__error(jobs->ctx, PF_EJOB, "%s is already %s", name,
                         pf_job_state_name(job->state));
    if (job->state == PF_JOB_RUNNING)
        return pf__error(jobs->ctx, PF_EJOB, "%s is in_progress: only queued jobs can "
                         "be cancelled; it goes on", name);
    if ((rc = p->cancel(jobs, job)))
        return rc;
    job->state = PF_JOB_CANCELLED;
    job->queue_position = -1;
    return pf__ledger_update(jobs->ledger, job, "cancelled by preflight");
}

/* ---- wait ---------------------------------------------------------------------------- */

static void report(const pf_wait_options *o, const pf_job *job, int64_t started)
{
    pf_job_progress pr;

    if (!o->progress)
        return;
    memset(&pr, 0, sizeof pr);
    pr.state = job->state;
    pr.queue_position = job->queue_position;
    pr.elapsed = (double)(pf__now_ms() - started) / 1000.0;
    pr.total = -1;
    o->progress(o->progress_userdata, job, &pr);
}

/* Ctrl-C: a queued job is cancelled (unless kept), a running one goes on.
 * Either way the message says what became of it. */
static pf_err interrupted(pf_jobs *jobs, pf_job *job, const pf_wait_options *o)
{
    char name[200], again[300];
    pf_err rc;

    job_name(job, name, sizeof name);
    snprintf(again, sizeof again, "waiting for %s again picks it up",
             job->request_id ? job->request_id : name);
    jobs->ctx->interrupted = 0;
    if (job->state == PF_JOB_QUEUED && !o->keep_on_interrupt) {
        rc = pf_jobs_cancel(jobs, job);
        jobs->ctx->interrupted = 0;
        if (!rc)
            return pf__error(jobs->ctx, PF_EINTR, "interrupted: %s was still queued "
                             "and is cancelled", name);
        if (rc == PF_EJOB)
            return pf__error(jobs->ctx, PF_EINTR, "interrupted: %s started before it "
                             "could be cancelled and goes on; %s", name, again);
        return pf__error(jobs->ctx, PF_EINTR, "interrupted: cancelling %s failed (%s); "
                         "it may still be queued (cancel %s again)", name,
                         pf_ctx_error(jobs->ctx),
                         job->request_id ? job->request_id : "ID");
    }
    if (pf_job_state_is_final(job->state))
        return pf__error(jobs->ctx, PF_EINTR, "interrupted: %s is %s; %s", name,
                         pf_job_state_name(job->state), again);
    return pf__error(jobs->ctx, PF_EINTR, "interrupted: %s is %s and goes on; %s", name,
                     pf_job_state_name(job->state), again);
}

static int soft_failure(pf_err rc)
{
    return rc == PF_ENET || rc == PF_EHTTP || rc == PF_EJSON;
}

pf_err pf_jobs_wait(pf_jobs *jobs, pf_job *job, const pf_wait_options *opts)
{
    pf_wait_options none;
    int64_t started = pf__now_ms(), interval = jobs->poll_ms;
    int failures = 0;
    char name[200], *dir;
    pf_err rc = PF_OK;

    if ((rc = pf__struct_in(jobs->ctx, &none, sizeof none, opts, "pf_wait_options")))
        return rc;
    opts = &none;
    for (;;) {
        int64_t left, pause;

        if (jobs->ctx->interrupted)
            return interrupted(jobs, job, opts);
        rc = refresh(jobs, job, 1);
        if (rc == PF_EINTR || jobs->ctx->interrupted)
            return interrupted(jobs, job, opts);
        if (rc && soft_failure(rc) && ++failures < PF__POLL_FAILURES) {
            pf__log(jobs->ctx, "status query failed (%s); trying again", pf_ctx_error(jobs->ctx));
        } else if (rc) {
            char msg[PF__ERRBUF];

            pf__strlcpy(msg, pf_ctx_error(jobs->ctx), sizeof msg);
            return pf__error(jobs->ctx, rc, "%s; %s is recorded: waiting for %s again "
                             "tries again", msg, job_name(job, name, sizeof name),
                             job->request_id ? job->request_id : "it");
        } else {
            failures = 0;
        }
        report(opts, job, started);
        if (job->state == PF_JOB_SUBMITTING) {
            /* Another process is sending it: its answer comes shortly. */
        } else if (pf_job_state_is_final(job->state) &&
                   !(job->state == PF_JOB_COMPLETED && !job->outputs_known)) {
            break;
        }
        left = opts->timeout_ms ? started + opts->timeout_ms - pf__now_ms() : INT64_MAX;
        if (left <= 0)
            return pf__error(jobs->ctx, PF_ETIMEOUT, "%s is still %s after %.3g s: it "
                             "goes on; waiting for %s again picks it up",
                             job_name(job, name, sizeof name), pf_job_state_name(job->state),
                             (double)opts->timeout_ms / 1000.0,
                             job->request_id ? job->request_id : "it");
        /* Jitter of +-20% keeps many waiting processes from polling in step. */
        jobs->rng = jobs->rng * 6364136223846793005ULL + 1442695040888963407ULL;
        pause = interval * 8 / 10 + (int64_t)((jobs->rng >> 33) % (uint64_t)(interval * 4 / 10 + 1));
        if (pause > left)
            pause = left;
        /* In one-second steps, so a live status line's clock keeps going
         * between queries 15 s apart. */
        while (pause > 0) {
            int64_t step = pause > 1000 ? 1000 : pause;

            if (pf__sleep_ms(jobs->ctx, step))
                return interrupted(jobs, job, opts);
            pause -= step;
            if (pause > 0)
                report(opts, job, started);
        }
        interval = interval * 3 / 2 > jobs->poll_max_ms ? jobs->poll_max_ms : interval * 3 / 2;
    }
    job_name(job, name, sizeof name);
    switch (job->state) {
    case PF_JOB_COMPLETED:
        break;
    case PF_JOB_FAILED:
        return pf__error(jobs->ctx, PF_EJOB, "%s failed: %s", name,
                         job->error ? job->error : "the API gave no reason");
    case PF_JOB_CANCELLED:
        return pf__error(jobs->ctx, PF_EJOB, "%s was cancelled", name);
    case PF_JOB_REJECTED:
        return pf__error(jobs->ctx, PF_EJOB, "%s was refused by the API: %s", name,
                         job->error ? job->error : "no reason recorded");
    default:
        return unknown_outcome(jobs, job);
    }
    if (!opts->outdir && !job->outdir)
        return PF_OK;
    /* A copy (the job's strings are replaced each time it is re-read), and
     * absolute, so the paths the ledger records hold from anywhere. */
    if (!(dir = absolute_dir(opts->outdir ? opts->outdir : job->outdir)))
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    if (opts->outdir && !job->outdir) {
        if (pf__job_set(&job->outdir, dir))
            rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        else
            rc = pf__ledger_update(jobs->ledger, job, NULL);
    }
    if (!rc)
        rc = pf__download_outputs(jobs, job, dir, opts->force, started, opts->progress,
                                  opts->progress_userdata);
    free(dir);
    if (rc == PF_EINTR || (rc && jobs->ctx->interrupted)) {
        jobs->ctx->interrupted = 0;
        return pf__error(jobs->ctx, PF_EINTR, "interrupted: %s is complete but its "
                         "outputs are not all downloaded; waiting for %s again resumes "
                         "the download", name, job->request_id);
    }
    return rc;
}

/* ---- accessors --------------------------------------------------------------------- */

int64_t pf_job_number(const pf_job *job) { return job->id; }
const char *pf_job_request_id(const pf_job *job) { return job->request_id; }
const char *pf_job_provider(const pf_job *job) { return job->provider; }
const char *pf_job_model(const pf_job *job) { return job->model; }
pf_job_state pf_job_get_state(const pf_job *job) { return job->state; }
int pf_job_queue_position(const pf_job *job) { return job->queue_position; }
const char *pf_job_error(const pf_job *job) { return job->error; }
const char *pf_job_outdir(const pf_job *job) { return job->outdir; }
int64_t pf_job_created(const pf_job *job) { return job->created; }
int64_t pf_job_updated(const pf_job *job) { return job->updated; }
int pf_job_reused(const pf_job *job) { return job->reused; }
size_t pf_job_output_count(const pf_job *job) { return job->noutputs; }

const pf_job_output *pf_job_output_at(const pf_job *job, size_t i)
{
    return i < job->noutputs ? &job->outputs[i].pub : NULL;
}

char *pf_job_output_json_path(const pf_job *job, size_t i)
{
    char where[512];

    if (i >= job->noutputs)
        return NULL;
    pf__api_output_path(job, i, where, sizeof where);
    return *where ? strdup(where) : NULL;
}

static cJSON *string_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

char *pf_job_to_json(pf_ctx *ctx, const pf_job *job, int probe_media)
{
    cJSON *root = cJSON_CreateObject(), *outs;
    char *text = NULL;

    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "job", (double)job->id);
    cJSON_AddItemToObject(root, "request_id", string_or_null(job->request_id));
    cJSON_AddStringToObject(root, "provider", job->provider);
    cJSON_AddStringToObject(root, "model", job->model);
    cJSON_AddStringToObject(root, "state", pf_job_state_name(job->state));
    if (job->queue_position >= 0)
        cJSON_AddNumberToObject(root, "queue_position", job->queue_position);
    else
        cJSON_AddNullToObject(root, "queue_position");
    cJSON_AddItemToObject(root, "reason", string_or_null(job->error));
    cJSON_AddItemToObject(root, "outdir", string_or_null(job->outdir));
    cJSON_AddNumberToObject(root, "created", (double)job->created);
    cJSON_AddNumberToObject(root, "updated", (double)job->updated);
    cJSON_AddBoolToObject(root, "reused", job->reused);
    outs = cJSON_AddArrayToObject(root, "outputs");
    for (size_t i = 0; outs && i < job->noutputs; i++) {
        const pf_job_output *o = &job->outputs[i].pub;
        cJSON *item = cJSON_CreateObject(), *media = NULL;

        if (!item)
            goto out;
        cJSON_AddItemToArray(outs, item);
        cJSON_AddStringToObject(item, "url", o->url);
        cJSON_AddItemToObject(item, "kind", string_or_null(o->kind == PF_MEDIA_UNKNOWN
                                        ? NULL : pf_media_kind_name(o->kind)));
        cJSON_AddItemToObject(item, "path", string_or_null(o->path));
        if (o->size >= 0)
            cJSON_AddNumberToObject(item, "size", (double)o->size);
        else
            cJSON_AddNullToObject(item, "size");
        cJSON_AddItemToObject(item, "sha256", string_or_null(o->sha256));
        {
            /* Where the result held it (fal's file objects can be anywhere). */
            char where[512];

            pf__api_output_path(job, i, where, sizeof where);
            cJSON_AddItemToObject(item, "json_path", string_or_null(*where ? where : NULL));
        }
        cJSON_AddItemToObject(item, "worker", string_or_null(job->outputs[i].worker));
        if (probe_media && o->path) {
            pf_media_info info;

            if (pf__probe(ctx, o->path, &info) == PF_OK) {
                char *facts = pf__media_info_to_json(&info);

                media = facts ? cJSON_Parse(facts) : NULL;
                pf_free(facts);
            }
        }
        cJSON_AddItemToObject(item, "media", media ? media : cJSON_CreateNull());
    }
    text = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return text;
}
