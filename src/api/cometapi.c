/*
 * CometAPI's Runway-compatible API (shared/seeds/003 and its task-details
 * page):
 *
 *   POST {base}/runwayml/v1/video_to_video   → a task id
 *   GET  {base}/runwayml/v1/tasks/{id}       → its state and outputs
 *
 * both with "Authorization: Bearer $COMETAPI_KEY" and "X-Runway-Version"
 * (from the model's rules, recorded with the job). The task answer comes in
 * two shapes: Runway's own ({"id", "status": PENDING | THROTTLED | RUNNING
 * | SUCCEEDED | FAILED | CANCELLED, "output": [urls], "failure",
 * "failureCode"}) or CometAPI's envelope ({"code": "success", "data":
 * {"status": QUEUED | IN_PROGRESS | SUCCESS | FAILURE, "fail_reason",
 * "data": {Runway's task}}}). A task just created may briefly be
 * "task_not_exist"; that is read as still queued for a minute.
 *
 * The documents describe no way to cancel a task.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"

#define PF__NOT_EXIST_GRACE_S 60

static const char *const token_env[] = { "COMETAPI_KEY", NULL };

static pf_err submit_url(struct pf_jobs *jobs, const pf_job *job, char **url)
{
    /* The model id is the endpoint's path, after the provider's prefix
     * ("cometapi:runwayml/v1/video_to_video"). */
    const char *path = strncmp(job->model, "cometapi:", 9) == 0 ? job->model + 9 : job->model;

    if (strcmp(path, "runwayml/v1/video_to_video") != 0)
        return pf__error(jobs->ctx, PF_EUSAGE, "CometAPI: '%s' is not an endpoint "
                         "preflight knows how to submit to", job->model);
    if (!(*url = pf__asprintf("%s/%s", pf__api_base(jobs, job), path)))
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
}

/* The task object: Runway's bare one, or the one inside the envelope. */
static const cJSON *task_of(const cJSON *doc)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");

    return cJSON_IsObject(data) ? data : doc;
}

static const char *task_id(const cJSON *doc)
{
    const cJSON *t = task_of(doc), *inner = cJSON_GetObjectItemCaseSensitive(t, "data");
    const char *id = pf__json_str(t, "id");

    if (!id)
        id = pf__json_str(t, "task_id");
    if (!id && cJSON_IsObject(inner))
        id = pf__json_str(inner, "id");
    return id;
}

static pf_err submitted(struct pf_jobs *jobs, pf_job *job, const char *body)
{
    cJSON *doc = cJSON_Parse(body);
    const char *id = task_id(doc);
    pf_err rc = PF_OK;

    if (!cJSON_IsObject(doc))
        rc = pf__error(jobs->ctx, PF_EJSON, "CometAPI answered the submission with "
                       "something that is not JSON");
    else if (!id)
        rc = pf__error(jobs->ctx, PF_EAPI, "CometAPI's answer to the submission has "
                       "no task id%s%s", pf__json_str(doc, "message") ? ": " : "",
                       pf__json_str(doc, "message") ? pf__json_str(doc, "message") : "");
    else if (!pf__api_id_ok(id))
        rc = pf__error(jobs->ctx, PF_EAPI, "CometAPI's answer to the submission has "
                       "an unusable task id");
    else if (pf__job_set(&job->request_id, id))
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    else
        job->state = PF_JOB_QUEUED;
    cJSON_Delete(doc);
    return rc;
}

static int map_status(const char *s)
{
    static const struct { const char *word; pf_job_state state; } map[] = {
        { "PENDING", PF_JOB_QUEUED }, { "THROTTLED", PF_JOB_QUEUED },
        { "QUEUED", PF_JOB_QUEUED }, { "NOT_START", PF_JOB_QUEUED },
        { "SUBMITTED", PF_JOB_QUEUED },
        { "RUNNING", PF_JOB_RUNNING }, { "IN_PROGRESS", PF_JOB_RUNNING },
        { "SUCCEEDED", PF_JOB_COMPLETED }, { "SUCCESS", PF_JOB_COMPLETED },
        { "FAILED", PF_JOB_FAILED }, { "FAILURE", PF_JOB_FAILED },
        { "CANCELLED", PF_JOB_CANCELLED }, { "CANCELED", PF_JOB_CANCELLED },
    };

    for (size_t i = 0; s && i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(s, map[i].word) == 0)
            return (int)map[i].state;
    return -1;
}

