/*
 * What the provider clients share: opening the job client, API tokens,
 * authenticated calls and the error bodies they may carry, hashing.
 *
 * A token is read once, when a call first needs it, kept in memory only,
 * put in exactly one place (the Authorization header of calls to the API's
 * own base URL, never to an output URL) and wiped on close.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"


const struct pf__provider *pf__provider_find(const char *name)
{
    if (name && strcmp(name, pf__runcomfy.name) == 0)
        return &pf__runcomfy;
    if (name && strcmp(name, pf__cometapi.name) == 0)
        return &pf__cometapi;
    if (name && strcmp(name, pf__fal.name) == 0)
        return &pf__fal;
    return NULL;
}

/* ---- opening ------------------------------------------------------------- */

/* $XDG_STATE_HOME/preflight when it is absolute (the XDG spec ignores a
 * relative one), else ~/.local/state/preflight. */
static pf_err default_state_dir(pf_ctx *ctx, char **out)
{
    return pf__xdg_dir(ctx, "XDG_STATE_HOME", ".local/state", "preflight",
                       "the job ledger (or give a state directory)", out);
}

static int env_ms(const char *name, int fallback)
{
    const char *v = pf__env_knob(name);

    return v && atoi(v) > 0 ? atoi(v) : fallback;
}

pf_err pf_jobs_open(pf_ctx *ctx, const pf_jobs_options *opts, pf_jobs **out)
{
    return pf_jobs_open_ledger(ctx, opts, NULL, out);
}

pf_err pf_jobs_open_ledger(pf_ctx *ctx, const pf_jobs_options *opts, const char *ledger,
                           pf_jobs **out)
{
    pf_jobs_options none;
    pf_jobs *jobs = calloc(1, sizeof *jobs);
    char *dir = NULL;
    pf_err rc = PF_OK;

    *out = NULL;
    if ((rc = pf__struct_in(ctx, &none, sizeof none, opts, "pf_jobs_options"))) {
        free(jobs);
        return rc;
    }
    opts = &none;
    if (!jobs)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    jobs->ctx = ctx;
    if (opts->base_url) {
        size_t n = strlen(opts->base_url);

        if (strncmp(opts->base_url, "https://", 8) != 0 &&
            strncmp(opts->base_url, "http://", 7) != 0) {
            rc = pf__error(ctx, PF_EUSAGE, "%s: the base URL must be https:// (or "
                           "http:// on a loopback address)", opts->base_url);
            goto out;
        }
        while (n > 0 && opts->base_url[n - 1] == '/')
            n--;
        if (!(jobs->base_url = strndup(opts->base_url, n)))
            goto nomem;
    }
    if (opts->token_file && !(jobs->token_file = strdup(opts->token_file)))
        goto nomem;
    if (!ledger || !*ledger)
        ledger = getenv("PREFLIGHT_LEDGER");
    if (ledger && *ledger) {
        /* The URL says where; no state directory is needed. */
    } else if (opts->state_dir) {
        if (!(dir = strdup(opts->state_dir)))
            goto nomem;
    } else if ((rc = default_state_dir(ctx, &dir))) {
        goto out;
    }
    jobs->poll_ms = opts->poll_ms > 0 ? opts->poll_ms : env_ms("PREFLIGHT_POLL_MS", 1000);
    jobs->poll_max_ms = opts->poll_max_ms > 0 ? opts->poll_max_ms
                      : jobs->poll_ms * 15 < 15000 ? jobs->poll_ms * 15 : 15000;
    if (jobs->poll_max_ms < jobs->poll_ms)
        jobs->poll_max_ms = jobs->poll_ms;
    /* The tests shorten stall detection the way they shorten retries. */
    jobs->stall_ms = env_ms("PREFLIGHT_STALL_MS", 0);
    jobs->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)jobs;
    if ((rc = pf__ledger_open_url(ctx, ledger, dir, &jobs->ledger)))
        goto out;
    *out = jobs;
    jobs = NULL;
    goto out;
nomem:
    rc = pf__error(ctx, PF_ENOMEM, "out of memory");
out:
    free(dir);
    pf_jobs_close(jobs);
    return rc;
}

void pf_jobs_close(pf_jobs *jobs)
{
    if (!jobs)
        return;
    pf__http_free(jobs->http);
    pf__ledger_close(jobs->ledger);
    pf__secret_wipe(jobs->token);
    free(jobs->token);
    free(jobs->token_file);
    free(jobs->base_url);
    free(jobs);
}

const char *pf_jobs_ledger_path(const pf_jobs *jobs)
{
    return pf__ledger_path(jobs->ledger);
}

const char *pf__api_submit_base(const struct pf_jobs *jobs, const struct pf__provider *p)
{
    const char *env = p->base_env ? getenv(p->base_env) : NULL;

    if (jobs->base_url)
        return jobs->base_url;
    return env && *env ? env : p->default_base;
}

