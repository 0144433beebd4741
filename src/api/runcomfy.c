/*
 * RunComfy's Model API, as its model pages document it (shared/seeds/000,
 * 001, 002, 004):
 *
 *   POST {base}/v1/models/{model}                 → request_id (+ URLs)
 *   GET  {base}/v1/requests/{request_id}/status   → in_queue (queue_position),
 *                                                   in_progress, completed,
 *                                                   cancelled
 *   GET  {base}/v1/requests/{request_id}/result   → output.{image,video,
 *                                                   images,videos}
 *   POST {base}/v1/requests/{request_id}/cancel   → only queued jobs
 *
 * with "Authorization: Bearer $TOKEN" on each. "failed" is treated as a
 * final state too, though the pages list only four; errors may come as
 * {"error_code", "error_message"} even with HTTP 200 (api.c).
 *
 * The answer to a submission also carries status, result and cancel URLs.
 * They are not followed: the token goes only to the base URL the user
 * chose, and the documented paths under it name the same resources.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"

static const char *const token_env[] = { "RUNCOMFY_API_TOKEN", "YOUR_API_TOKEN", NULL };

/* A model path as in rules/: segments of [a-z0-9._-], no "." or "..". */
static int model_ok(const char *m)
{
    const char *seg = m;

    if (!*m || strspn(m, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789-_./") != strlen(m))
        return 0;
    for (const char *p = m; ; p++) {
        if (*p == '/' || !*p) {
            size_t n = (size_t)(p - seg);

            if (n == 0 || (n == 1 && seg[0] == '.') ||
                (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (!*p)
                return 1;
            seg = p + 1;
        }
    }
}

static pf_err submit_url(struct pf_jobs *jobs, const pf_job *job, char **url)
{
    /* RunComfy is the default provider: its ids may come without prefix. */
    const char *model = strncmp(job->model, "runcomfy:", 9) == 0 ? job->model + 9
                                                                 : job->model;

    if (!model_ok(model))
        return pf__error(jobs->ctx, PF_EUSAGE, "'%s' is not a RunComfy model path",
                         job->model);
    if (!(*url = pf__asprintf("%s/v1/models/%s", pf__api_base(jobs, job), model)))
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
}

static pf_err request_url(struct pf_jobs *jobs, const pf_job *job, const char *what,
                          char **url)
{
    if (!pf__api_id_ok(job->request_id))
        return pf__error(jobs->ctx, PF_EINTERNAL, "job %lld has no usable request id",
                         (long long)job->id);
    if (!(*url = pf__asprintf("%s/v1/requests/%s/%s", pf__api_base(jobs, job),
                              job->request_id, what)))
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
}

static pf_err submitted(struct pf_jobs *jobs, pf_job *job, const char *body)
{
    cJSON *doc = cJSON_Parse(body);
    const char *id = pf__json_str(doc, "request_id");
    pf_err rc = PF_OK;

    if (!cJSON_IsObject(doc))
        rc = pf__error(jobs->ctx, PF_EJSON, "RunComfy answered the submission with "
                       "something that is not JSON");
    else if (!id)
        rc = pf__error(jobs->ctx, PF_EAPI, "RunComfy's answer to the submission has "
                       "no request_id");
    else if (!pf__api_id_ok(id))
        rc = pf__error(jobs->ctx, PF_EAPI, "RunComfy's answer to the submission has "
                       "an unusable request_id");
    else if (pf__job_set(&job->request_id, id))
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    else
        job->state = PF_JOB_QUEUED;
    cJSON_Delete(doc);
    return rc;
}

/* A status word, or -1 when the API said something undocumented. */
static int map_status(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "in_queue") == 0 || strcmp(s, "queued") == 0)
        return PF_JOB_QUEUED;
    if (strcmp(s, "in_progress") == 0 || strcmp(s, "running") == 0)
        return PF_JOB_RUNNING;
    if (strcmp(s, "completed") == 0 || strcmp(s, "succeeded") == 0)
        return PF_JOB_COMPLETED;
    if (strcmp(s, "cancelled") == 0 || strcmp(s, "canceled") == 0)
        return PF_JOB_CANCELLED;
    if (strcmp(s, "failed") == 0 || strcmp(s, "error") == 0)
        return PF_JOB_FAILED;
    return -1;
}

/* The reason a failed job gives, in whichever member it uses. */
static void failure_reason(const cJSON *doc, char *buf, size_t size)
{
    static const char *const keys[] = { "error_message", "error", "message",
                                        "detail", "failure", NULL };
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");

    buf[0] = '\0';
    if (cJSON_IsObject(err) && pf__json_str(err, "message")) {
        pf__strlcpy(buf, pf__json_str(err, "message"), size);
        return;
    }
    for (int i = 0; keys[i]; i++)
        if (pf__json_str(doc, keys[i]) && *pf__json_str(doc, keys[i])) {
            pf__strlcpy(buf, pf__json_str(doc, keys[i]), size);
            return;
        }
    if (pf__json_str(doc, "error_code"))
        pf__strlcpy(buf, pf__json_str(doc, "error_code"), size);
}

static pf_err add_url(pf_ctx *ctx, pf_job *job, const cJSON *v, pf_media_kind kind)
{
    if (!cJSON_IsString(v) || !*v->valuestring)
        return PF_OK;
    /* "video" and "videos" may name the same file: download it once. */
    for (size_t i = 0; i < job->noutputs; i++)
        if (strcmp(job->outputs[i].url, v->valuestring) == 0)
            return PF_OK;
    if (pf__job_add_output(job, v->valuestring, kind))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
}

/* output.{image, video, images, videos}, in that order. */
static pf_err read_outputs(struct pf_jobs *jobs, pf_job *job, const cJSON *doc,
                           const char *url)
{
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(doc, "output"), *v;
    pf_err rc = PF_OK;

    pf__job_clear_outputs(job);
    if (!cJSON_IsObject(out)) {
        char name[1024];

        pf__redact_url(name, sizeof name, url);
        return pf__error(jobs->ctx, PF_EAPI, "%s: the result of a completed job has "
                         "no \"output\" object", name);
    }
    if ((rc = add_url(jobs->ctx, job, cJSON_GetObjectItemCaseSensitive(out, "image"),
                      PF_MEDIA_IMAGE)) ||
        (rc = add_url(jobs->ctx, job, cJSON_GetObjectItemCaseSensitive(out, "video"),
                      PF_MEDIA_VIDEO)))
        return rc;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(out, "images"))
        if ((rc = add_url(jobs->ctx, job, v, PF_MEDIA_IMAGE)))
            return rc;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(out, "videos"))
        if ((rc = add_url(jobs->ctx, job, v, PF_MEDIA_VIDEO)))
            return rc;
    return PF_OK;
}