/* The endpoint makes videos; an output URL's extension can say otherwise. */
static pf_media_kind output_kind(const pf_job *job, const char *url)
{
    const char *path_end = url + strcspn(url, "?#");
    const char *dot = NULL;

    for (const char *p = url; p < path_end; p++)
        if (*p == '.')
            dot = p;
        else if (*p == '/')
            dot = NULL;
    if (dot) {
        size_t n = (size_t)(path_end - dot);

        if ((n == 4 && (strncasecmp(dot, ".png", 4) == 0 || strncasecmp(dot, ".jpg", 4) == 0)) ||
            (n == 5 && (strncasecmp(dot, ".jpeg", 5) == 0 || strncasecmp(dot, ".webp", 5) == 0)))
            return PF_MEDIA_IMAGE;
    }
    return strstr(job->model, "video") ? PF_MEDIA_VIDEO : PF_MEDIA_UNKNOWN;
}

static pf_err read_outputs(struct pf_jobs *jobs, pf_job *job, const cJSON *list)
{
    const cJSON *v;

    pf__job_clear_outputs(job);
    cJSON_ArrayForEach(v, list) {
        const char *url = cJSON_IsString(v) ? v->valuestring : pf__json_str(v, "url");

        if (url && *url && pf__job_add_output(job, url, output_kind(job, url)))
            return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    }
    return PF_OK;
}

static pf_err poll(struct pf_jobs *jobs, pf_job *job, struct pf__poll *out)
{
    struct pf__http_reply reply = { 0 };
    char *url = NULL, name[1024];
    cJSON *doc = NULL;
    const cJSON *task, *inner, *list;
    const char *status, *code, *reason;
    int state;
    pf_err rc;

    memset(out, 0, sizeof *out);
    out->queue_position = -1;
    if (!pf__api_id_ok(job->request_id))
        return pf__error(jobs->ctx, PF_EINTERNAL, "job %lld has no usable task id",
                         (long long)job->id);
    if (!(url = pf__asprintf("%s/runwayml/v1/tasks/%s", pf__api_base(jobs, job),
                             job->request_id)))
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    pf__redact_url(name, sizeof name, url);
    if ((rc = pf__api_call(jobs, job, "GET", url, NULL, -1, &reply)) ||
        (rc = pf__api_parse(jobs, url, &reply, &doc)))
        goto out;
    code = pf__json_str(doc, "code");
    if (code && strcmp(code, "success") != 0) {
        /* Documented: a new task may not be visible for a few seconds. */
        if (strcmp(code, "task_not_exist") == 0 &&
            (int64_t)time(NULL) - job->created < PF__NOT_EXIST_GRACE_S) {
            out->state = PF_JOB_QUEUED;
            goto out;
        }
        rc = pf__error(jobs->ctx, PF_EAPI, "%s: %s%s%s", name, code,
                       pf__json_str(doc, "message") ? ": " : "",
                       pf__json_str(doc, "message") ? pf__json_str(doc, "message") : "");
        goto out;
    }
    task = task_of(doc);
    inner = cJSON_GetObjectItemCaseSensitive(task, "data");
    status = pf__json_str(task, "status");
    if ((state = map_status(status)) < 0) {
        rc = pf__error(jobs->ctx, PF_EAPI, "%s: unexpected task status %s%.60s%s", name,
                       status ? "'" : "", status ? status : "(none)", status ? "'" : "");
        goto out;
    }
    out->state = (pf_job_state)state;
    if (state == PF_JOB_FAILED) {
        reason = pf__json_str(task, "failure");
        if (!reason || !*reason)
            reason = pf__json_str(task, "fail_reason");
        if ((!reason || !*reason) && cJSON_IsObject(inner))
            reason = pf__json_str(inner, "failure");
        if (!reason || !*reason)
            reason = pf__json_str(task, "failureCode");
        pf__strlcpy(out->reason, reason ? reason : "", sizeof out->reason);
    } else if (state == PF_JOB_COMPLETED) {
        list = cJSON_GetObjectItemCaseSensitive(task, "output");
        if (!cJSON_IsArray(list) && cJSON_IsObject(inner))
            list = cJSON_GetObjectItemCaseSensitive(inner, "output");
        if (!cJSON_IsArray(list)) {
            rc = pf__error(jobs->ctx, PF_EAPI, "%s: a succeeded task has no \"output\" "
                           "list", name);
            goto out;
        }
        if ((rc = read_outputs(jobs, job, list)))
            goto out;
        out->outputs = 1;
    }
out:
    cJSON_Delete(doc);
    pf__http_reply_free(&reply);
    free(url);
    return rc;
}

static pf_err cancel(struct pf_jobs *jobs, pf_job *job)
{
    return pf__error(jobs->ctx, PF_EAPI, "CometAPI documents no way to cancel a "
                     "task: task %s goes on", job->request_id ? job->request_id : "?");
}

const struct pf__provider pf__cometapi = {
    "cometapi", "CometAPI", "https://api.cometapi.com", token_env,
    "your CometAPI console's task list",
    submit_url, submitted, poll, cancel, NULL, NULL
};
