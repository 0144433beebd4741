/*
 * Fuzz target for what a provider's API sends back: the answer to a
 * submission, then the replies to status, result and cancel calls, read by
 * each provider's own parsers (src/api/<provider>.c) through
 * struct pf__provider: submitted(), poll() (which may ask twice: status,
 * then result), cancel(). No network: jobs->transport answers every
 * pf__api_call from the input instead of pf__http_request.
 *
 * Input: byte 0 picks the provider (and a model shape); the rest is split
 * at 0xFF bytes (never in UTF-8 JSON) into bodies. Body 0 answers the
 * submission; each later body answers the next API call, its first byte
 * picking the HTTP status. When the input runs out, calls get a 503.
 *
 * Adding a provider is one line in `providers` below.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pf__provider *const providers[] = {
    &pf__runcomfy,
    &pf__cometapi,
    &pf__fal,
};
#define NPROVIDERS (sizeof providers / sizeof providers[0])

static const char *const models[] = {
    "kling/kling-video-v2", "runwayml/gen4_image", "a/b.c-d_e", "veo3-video",
};

static const long statuses[] = { 200, 200, 200, 200, 201, 202, 400, 401,
                                 403, 404, 409, 410, 422, 429, 500, 503 };

struct feed {
    const uint8_t *p, *end;
    int calls;
};

/* The next body of the input, malloc'd and NUL-terminated, or NULL when
 * the input is used up. */
static char *next_body(struct feed *f, size_t *len)
{
    const uint8_t *q;
    char *s;

    if (f->p > f->end || (f->p == f->end && f->calls > 0))
        return NULL;
    q = memchr(f->p, 0xff, (size_t)(f->end - f->p));
    if (!q)
        q = f->end;
    *len = (size_t)(q - f->p);
    if (!(s = malloc(*len + 1)))
        return NULL;
    memcpy(s, f->p, *len);
    s[*len] = '\0';
    f->p = q + 1;
    return s;
}

/* Answers like pf__http_request: the reply filled whatever the status,
 * PF_OK for a 2xx, PF_EHTTP with the body's own words otherwise. */
static pf_err transport(void *ud, const struct pf__http_request *req,
                        struct pf__http_reply *reply)
{
    struct feed *f = ud;
    char *body;
    size_t len = 0;
    long status = 503;
    char code[128], msg[300];

    (void)req;
    f->calls++;
    if ((body = next_body(f, &len)) && len > 0) {
        status = statuses[(uint8_t)body[0] % (sizeof statuses / sizeof statuses[0])];
        memmove(body, body + 1, len);
        len--;
    }
    if (!body && !(body = calloc(1, 1)))
        return PF_ENOMEM;
    reply->status = status;
    reply->body = body;
    reply->body_len = len;
    if (status >= 200 && status < 300)
        return PF_OK;
    pf__http_body_error(body, len, code, sizeof code, msg, sizeof msg);
    return PF_EHTTP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int env_done;
    pf_ctx *ctx = NULL;
    struct pf_jobs jobs;
    struct feed f;
    const struct pf__provider *p;
    struct pf__poll poll;
    pf_job *job = NULL;
    char *body = NULL;
    size_t len;

    memset(&jobs, 0, sizeof jobs);
    if (size < 1)
        return 0;
    if (!env_done) {
        /* get_token reads the first variable a provider names. */
        for (size_t i = 0; i < NPROVIDERS; i++)
            setenv(providers[i]->token_env[0], "fuzz-token", 1);
        env_done = 1;
    }
    p = providers[data[0] % NPROVIDERS];
    if (!(ctx = pf_ctx_new()) || !(job = pf__job_new()))
        goto out;
    jobs.ctx = ctx;
    jobs.transport = transport;
    jobs.transport_ud = &f;
    f.p = data + 1;
    f.end = data + size;
    f.calls = 0;
    if (pf__job_set(&job->provider, p->name) ||
        pf__job_set(&job->model, models[(data[0] / NPROVIDERS) % 4]) ||
        pf__job_set(&job->base_url, "https://127.0.0.1:9"))
        goto out;
    if (data[0] & 0x80)
        (void)pf__job_set(&job->meta, "{\"headers\":{\"X-Runway-Version\":\"2024-11-06\"}}");
    job->created = 0;
    if (!(body = next_body(&f, &len)))
        goto out;
    f.calls = 1;
    if (p->submitted(&jobs, job, body) != PF_OK || !job->request_id)
        (void)pf__job_set(&job->request_id, "fuzz-request-1");
    /* Poll until the input runs out or a final state comes back; each
     * reply fills outputs the way the job loop would record them. */
    for (int i = 0; i < 8; i++) {
        pf_err rc = p->poll(&jobs, job, &poll);

        if (rc == PF_OK && poll.outputs)
            for (size_t k = 0; k < job->noutputs; k++) {
                char name[128];

                pf__output_name(job->outputs[k].url, name, sizeof name);
            }
        if (f.p >= f.end)
            break;
    }
    (void)p->cancel(&jobs, job);
out:
    free(body);
    pf__http_free(jobs.http);
    free(jobs.token);
    pf_job_free(job);
    pf_ctx_free(ctx);
    return 0;
}
