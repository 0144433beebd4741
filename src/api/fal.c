/*
 * fal.ai's queue API, as fal documents it (docs.fal.ai, "Queue"):
 *
 *   POST {base}/{endpoint id}                        → request_id,
 *                                                      status_url,
 *                                                      response_url,
 *                                                      cancel_url
 *   GET  {base}/{owner}/{app}/requests/{id}/status   → IN_QUEUE
 *                                                      (queue_position),
 *                                                      IN_PROGRESS, COMPLETED
 *   GET  {base}/{owner}/{app}/requests/{id}          → the result, or an error
 *   PUT  {base}/{owner}/{app}/requests/{id}/cancel   → CANCELLATION_REQUESTED,
 *                                                      ALREADY_COMPLETED,
 *                                                      NOT_FOUND
 *
 * with "Authorization: Key $FAL_KEY" on each. Status, result and cancel
 * live under the endpoint's owner/app only, without its sub-path
 * (fal-ai/kling-video/requests/... for fal-ai/kling-video/v2.6/pro/
 * image-to-video). The URLs a submission's answer returns are recorded and
 * used only when they are on the API's base URL, so the key goes nowhere
 * else; otherwise the documented paths are built from the endpoint id.
 *
 * COMPLETED says the runner finished, not that it succeeded: a status with
 * an "error" (and "error_type"), or a result answered with a 4xx and a
 * "detail", is a failed job. A 5xx from the result is not read as a
 * failure: it may be the API's own trouble, and a job wrongly marked
 * failed would be paid for again by the next identical submission.
 *
 * Outputs: every file object ({"url", "content_type", "file_name",
 * "file_size", "width", "height"}) at any depth of the result, in document
 * order, with its JSON path and stated size kept in the job's meta.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"

static const char *const token_env[] = { "FAL_KEY", NULL };

/* The endpoint id of a job's model ("fal:fal-ai/x/y" or "fal-ai/x/y"). */
static const char *endpoint_of(const pf_job *job)
{
    return strncmp(job->model, "fal:", 4) == 0 ? job->model + 4 : job->model;
}

/* The base without trailing slashes, as a length. */
static int base_len(const char *base)
{
    size_t n = strlen(base);

    while (n > 0 && base[n - 1] == '/')
        n--;
    return (int)n;
}

static pf_err submit_url(struct pf_jobs *jobs, const pf_job *job, char **url)
{
    const char *ep = endpoint_of(job), *base = pf__api_base(jobs, job);

    if (!pf__fal_endpoint_ok(ep))
        return pf__error(jobs->ctx, PF_EUSAGE, "'%s' is not a fal endpoint id "
                         "(owner/app[/path])", job->model);
    if (!(*url = pf__asprintf("%.*s/%s", base_len(base), base, ep)))
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
}

/* 1 when a URL the API returned may be called with the key: on the base
 * URL (scheme, host, port and path prefix), with nothing a header line or
 * URL parser could read otherwise. */
