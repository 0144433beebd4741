/*
 * The ledger's interface (ledger.h): opening a ledger by URL, the calls
 * every backend answers the same way, and the job memory they share.
 * Nothing here knows SQL: ledger_sqlite.c and ledger_pg.c do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ledger.h"

static const char *const state_names[] = {
    "submitting", "in_queue", "in_progress", "completed", "failed",
    "cancelled", "outcome_unknown", "rejected"
};

const char *pf_job_state_name(pf_job_state s)
{
    if ((unsigned)s >= sizeof state_names / sizeof state_names[0])
        return "unknown";
    return state_names[s];
}

int pf_job_state_is_final(pf_job_state s)
{
    return s >= PF_JOB_COMPLETED;
}

pf_job_state pf__ledger_state(const char *name)
{
    for (size_t i = 0; name && i < sizeof state_names / sizeof state_names[0]; i++)
        if (strcmp(state_names[i], name) == 0)
            return (pf_job_state)i;
    return PF_JOB_UNKNOWN;
}

pf_media_kind pf__ledger_kind(const char *name)
{
    if (!name)
        return PF_MEDIA_UNKNOWN;
    if (strcmp(name, "image") == 0)
        return PF_MEDIA_IMAGE;
    if (strcmp(name, "video") == 0)
        return PF_MEDIA_VIDEO;
    if (strcmp(name, "audio") == 0)
        return PF_MEDIA_AUDIO;
    return PF_MEDIA_UNKNOWN;
}

const char *pf__ledger_kind_text(pf_media_kind k)
{
    return k == PF_MEDIA_UNKNOWN ? NULL : pf_media_kind_name(k);
}

/* ---- job memory ---------------------------------------------------------- */

pf_job *pf__job_new(void)
{
    pf_job *job = calloc(1, sizeof *job);

    if (job)
        job->queue_position = -1;
    return job;
}

int pf__job_set(char **field, const char *value)
{
    char *copy = NULL;

    if (value && !(copy = strdup(value)))
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

void pf__job_clear_outputs(pf_job *job)
{
    for (size_t i = 0; i < job->noutputs; i++) {
        free(job->outputs[i].url);
        free(job->outputs[i].redacted);
        free(job->outputs[i].path);
        free(job->outputs[i].sha256);
        free(job->outputs[i].worker);
    }
    free(job->outputs);
    job->outputs = NULL;
    job->noutputs = 0;
}

/* After a realloc moved the outputs, or after a field changed. */
void pf__job_refresh_views(pf_job *job)
{
    for (size_t i = 0; i < job->noutputs; i++) {
        struct pf__job_output *o = &job->outputs[i];

        o->pub.url = o->redacted;
        o->pub.path = o->path;
        o->pub.sha256 = o->sha256;
    }
}

pf_err pf__job_add_output(pf_job *job, const char *url, pf_media_kind kind)
{
    struct pf__job_output *grown, *o;
    char redacted[2048];

    grown = realloc(job->outputs, (job->noutputs + 1) * sizeof *grown);
    if (!grown)
        return PF_ENOMEM;
    job->outputs = grown;
    o = &grown[job->noutputs];
    memset(o, 0, sizeof *o);
    pf__redact_url(redacted, sizeof redacted, url);
    if (!(o->url = strdup(url)) || !(o->redacted = strdup(redacted))) {
        free(o->url);
        free(o->redacted);
        return PF_ENOMEM;
    }
    o->pub.kind = kind;
    o->pub.size = -1;
    job->noutputs++;
    pf__job_refresh_views(job);
    return PF_OK;
}

void pf_job_free(pf_job *job)
{
    if (!job)
        return;
    pf__job_clear_outputs(job);
    free(job->provider);
    free(job->model);
    free(job->base_url);
    free(job->body);
    free(job->wire);
    free(job->meta);
    free(job->request_id);
    free(job->error);
    free(job->outdir);
    free(job);
}

void pf_job_list_free(pf_job **jobs, size_t count)
{
    if (!jobs)
        return;
    for (size_t i = 0; i < count; i++)
        pf_job_free(jobs[i]);
    free(jobs);
}


int pf__ledger_rank(pf_job_state s)
{
    return s == PF_JOB_SUBMITTING ? 0 : s == PF_JOB_QUEUED ? 1 : s == PF_JOB_RUNNING ? 2 : 3;
}

/* ---- opening ------------------------------------------------------------- */

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);

    return v && atoi(v) > 0 ? atoi(v) : fallback;
}

pf_err pf__ledger_init_base(struct pf__ledger *l, const struct pf__ledger_ops *ops,
                            pf_ctx *ctx)
{
    const char *w = getenv("PREFLIGHT_WORKER");
    char host[256];

    l->ops = ops;
    l->ctx = ctx;
    l->lease_s = PF__LEASE_S_DEFAULT;
    if (!w || !*w) {
        if (gethostname(host, sizeof host) != 0)
            pf__strlcpy(host, "localhost", sizeof host);
        host[sizeof host - 1] = '\0';
        w = host;
    }
    if (!(l->worker = strdup(w)))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
}