/* The meta's record of output i, or NULL. */
static const cJSON *output_meta(cJSON *meta, size_t i)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(meta, "outputs");

    return cJSON_IsArray(list) && i < (size_t)cJSON_GetArraySize(list)
         ? cJSON_GetArrayItem(list, (int)i) : NULL;
}

int64_t pf__api_output_size(const pf_job *job, size_t i)
{
    cJSON *meta = job->meta ? cJSON_Parse(job->meta) : NULL;
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(output_meta(meta, i), "file_size");
    int64_t n = cJSON_IsNumber(size) && size->valuedouble >= 0 &&
                size->valuedouble < 9e15 ? (int64_t)size->valuedouble : -1;

    cJSON_Delete(meta);
    return n;
}

void pf__api_output_path(const pf_job *job, size_t i, char *buf, size_t size)
{
    cJSON *meta = job->meta ? cJSON_Parse(job->meta) : NULL;
    const char *p = pf__json_str(output_meta(meta, i), "json_path");

    pf__strlcpy(buf, p ? p : "", size);
    cJSON_Delete(meta);
}

pf_err pf_jobs_ledger_status(pf_jobs *jobs, char **json)
{
    return pf__ledger_status(jobs->ledger, json);
}

pf_err pf_jobs_ledger_set_lease(pf_jobs *jobs, int seconds)
{
    return pf__ledger_set_lease(jobs->ledger, seconds);
}

pf_err pf_jobs_import(pf_jobs *jobs, const char *from_url, size_t *imported,
                      size_t *skipped)
{
    struct pf__ledger *from = NULL;
    const char *file;
    pf_err rc;

    *imported = *skipped = 0;
    if (!from_url || strncmp(from_url, "sqlite:", 7) != 0)
        return pf__error(jobs->ctx, PF_EUSAGE, "import reads a SQLite ledger: give "
                         "sqlite:PATH (e.g. sqlite:~/.local/state/preflight/jobs.db)");
    /* Opening would create an empty one: a mistyped path must say so. */
    file = from_url + 7;
    if (strncmp(file, "//", 2) == 0)
        file += 2;
    if (access(file, R_OK) != 0)
        return pf__error(jobs->ctx, PF_ENOENT, "%s: no ledger there: %s", file,
                         strerror(errno));
    if ((rc = pf__ledger_open_url(jobs->ctx, from_url, NULL, &from)))
        return rc;
    if (strcmp(pf__ledger_path(from), pf__ledger_path(jobs->ledger)) == 0)
        rc = pf__error(jobs->ctx, PF_EUSAGE, "%s: a ledger cannot be imported into "
                       "itself", pf__ledger_path(from));
    else
        rc = pf__ledger_import(jobs->ledger, from, imported, skipped);
    pf__ledger_close(from);
    return rc;
}

const char *pf__api_base(const struct pf_jobs *jobs, const pf_job *job)
{
    return jobs->base_url ? jobs->base_url : job->base_url;
}

pf_err pf__api_http(struct pf_jobs *jobs, struct pf__http **out)
{
    pf_err rc;

    if (!jobs->http) {
        if ((rc = pf__http_new(jobs->ctx, &jobs->http)))
            return rc;
        if (jobs->stall_ms > 0)
            pf__http_set_stall_timeout(jobs->http, jobs->stall_ms);
    }
    *out = jobs->http;
    return PF_OK;
}

/* ---- tokens -------------------------------------------------------------- */

/* The token for a provider's calls: the token file, else the first of the
 * provider's environment variables that is set. */
static pf_err get_token(struct pf_jobs *jobs, const struct pf__provider *p,
                        const char **out)
{
    char *token = NULL;
    pf_err rc;

    if (jobs->token && (jobs->token_file || jobs->token_for == p)) {
        *out = jobs->token;
        return PF_OK;
    }
    if (jobs->token_file) {
        if ((rc = pf__read_secret_file(jobs->ctx, jobs->token_file, "an API token", &token)))
            return rc;
    } else {
        const char *v = NULL, *name = NULL;

        for (const char *const *e = p->token_env; *e && !v; e++)
            if ((v = getenv(*e)) && !*v)
                v = NULL;
            else
                name = *e;
        if (!v) {
            char names[128] = "";

            for (const char *const *e = p->token_env; *e; e++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         e == p->token_env ? "" : " or ", *e);
            return pf__error(jobs->ctx, PF_EAUTH, "%s: no API token: set %s, or give "
                             "a token file", p->title, names);
        }
        if (!pf__secret_ok(v))
            return pf__error(jobs->ctx, PF_EAUTH, "%s: $%s is not an API token "
                             "(spaces or control characters)", p->title, name);
        if (!(token = strdup(v)))
            return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    }
    pf__secret_wipe(jobs->token);
    free(jobs->token);
    jobs->token = token;
    jobs->token_for = p;
    *out = token;
    return PF_OK;
}