static int on_base(const char *url, const char *base)
{
    int n = base_len(base);

    if (!url || strncmp(url, base, (size_t)n) != 0 || url[n] != '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '\\' || *p == '@' || *p == '#')
            return 0;
    return strstr(url + n, "/../") == NULL && strstr(url + n, "/./") == NULL;
}

/* The URL for a request's status ("status"), result ("") or cancel: the
 * one the API returned if it is usable, else the documented one. */
static pf_err request_url(struct pf_jobs *jobs, const pf_job *job, const char *what,
                          char **url)
{
    static const char *const keys[] = { "status_url", "response_url", "cancel_url" };
    const char *ep = endpoint_of(job), *base = pf__api_base(jobs, job), *key;
    const char *slash = strchr(ep, '/'), *end;
    cJSON *meta = NULL;
    const char *returned;

    if (!pf__api_id_ok(job->request_id))
        return pf__error(jobs->ctx, PF_EINTERNAL, "job %lld has no usable request id",
                         (long long)job->id);
    if (!pf__fal_endpoint_ok(ep) || !slash)
        return pf__error(jobs->ctx, PF_EINTERNAL, "job %lld: '%s' is not a fal endpoint "
                         "id", (long long)job->id, job->model);
    key = strcmp(what, "status") == 0 ? keys[0] : !*what ? keys[1] : keys[2];
    if (job->meta && (meta = cJSON_Parse(job->meta)) &&
        (returned = pf__json_str(meta, key)) && on_base(returned, base)) {
        *url = strdup(returned);
        cJSON_Delete(meta);
        return *url ? PF_OK : pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    }
    cJSON_Delete(meta);
    end = strchr(slash + 1, '/');
    if (!end)
        end = ep + strlen(ep);
    if (!(*url = pf__asprintf("%.*s/%.*s/requests/%s%s%s", base_len(base), base,
                              (int)(end - ep), ep, job->request_id, *what ? "/" : "", what)))
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
}

static pf_err submitted(struct pf_jobs *jobs, pf_job *job, const char *body)
{
    static const char *const keys[] = { "status_url", "response_url", "cancel_url", NULL };
    cJSON *doc = cJSON_Parse(body), *meta = NULL;
    const char *id = pf__json_str(doc, "request_id");
    char *text = NULL;
    pf_err rc = PF_OK;

    if (!cJSON_IsObject(doc)) {
        rc = pf__error(jobs->ctx, PF_EJSON, "fal answered the submission with something "
                       "that is not JSON");
        goto out;
    }
    if (!id || !pf__api_id_ok(id)) {
        rc = pf__error(jobs->ctx, PF_EAPI, "fal's answer to the submission has %s "
                       "request_id", id ? "an unusable" : "no");
        goto out;
    }
    /* The returned URLs, kept when they are on the base URL: they are what
     * fal says to call, and a later --base-url makes them unusable anyway. */
    meta = job->meta ? cJSON_Parse(job->meta) : NULL;
    if (!cJSON_IsObject(meta)) {
        cJSON_Delete(meta);
        meta = cJSON_CreateObject();
    }
    for (int i = 0; meta && keys[i]; i++) {
        const char *u = pf__json_str(doc, keys[i]);

        cJSON_DeleteItemFromObjectCaseSensitive(meta, keys[i]);
        if (u && on_base(u, pf__api_base(jobs, job)))
            cJSON_AddStringToObject(meta, keys[i], u);
        else if (u)
            pf__log(jobs->ctx, "fal: ignoring a returned %s that is not on %s", keys[i],
                    pf__api_base(jobs, job));
    }
    if (!meta || !(text = cJSON_PrintUnformatted(meta)) ||
        pf__job_set(&job->request_id, id) || pf__job_set(&job->meta, text)) {
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    job->state = PF_JOB_QUEUED;
out:
    free(text);
    cJSON_Delete(meta);
    cJSON_Delete(doc);
    return rc;
}

/* ---- outputs ------------------------------------------------------------- */

/* A file object as fal's results hold them: a "url" string beside at least
 * one of the members fal's File type carries. */
static int file_object(const cJSON *o)
{
    return cJSON_IsObject(o) && pf__json_str(o, "url") && *pf__json_str(o, "url") &&
           (cJSON_GetObjectItemCaseSensitive(o, "content_type") ||
            cJSON_GetObjectItemCaseSensitive(o, "file_name") ||
            cJSON_GetObjectItemCaseSensitive(o, "file_size"));
}

static pf_media_kind kind_of(const cJSON *file, const char *member)
{
    const char *ct = pf__json_str(file, "content_type");
    static const struct { const char *word; pf_media_kind kind; } names[] = {
        { "image", PF_MEDIA_IMAGE }, { "video", PF_MEDIA_VIDEO }, { "audio", PF_MEDIA_AUDIO },
    };

    if (ct) {
        if (strncasecmp(ct, "image/", 6) == 0)
            return PF_MEDIA_IMAGE;
        if (strncasecmp(ct, "video/", 6) == 0)
            return PF_MEDIA_VIDEO;
        if (strncasecmp(ct, "audio/", 6) == 0)
            return PF_MEDIA_AUDIO;
        /* application/octet-stream says nothing; a model file is no media. */
        return PF_MEDIA_UNKNOWN;
    }
    /* Without a type, the member's name: "images", "video", "audio_file". */
    for (size_t i = 0; member && i < sizeof names / sizeof names[0]; i++)
        if (strncmp(member, names[i].word, strlen(names[i].word)) == 0)
            return names[i].kind;
    return PF_MEDIA_UNKNOWN;
}

struct collect {
    struct pf_jobs *jobs;
    pf_job *job;
    cJSON *list;                /* meta "outputs" */
};

static pf_err collect(struct collect *c, const cJSON *node, const char *path,
                      const char *member, int depth)
{
    const cJSON *child;
    char sub[512];
    int i = 0;
    pf_err rc;

    if (depth > 32)
        return PF_OK;
    if (file_object(node)) {
        const char *url = pf__json_str(node, "url");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(node, "file_size");
        cJSON *rec;

        /* The same file named twice (a "video" and a "videos[0]") is
         * downloaded once. */
        for (size_t k = 0; k < c->job->noutputs; k++)
            if (strcmp(c->job->outputs[k].url, url) == 0)
                return PF_OK;
        if (pf__job_add_output(c->job, url, kind_of(node, member)) ||
            !(rec = cJSON_CreateObject()))
            return pf__error(c->jobs->ctx, PF_ENOMEM, "out of memory");
        cJSON_AddItemToArray(c->list, rec);
        cJSON_AddStringToObject(rec, "json_path", path);
        if (cJSON_IsNumber(size) && size->valuedouble >= 0)
            cJSON_AddNumberToObject(rec, "file_size", size->valuedouble);
        return PF_OK;
    }
    if (cJSON_IsArray(node)) {
        cJSON_ArrayForEach(child, node) {
            if (snprintf(sub, sizeof sub, "%s[%d]", path, i++) >= (int)sizeof sub)
                continue;
            if ((rc = collect(c, child, sub, member, depth + 1)))
                return rc;
        }
    } else if (cJSON_IsObject(node)) {
        cJSON_ArrayForEach(child, node) {
            if (snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "",
                         child->string) >= (int)sizeof sub)
                continue;
            if ((rc = collect(c, child, sub, child->string, depth + 1)))
                return rc;
        }
    }
    return PF_OK;
}

/* Fills the job's outputs from a result and the poll's new meta (the
 * recorded URLs kept, the outputs' paths and sizes added). */
static pf_err read_outputs(struct pf_jobs *jobs, pf_job *job, const cJSON *result,
                           struct pf__poll *out)
{
    cJSON *meta = job->meta ? cJSON_Parse(job->meta) : NULL;
    struct collect c = { jobs, job, NULL };
    pf_err rc;

    pf__job_clear_outputs(job);
    if (!cJSON_IsObject(meta)) {
        cJSON_Delete(meta);
        meta = cJSON_CreateObject();
    }
    if (meta)
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "outputs");
    if (!meta || !(c.list = cJSON_AddArrayToObject(meta, "outputs"))) {
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = collect(&c, result, "", NULL, 0)))
        goto out;
    if (!(out->meta = cJSON_PrintUnformatted(meta)))
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
out:
    cJSON_Delete(meta);
    return rc;
}