void pf__ledger_free_base(struct pf__ledger *l)
{
    free(l->where);
    free(l->worker);
}

/* A password in a libpq URL: "user:secret@" before the host, or a
 * password= (or sslpassword=) parameter. It would sit in argv (ps, /proc), in shell history
 * and in every message that names the ledger. */
static int url_has_password(const char *url)
{
    const char *rest = strstr(url, "://"), *end, *at, *q;

    if (!rest)
        return 0;
    rest += 3;
    end = rest + strcspn(rest, "/?");
    at = memchr(rest, '@', (size_t)(end - rest));
    if (at && memchr(rest, ':', (size_t)(at - rest)))
        return 1;
    /* password=, and sslpassword= (the client key's) alike */
    for (q = strchr(url, '?'); q; q = strchr(q + 1, '&')) {
        size_t name = strcspn(q + 1, "=&");

        if (name >= 8 && q[1 + name] == '=' &&
            strncasecmp(q + 1 + name - 8, "password", 8) == 0)
            return 1;
    }
    return 0;
}

pf_err pf__ledger_open_url(pf_ctx *ctx, const char *url, const char *dir,
                           struct pf__ledger **out)
{
    struct pf__ledger *l = NULL;
    pf_err rc;

    *out = NULL;
    if (!url || !*url)
        url = getenv("PREFLIGHT_LEDGER");
    if (url && !*url)
        url = NULL;
    if (!url)
        return pf__ledger_open(ctx, dir, out);
    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *file = url + 7;

        /* sqlite:///abs/path and sqlite:PATH alike. */
        if (strncmp(file, "//", 2) == 0)
            file += 2;
        if (!*file)
            return pf__error(ctx, PF_EUSAGE, "%s: the ledger URL names no file "
                             "(sqlite:PATH)", url);
        rc = pf__sqlite_open(ctx, file, &l);
    } else if (strncmp(url, "postgresql://", 13) == 0 ||
               strncmp(url, "postgres://", 11) == 0) {
        if (url_has_password(url))
            return pf__error(ctx, PF_EUSAGE, "the ledger URL carries a password: it "
                             "is refused, never used (command lines and messages are "
                             "seen by others); put it in PGPASSWORD, ~/.pgpass or a "
                             "service file (PGSERVICE) and give the URL without it");
        rc = pf__pg_open(ctx, url, &l);
    } else {
        char shown[80];

        pf__redact_url(shown, sizeof shown, url);
        return pf__error(ctx, PF_EUSAGE, "%s: not a ledger URL (sqlite:PATH or "
                         "postgresql://HOST/DB)", shown);
    }
    if (!rc) {
        /* Over the ledger's own setting: the tests shorten leases. */
        l->lease_s = env_int("PREFLIGHT_LEASE_S", l->lease_s);
        *out = l;
    }
    return rc;
}

pf_err pf__ledger_open(pf_ctx *ctx, const char *dir, struct pf__ledger **out)
{
    struct pf__ledger *l = NULL;
    char *path;
    pf_err rc;

    *out = NULL;
    if ((rc = pf__mkdir_p(ctx, dir, 0700, "state directory")))
        return rc;
    if (!(path = pf__asprintf("%s/jobs.db", dir)))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    rc = pf__sqlite_open(ctx, path, &l);
    free(path);
    if (!rc) {
        /* Over the ledger's own setting: the tests shorten leases. */
        l->lease_s = env_int("PREFLIGHT_LEASE_S", l->lease_s);
        *out = l;
    }
    return rc;
}

void pf__ledger_close(struct pf__ledger *l)
{
    if (l)
        l->ops->close(l);
}

const char *pf__ledger_path(const struct pf__ledger *l)
{
    return l->where;
}

const char *pf__ledger_backend(const struct pf__ledger *l)
{
    return l->ops->name;
}

/* ---- the calls ------------------------------------------------------------ */

pf_err pf__ledger_lock(struct pf__ledger *l, const char *name, int wait)
{
    return l->ops->lock(l, name, wait);
}

void pf__ledger_unlock(struct pf__ledger *l, const char *name)
{
    l->ops->unlock(l, name);
}

void pf__ledger_holder(struct pf__ledger *l, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    l->ops->holder(l, name, buf, size);
}

pf_err pf__ledger_find_key(struct pf__ledger *l, const char *key, pf_job **out)
{
    return l->ops->find_key(l, key, out);
}