/* Reads the state out of a status or result answer. */
static pf_err read_state(struct pf_jobs *jobs, const cJSON *doc, const char *url,
                         struct pf__poll *out)
{
    const char *status = pf__json_str(doc, "status");
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(doc, "queue_position");
    int state = map_status(status);

    if (state < 0) {
        char name[1024];

        pf__redact_url(name, sizeof name, url);
        return pf__error(jobs->ctx, PF_EAPI, "%s: unexpected status %s%.60s%s", name,
                         status ? "'" : "", status ? status : "(none)", status ? "'" : "");
    }
    out->state = (pf_job_state)state;
    out->queue_position = cJSON_IsNumber(pos) && pos->valuedouble >= 0 &&
                          pos->valuedouble < 1e9 ? (int)pos->valuedouble : -1;
    if (state == PF_JOB_FAILED)
        failure_reason(doc, out->reason, sizeof out->reason);
    return PF_OK;
}

static pf_err poll(struct pf_jobs *jobs, pf_job *job, struct pf__poll *out)
{
    struct pf__http_reply reply = { 0 };
    char *url = NULL;
    cJSON *doc = NULL;
    pf_err rc;

    memset(out, 0, sizeof *out);
    out->queue_position = -1;
    if ((rc = request_url(jobs, job, "status", &url)) ||
        (rc = pf__api_call(jobs, job, "GET", url, NULL, -1, &reply)) ||
        (rc = pf__api_parse(jobs, url, &reply, &doc)) ||
        (rc = read_state(jobs, doc, url, out)))
        goto out;
    if (out->state != PF_JOB_COMPLETED && !(out->state == PF_JOB_FAILED && !*out->reason))
        goto out;
    /* Completed: the outputs are in the result; failed: its reason may be.
     * The result answers with the current status while the job is not
     * finished, so one that lags behind the status is not complete yet. */
    free(url);
    url = NULL;
    cJSON_Delete(doc);
    doc = NULL;
    pf__http_reply_free(&reply);
    if ((rc = request_url(jobs, job, "result", &url)))
        goto out;
    rc = pf__api_call(jobs, job, "GET", url, NULL, -1, &reply);
    if (out->state == PF_JOB_FAILED) {
        /* The failure is known already; the reason is a bonus, even when
         * it comes as an error_code with HTTP 200. */
        cJSON *res = reply.body && reply.status >= 200 && reply.status < 300
                   ? cJSON_ParseWithLength(reply.body, reply.body_len) : NULL;

        if (res)
            failure_reason(res, out->reason, sizeof out->reason);
        cJSON_Delete(res);
        pf__clear_error(jobs->ctx);
        rc = PF_OK;
        goto out;
    }
    if (rc || (rc = pf__api_parse(jobs, url, &reply, &doc)))
        goto out;
    if (pf__json_str(doc, "status") && (rc = read_state(jobs, doc, url, out)))
        goto out;
    if (out->state == PF_JOB_COMPLETED) {
        if ((rc = read_outputs(jobs, job, doc, url)))
            goto out;
        out->outputs = 1;
    }
out:
    cJSON_Delete(doc);
    pf__http_reply_free(&reply);
    free(url);
    return rc;
}