/* ---- status -------------------------------------------------------------- */

/* A failure a document states: "error" (a string or {"message"}) with
 * "error_type", or FastAPI's "detail" (a string or [{"msg", "loc"}]). */
static int failure_reason(const cJSON *doc, char *buf, size_t size)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(doc, "detail");
    const char *type = pf__json_str(doc, "error_type"), *msg = NULL;

    buf[0] = '\0';
    if (cJSON_IsString(err) && *err->valuestring)
        msg = err->valuestring;
    else if (cJSON_IsObject(err))
        msg = pf__json_str(err, "message");
    if (!msg && cJSON_IsString(detail) && *detail->valuestring)
        msg = detail->valuestring;
    if (!msg && cJSON_IsArray(detail) && cJSON_GetArraySize(detail) > 0) {
        const cJSON *first = cJSON_GetArrayItem(detail, 0), *loc, *part;
        char where[200] = "";

        loc = cJSON_GetObjectItemCaseSensitive(first, "loc");
        cJSON_ArrayForEach(part, loc)
            if (cJSON_IsString(part) && strcmp(part->valuestring, "body") != 0)
                snprintf(where + strlen(where), sizeof where - strlen(where), "%s%s",
                         *where ? "." : "", part->valuestring);
        if (!type)
            type = pf__json_str(first, "type");
        snprintf(buf, size, "%s%s%s", where, *where ? ": " : "",
                 pf__json_str(first, "msg") ? pf__json_str(first, "msg") : "invalid input");
    } else if (msg) {
        pf__strlcpy(buf, msg, size);
    }
    if (!*buf && !type)
        return 0;
    if (type && strlen(buf) + strlen(type) + 4 < size)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s(%s)", *buf ? " " : "", type);
    return 1;
}

static int map_status(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "IN_QUEUE") == 0)
        return PF_JOB_QUEUED;
    if (strcmp(s, "IN_PROGRESS") == 0)
        return PF_JOB_RUNNING;
    if (strcmp(s, "COMPLETED") == 0)
        return PF_JOB_COMPLETED;
    return -1;
}