pf_err pf__ledger_insert(struct pf__ledger *l, pf_job *job, int replace, int64_t *holder)
{
    size_t size = strlen(job->body) + 64;
    char *sent = job->body, *kept = malloc(size);
    int64_t none;
    pf_err rc;

    /* The body is recorded with every URL in it cut to its path (no query,
     * no userinfo): no presigned signature of a hosted input is stored.
     * The POST is sent from memory, and the key was computed before. */
    if (!kept)
        return pf__error(l->ctx, PF_ENOMEM, "out of memory");
    pf__strlcpy(kept, sent, size);
    pf__redact_text(kept, size);
    job->body = kept;
    rc = l->ops->insert(l, job, replace, holder ? holder : &none);
    job->body = sent;
    free(kept);
    return rc;
}

pf_err pf__ledger_update(struct pf__ledger *l, pf_job *job, const char *detail)
{
    return l->ops->update(l, job, detail);
}

pf_err pf__ledger_set_outputs(struct pf__ledger *l, pf_job *job)
{
    return l->ops->set_outputs(l, job);
}

pf_err pf__ledger_set_unsent(struct pf__ledger *l, pf_job *job, int unsent,
                             const char *detail)
{
    return l->ops->set_unsent(l, job, unsent, detail);
}

pf_err pf__ledger_refresh_urls(struct pf__ledger *l, pf_job *job)
{
    return l->ops->refresh_urls(l, job);
}

pf_err pf__ledger_output_done(struct pf__ledger *l, pf_job *job, size_t i)
{
    if (pf__job_set(&job->outputs[i].worker, l->worker))
        return pf__error(l->ctx, PF_ENOMEM, "out of memory");
    return l->ops->output_done(l, job, i);
}

pf_err pf__ledger_get_id(struct pf__ledger *l, int64_t id, pf_job **out)
{
    return l->ops->get_id(l, id, out);
}

pf_err pf__ledger_get_request(struct pf__ledger *l, const char *request_id, pf_job **out)
{
    return l->ops->get_request(l, request_id, out);
}

pf_err pf__ledger_list(struct pf__ledger *l, int unfinished, size_t limit,
                       pf_job ***out, size_t *count)
{
    return l->ops->list(l, unfinished, limit, out, count);
}

pf_err pf__ledger_reload(struct pf__ledger *l, pf_job *job)
{
    pf_job *fresh = NULL;
    pf_err rc = pf__ledger_get_id(l, job->id, &fresh);
    pf_job tmp;

    if (rc == PF_ENOENT)
        return pf__error(l->ctx, PF_EIO, "%s: job %lld vanished from the ledger",
                         l->where, (long long)job->id);
    if (rc)
        return rc;
    /* Swap contents so the caller's pointer stays valid. */
    fresh->reused = job->reused;
    fresh->wire = job->wire;        /* not stored: the caller's */
    job->wire = NULL;
    tmp = *job;
    *job = *fresh;
    *fresh = tmp;
    pf_job_free(fresh);
    return PF_OK;
}

pf_err pf__ledger_status(struct pf__ledger *l, char **json)
{
    cJSON *doc = cJSON_CreateObject();
    pf_err rc = PF_OK;

    *json = NULL;
    if (!doc ||
        !cJSON_AddStringToObject(doc, "ledger", l->where) ||
        !cJSON_AddStringToObject(doc, "backend", l->ops->name) ||
        !cJSON_AddNumberToObject(doc, "schema", l->schema) ||
        !cJSON_AddNumberToObject(doc, "lease_s", l->lease_s) ||
        !cJSON_AddStringToObject(doc, "worker", l->worker)) {
        rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = l->ops->counts(l, doc)))
        goto out;
    if (!(*json = cJSON_PrintUnformatted(doc)))
        rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
out:
    cJSON_Delete(doc);
    return rc;
}

pf_err pf__ledger_set_lease(struct pf__ledger *l, int seconds)
{
    pf_err rc;

    if (seconds < 5 || seconds > 86400)
        return pf__error(l->ctx, PF_EUSAGE, "a lease lasts 5 to 86400 seconds, not %d",
                         seconds);
    if (!(rc = l->ops->set_lease(l, seconds)))
        l->lease_s = seconds;
    return rc;
}

pf_err pf__ledger_import(struct pf__ledger *l, struct pf__ledger *from,
                         size_t *imported, size_t *skipped)
{
    pf_job **list = NULL;
    size_t n = 0;
    pf_err rc;

    *imported = *skipped = 0;
    if ((rc = pf__ledger_list(from, 0, 0, &list, &n)))
        return rc;
    /* Oldest first, so the new ids keep the old order. */
    for (size_t k = n; k-- > 0 && !rc;) {
        char origin[160];
        int added = 0;

        snprintf(origin, sizeof origin, "%s/%lld", from->ops->id(from),
                 (long long)list[k]->id);
        if (!(rc = l->ops->import_job(l, list[k], origin, &added)))
            ++*(added ? imported : skipped);
    }
    pf_job_list_free(list, n);
    return rc;
}
