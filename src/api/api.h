/*
 * The provider clients. Each provider's API lives in its own file
 * (runcomfy.c, cometapi.c) behind struct pf__provider; api.c holds what
 * they share (tokens, authenticated calls, error bodies), job.c the job
 * lifecycle over the ledger and download.c the outputs.
 */
#ifndef PF_API_H
#define PF_API_H

#include <cjson/cJSON.h>

#include "../core/internal.h"
#include "../ledger/ledger.h"
#include "../net/http.h"

struct pf_jobs;

/* What one status query learnt. */
struct pf__poll {
    pf_job_state state;
    int queue_position;         /* -1: not said */
    char reason[512];           /* a failed job's reason, from the API */
    int outputs;                /* 1: the job's outputs were (re)filled */
    char *meta;                 /* malloc'ed, or NULL: the job's new meta
                                 * (what the provider knows of the outputs:
                                 * their JSON paths and sizes), recorded
                                 * with the outputs; freed by the caller */
};

struct pf__provider {
    const char *name;           /* "runcomfy", as in rules/ */
    const char *title;          /* "RunComfy" */
    const char *default_base;   /* "https://model-api.runcomfy.net" */
    const char *const *token_env;   /* NULL-terminated, in order of preference */
    const char *where_to_check; /* for an outcome-unknown message */

    /* The URL a model's submissions are POSTed to (malloc'ed). */
    pf_err (*submit_url)(struct pf_jobs *jobs, const pf_job *job, char **url);
    /* Reads a 2xx answer to the POST: sets job->request_id and job->state.
     * PF_EJSON or PF_EAPI (message set) when the answer says no job id. */
    pf_err (*submitted)(struct pf_jobs *jobs, pf_job *job, const char *body);
    /* One status query. When the job is complete, its outputs replace the
     * job's (not yet recorded) and out->outputs is 1. */
    pf_err (*poll)(struct pf_jobs *jobs, pf_job *job, struct pf__poll *out);
    /* Cancels a queued job: PF_OK, or PF_EJOB when refused (message set). */
    pf_err (*cancel)(struct pf_jobs *jobs, pf_job *job);
    /* Appended: */
    const char *auth_scheme;    /* "Key" (fal); NULL: "Bearer" */
    const char *base_env;       /* a variable that replaces default_base
                                 * ("PREFLIGHT_FAL_QUEUE_URL"), or NULL */
};

extern const struct pf__provider pf__runcomfy;
extern const struct pf__provider pf__cometapi;
extern const struct pf__provider pf__fal;

/* 1 when a fal endpoint id (owner/app[/path]) is safe in a URL path and a
 * file path: segments of [A-Za-z0-9._-], at least two, none "." or "..". */
int pf__fal_endpoint_ok(const char *id);

/* The provider of a rules file's "provider" name, or NULL. */
const struct pf__provider *pf__provider_find(const char *name);

struct pf_jobs {
    pf_ctx *ctx;
    struct pf__ledger *ledger;
    struct pf__http *http;      /* made on first use */
    char *base_url;             /* override, or NULL */
    char *token_file;
    char *token;                /* loaded on first use; wiped on close */
    const struct pf__provider *token_for;
    int poll_ms, poll_max_ms;
    int stall_ms;               /* 0: the HTTP layer's default */
    uint64_t rng;               /* jitter */
    /* Fuzz targets only (fuzz/fuzz_api.c): answers every pf__api_call in
     * place of pf__http_request, so a provider's parsers see hostile
     * replies with no network. NULL in the library's own use. */
    pf_err (*transport)(void *ud, const struct pf__http_request *req,
                        struct pf__http_reply *reply);
    void *transport_ud;
};

/* The base URL a new submission to p goes to: --base-url, else the
 * provider's variable (base_env) when set, else its documented host. */
const char *pf__api_submit_base(const struct pf_jobs *jobs, const struct pf__provider *p);

/* What the job's meta says of output i (pf__poll.meta: {"outputs": [{"json_path",
 * "file_size"}]}): its size in bytes (-1 when not said), and its JSON path
 * in the result copied into buf ("" when not said). */
int64_t pf__api_output_size(const pf_job *job, size_t i);
void pf__api_output_path(const pf_job *job, size_t i, char *buf, size_t size);

/* The base URL calls for this job go to: the override, else the one it was
 * submitted to, without a trailing slash. */
const char *pf__api_base(const struct pf_jobs *jobs, const pf_job *job);

/*
 * One authenticated call for a job: "Authorization: Bearer TOKEN", the
 * headers the job recorded from its rules (X-Runway-Version), and
 * Content-Type for a body. retries as in struct pf__http_request (-1: the
 * layer's default; PF__API_ONCE: one attempt, a failed connect included).
 * Returns PF_OK for a 2xx whose body is not an API error
 * ({"error_code"} with HTTP 200 is PF_EAPI, said once); otherwise the code
 * and message from the HTTP layer, the reply still filled for the caller to
 * read the provider's own error shape.
 */
#define PF__API_ONCE (-2)     /* retries: one attempt, even a failed connect */
pf_err pf__api_call(struct pf_jobs *jobs, const pf_job *job, const char *method,
                    const char *url, const char *body, int retries,
                    struct pf__http_reply *reply);

/* The reply's body as JSON, or PF_EJSON "URL: malformed JSON answer". */
pf_err pf__api_parse(struct pf_jobs *jobs, const char *url,
                     const struct pf__http_reply *reply, cJSON **out);

/* A string member (NULL when absent or not a string). */
const char *pf__json_str(const cJSON *obj, const char *name);

/* 1 when a request id is safe to put in a URL path: letters, digits, '-',
 * '_', '.', 1 to 128 of them, not "." or "..". */
int pf__api_id_ok(const char *id);

/* Hex SHA-256 of a buffer or of a file's content (streamed). */
void pf__api_sha256_hex(const void *data, size_t len, char hex[65]);
pf_err pf__api_sha256_file(pf_ctx *ctx, const char *path, char hex[65]);

/* Loads the provider's token and makes the HTTP handle: done before a
 * submission is recorded, so a missing token never leaves a job behind. */
pf_err pf__api_ready(struct pf_jobs *jobs, const struct pf__provider *p);

/* The HTTP handle, made on first use. */
pf_err pf__api_http(struct pf_jobs *jobs, struct pf__http **out);

/* Reads a completed job's result from the API again and records the fresh
 * URLs of the outputs not downloaded yet (job.c): presigned output URLs
 * expire. PF_EAPI when the API no longer gives the outputs or lists another
 * number of them; on failure the job is as the ledger holds it. */
pf_err pf__jobs_fresh_urls(struct pf_jobs *jobs, pf_job *job);

/* Downloads every output of a completed job not downloaded yet into dir
 * (download.c); an output URL refused as expired (401, 403, 404, 410 or an
 * expired signature) makes it read the result once more for fresh URLs
 * (pf__jobs_fresh_urls) and try again. */
pf_err pf__download_outputs(struct pf_jobs *jobs, pf_job *job, const char *dir,
                            int force, int64_t started_ms,
                            pf_job_progress_fn progress, void *userdata);

/* A safe file name for an output URL (download.c, exposed for tests):
 * the last path segment, percent-decoded, with anything but [A-Za-z0-9._-]
 * replaced by '_', no leading '.' or '-', at most 100 bytes; "output" when
 * nothing is left. */
void pf__output_name(const char *url, char *buf, size_t size);

#endif