static pf_err poll(struct pf_jobs *jobs, pf_job *job, struct pf__poll *out)
{
    struct pf__http_reply reply = { 0 };
    char *url = NULL, name[1024];
    cJSON *doc = NULL;
    const cJSON *pos;
    const char *status;
    int state;
    pf_err rc;

    memset(out, 0, sizeof *out);
    out->queue_position = -1;
    if ((rc = request_url(jobs, job, "status", &url)) ||
        (rc = pf__api_call(jobs, job, "GET", url, NULL, -1, &reply)) ||
        (rc = pf__api_parse(jobs, url, &reply, &doc)))
        goto out;
    pf__redact_url(name, sizeof name, url);
    status = pf__json_str(doc, "status");
    if ((state = map_status(status)) < 0) {
        rc = pf__error(jobs->ctx, PF_EAPI, "%s: unexpected status %s%.60s%s", name,
                       status ? "'" : "", status ? status : "(none)", status ? "'" : "");
        goto out;
    }
    out->state = (pf_job_state)state;
    pos = cJSON_GetObjectItemCaseSensitive(doc, "queue_position");
    if (state == PF_JOB_QUEUED && cJSON_IsNumber(pos) && pos->valuedouble >= 0 &&
        pos->valuedouble < 1e9)
        out->queue_position = (int)pos->valuedouble;
    if (state != PF_JOB_COMPLETED)
        goto out;
    /* Finished: the status may already say it failed. */
    if (failure_reason(doc, out->reason, sizeof out->reason)) {
        out->state = PF_JOB_FAILED;
        goto out;
    }
    free(url);
    url = NULL;
    cJSON_Delete(doc);
    doc = NULL;
    pf__http_reply_free(&reply);
    if ((rc = request_url(jobs, job, "", &url)))
        goto out;
    pf__redact_url(name, sizeof name, url);
    rc = pf__api_call(jobs, job, "GET", url, NULL, -1, &reply);
    /* A result that lags behind its status ("still in progress") is not a
     * failure: the job is asked about again. */
    if (rc && reply.status == 400 && reply.body &&
        (strstr(reply.body, "in progress") || strstr(reply.body, "IN_PROGRESS") ||
         strstr(reply.body, "IN_QUEUE"))) {
        pf__clear_error(jobs->ctx);
        out->state = PF_JOB_RUNNING;
        rc = PF_OK;
        goto out;
    }
    if (rc && reply.status >= 400 && reply.status < 500 && reply.status != 401 &&
        reply.status != 403 && reply.status != 404 && reply.status != 429 && reply.body &&
        (doc = cJSON_ParseWithLength(reply.body, reply.body_len)) &&
        failure_reason(doc, out->reason, sizeof out->reason)) {
        /* The model refused the input or failed on it (422 and the like):
         * the job is over, and its reason is the answer's. */
        pf__clear_error(jobs->ctx);
        out->state = PF_JOB_FAILED;
        rc = PF_OK;
        goto out;
    }
    if (rc || (rc = pf__api_parse(jobs, url, &reply, &doc)))
        goto out;
    if (cJSON_GetObjectItemCaseSensitive(doc, "error_type") &&
        failure_reason(doc, out->reason, sizeof out->reason)) {
        out->state = PF_JOB_FAILED;
        goto out;
    }
    if ((rc = read_outputs(jobs, job, doc, out)))
        goto out;
    out->outputs = 1;
out:
    if (rc) {
        free(out->meta);
        out->meta = NULL;
    }
    cJSON_Delete(doc);
    pf__http_reply_free(&reply);
    free(url);
    return rc;
}

static pf_err cancel(struct pf_jobs *jobs, pf_job *job)
{
    struct pf__http_reply reply = { 0 };
    char *url = NULL;
    cJSON *doc = NULL;
    const char *status;
    pf_err rc;

    if ((rc = request_url(jobs, job, "cancel", &url)))
        return rc;
    /* Cancelling twice is the same as once: a lost answer may be asked again. */
    rc = pf__api_call(jobs, job, "PUT", url, NULL, 2, &reply);
    doc = reply.body ? cJSON_ParseWithLength(reply.body, reply.body_len) : NULL;
    status = pf__json_str(doc, "status");
    if (status && strcmp(status, "ALREADY_COMPLETED") == 0) {
        rc = pf__error(jobs->ctx, PF_EJOB, "fal: request %s has already completed and "
                       "cannot be cancelled (ALREADY_COMPLETED)", job->request_id);
    } else if (status && strcmp(status, "NOT_FOUND") == 0) {
        rc = pf__error(jobs->ctx, PF_EJOB, "fal: request %s is not in the queue "
                       "(NOT_FOUND): it was not cancelled", job->request_id);
    } else if (!rc && status && strcmp(status, "CANCELLATION_REQUESTED") == 0) {
        job->state = PF_JOB_CANCELLED;
    } else if (!rc) {
        rc = pf__error(jobs->ctx, PF_EAPI, "fal: unexpected answer to the cancellation "
                       "of request %s%s%.60s", job->request_id, status ? ": " : "",
                       status ? status : "");
    }
    cJSON_Delete(doc);
    pf__http_reply_free(&reply);
    free(url);
    return rc;
}

const struct pf__provider pf__fal = {
    "fal", "fal.ai", "https://queue.fal.run", token_env,
    "your fal dashboard's request history (fal.ai/dashboard/requests)",
    submit_url, submitted, poll, cancel,
    "Key", "PREFLIGHT_FAL_QUEUE_URL"
};