/* "not_cancellable" in whichever member the answer puts it. */
static int not_cancellable(const struct pf__http_reply *reply)
{
    cJSON *doc = reply->body ? cJSON_ParseWithLength(reply->body, reply->body_len) : NULL;
    static const char *const keys[] = { "outcome", "status", "error_code", "code", NULL };
    int found = 0;

    for (int i = 0; doc && keys[i] && !found; i++) {
        const char *v = pf__json_str(doc, keys[i]);

        found = v && strcmp(v, "not_cancellable") == 0;
    }
    cJSON_Delete(doc);
    return found;
}

static pf_err cancel(struct pf_jobs *jobs, pf_job *job)
{
    struct pf__http_reply reply = { 0 };
    char *url = NULL;
    pf_err rc;

    if ((rc = request_url(jobs, job, "cancel", &url)))
        return rc;
    /* Cancelling twice is the same as once, so a lost answer may be asked
     * again. */
    rc = pf__api_call(jobs, job, "POST", url, NULL, 2, &reply);
    if (not_cancellable(&reply))
        rc = pf__error(jobs->ctx, PF_EJOB, "RunComfy: request %s is no longer queued "
                       "and cannot be cancelled (not_cancellable): it goes on",
                       job->request_id);
    else if (!rc)
        job->state = PF_JOB_CANCELLED;
    pf__http_reply_free(&reply);
    free(url);
    return rc;
}

const struct pf__provider pf__runcomfy = {
    "runcomfy", "RunComfy", "https://model-api.runcomfy.net", token_env,
    "your RunComfy dashboard's request history",
    submit_url, submitted, poll, cancel, NULL, NULL
};