pf_err pf__api_ready(struct pf_jobs *jobs, const struct pf__provider *p)
{
    struct pf__http *h;
    const char *token;
    pf_err rc;

    if ((rc = get_token(jobs, p, &token)))
        return rc;
    return pf__api_http(jobs, &h);
}

/* ---- calls --------------------------------------------------------------- */

const char *pf__json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int pf__api_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n == 0 || n > 128 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return 0;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789-_.") == n;
}

pf_err pf__api_parse(struct pf_jobs *jobs, const char *url,
                     const struct pf__http_reply *reply, cJSON **out)
{
    char name[1024];

    *out = NULL;
    if (reply->body && (*out = cJSON_ParseWithLength(reply->body, reply->body_len)) &&
        cJSON_IsObject(*out))
        return PF_OK;
    cJSON_Delete(*out);
    *out = NULL;
    pf__redact_url(name, sizeof name, url);
    return pf__error(jobs->ctx, PF_EJSON, "%s: the answer is not a JSON object "
                     "(HTTP %ld, %zu bytes)", name, reply->status, reply->body_len);
}

pf_err pf__api_call(struct pf_jobs *jobs, const pf_job *job, const char *method,
                    const char *url, const char *body, int retries,
                    struct pf__http_reply *reply)
{
    const struct pf__provider *p = pf__provider_find(job->provider);
    const char *headers[16], *token;
    char *auth = NULL, *extra[8] = { NULL };
    size_t nh = 0, nextra = 0;
    struct pf__http_request req;
    struct pf__http *h;
    cJSON *meta = NULL;
    pf_err rc;

    memset(reply, 0, sizeof *reply);
    reply->status = reply->content_length = -1;
    reply->range_first = reply->range_total = reply->retry_after_ms = -1;
    if (!p)
        return pf__error(jobs->ctx, PF_EINTERNAL, "job %lld: unknown provider '%s'",
                         (long long)job->id, job->provider);
    if ((rc = get_token(jobs, p, &token)) || (rc = pf__api_http(jobs, &h)))
        return rc;
    if (!(auth = pf__asprintf("Authorization: %s %s", p->auth_scheme ? p->auth_scheme
                                                                     : "Bearer", token))) {
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    headers[nh++] = auth;
    headers[nh++] = "Accept: application/json";
    if (body)
        headers[nh++] = "Content-Type: application/json";
    /* Headers the model's rules require on every call (X-Runway-Version). */
    if (job->meta && (meta = cJSON_Parse(job->meta))) {
        const cJSON *hv;

        cJSON_ArrayForEach(hv, cJSON_GetObjectItemCaseSensitive(meta, "headers")) {
            if (!cJSON_IsString(hv) || nextra == sizeof extra / sizeof extra[0] ||
                strcspn(hv->string, "\r\n:") != strlen(hv->string) ||
                strcspn(hv->valuestring, "\r\n") != strlen(hv->valuestring))
                continue;
            if (!(extra[nextra] = pf__asprintf("%s: %s", hv->string, hv->valuestring))) {
                rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
                goto out;
            }
            headers[nh++] = extra[nextra++];
        }
    }
    headers[nh] = NULL;
    pf__http_request_init(&req);
    req.method = method;
    req.url = url;
    req.headers = headers;
    if (body) {
        req.body = body;
        req.body_len = strlen(body);
    }
    req.retries = retries == PF__API_ONCE ? 0 : retries;
    req.no_unsent_retry = retries == PF__API_ONCE;
    /* RunComfy may report an error with HTTP 200. */
    req.fail_on_error_code = 1;
    rc = jobs->transport ? jobs->transport(jobs->transport_ud, &req, reply)
                         : pf__http_request(h, &req, reply);
out:
    pf__secret_wipe(auth);
    free(auth);
    for (size_t i = 0; i < nextra; i++)
        free(extra[i]);
    cJSON_Delete(meta);
    return rc;
}

/* ---- hashing ------------------------------------------------------------- */

static void to_hex(const unsigned char *md, char hex[65])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

void pf__api_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    to_hex(md, hex);
}

pf_err pf__api_sha256_file(pf_ctx *ctx, const char *path, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[65536], digest[32];
    unsigned int n = 0;
    int fd = -1;
    ssize_t got;
    pf_err rc = PF_OK;

    if (!md)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = pf__error(ctx, errno == ENOENT ? PF_ENOENT : PF_EIO, "%s: %s", path,
                       strerror(errno));
        goto out;
    }
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    while ((got = read(fd, buf, sizeof buf)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = pf__error(ctx, PF_EIO, "%s: %s", path, strerror(errno));
            goto out;
        }
        EVP_DigestUpdate(md, buf, (size_t)got);
    }
    EVP_DigestFinal_ex(md, digest, &n);
    to_hex(digest, hex);
out:
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(md);
    return rc;
}
