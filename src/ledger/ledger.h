/*
 * The job ledger: one SQLite file (WAL, busy timeout) that concurrent
 * preflight processes share, plus one lock file whose byte ranges serve as
 * named cross-process locks. The kernel drops a process's locks when it
 * dies, kill -9 included, which is what lets a submission tell "another
 * process is sending this right now" from "the process sending this died".
 *
 * Internal to the library: src/api drives it, the CLI never sees it.
 */
#ifndef PF_LEDGER_H
#define PF_LEDGER_H

#include "../core/internal.h"

/* One output as recorded. pub is what pf_job_output_at() hands out; its
 * strings point into the fields below. */
struct pf__job_output {
    pf_job_output pub;
    char *url;                  /* as the API gave it, signature and all */
    char *redacted;             /* url without query string or userinfo */
    char *path;                 /* downloaded file, or NULL */
    char *sha256;
};

/* A job as the ledger holds it. The public pf_job is this struct. */
struct pf_job {
    int64_t id;
    char key[65];               /* hex SHA-256 of the request */
    char *provider, *model;
    char *base_url;             /* where it was submitted */
    char *body;                 /* the JSON sent, as the ledger keeps it:
                                 * hosted files, data URIs and presigned
                                 * URLs become {"$preflight_media": ...}
                                 * references (job.c, stored_body) */
    char *wire;                 /* not stored: the JSON actually POSTed,
                                 * when it differs from body */
    char *meta;                 /* provider's own JSON (headers it needs
                                 * again to poll), or NULL */
    char *request_id;           /* NULL until the API answered */
    char *error;
    char *outdir;
    pf_job_state state;
    int queue_position;         /* -1: not known */
    int64_t created, updated;
    struct pf__job_output *outputs;
    size_t noutputs;
    int outputs_known;          /* the result was read (possibly empty) */
    int reused;                 /* not stored: set by pf_jobs_submit */
    int unsent;                 /* submitting, and no POST of it is in
                                 * flight: each one sent so far was turned
                                 * away (429, 503, refused connection) and
                                 * created nothing, so it may be sent again */
};

struct pf__ledger;

/* Opens or creates DIR/jobs.db (the directory is made 0700 with its
 * parents, the file 0600) and DIR/jobs.lock. On failure *out is NULL and
 * the message names the file. */
pf_err pf__ledger_open(pf_ctx *ctx, const char *dir, struct pf__ledger **out);
void pf__ledger_close(struct pf__ledger *l);
const char *pf__ledger_path(const struct pf__ledger *l);

/* Takes the named lock, shared by every process using this ledger. With
 * wait, blocks until it is free (PF_EINTR if the context is interrupted
 * meanwhile); without, returns PF_EEXIST at once when another process
 * holds it. A process holds one lock at a time per name; unlocking a name
 * not held is harmless. */
pf_err pf__ledger_lock(struct pf__ledger *l, const char *name, int wait);
void pf__ledger_unlock(struct pf__ledger *l, const char *name);

/* The newest job with this key that a new submission must not repeat
 * (any state but failed, cancelled and rejected), or *out NULL. */
pf_err pf__ledger_find_key(struct pf__ledger *l, const char *key,
                           pf_job **out);

/* Records a new job from job's key, provider, model, base_url, body, meta,
 * outdir, state and unsent; sets its id and times. */
pf_err pf__ledger_insert(struct pf__ledger *l, pf_job *job);

/* Writes the job's state, request id, queue position, error, meta and
 * outdir, appending an event when the state changed, then reloads the job
 * from the ledger. A state never moves back (another process may have
 * recorded a later one meanwhile) and a final state is never replaced by a
 * different one: the ledger's wins, and job shows it. detail goes with the
 * event (may be NULL). */
pf_err pf__ledger_update(struct pf__ledger *l, pf_job *job, const char *detail);

/* Says whether a submitting job has a POST in flight (unsent 0, before
 * each POST) or none (unsent 1, once the API turned it away and before
 * waiting to ask again), with detail as an event. Written before the wait
 * so that a process killed in it leaves a job the next run sends, not an
 * "outcome unknown". No-op for a job past submitting. Reloads the job. */
pf_err pf__ledger_set_unsent(struct pf__ledger *l, pf_job *job, int unsent,
                             const char *detail);

/* Records the outputs' URLs and kinds (those already recorded keep their
 * download facts) and marks the result as read. */
pf_err pf__ledger_set_outputs(struct pf__ledger *l, pf_job *job);

/* Replaces the recorded URLs of the outputs not downloaded yet with job's,
 * index for index (a fresh read of the result: presigned output URLs
 * expire), then reloads the job. The caller has checked that job lists as
 * many outputs as the ledger. */
pf_err pf__ledger_refresh_urls(struct pf__ledger *l, pf_job *job);

/* Records output i as downloaded: its path, size and sha256. */
pf_err pf__ledger_output_done(struct pf__ledger *l, pf_job *job, size_t i);

/* Re-reads a job (another process may have moved it on). */
pf_err pf__ledger_reload(struct pf__ledger *l, pf_job *job);

/* By ledger id, or by request id; PF_ENOENT without a message when none. */
pf_err pf__ledger_get_id(struct pf__ledger *l, int64_t id, pf_job **out);
pf_err pf__ledger_get_request(struct pf__ledger *l, const char *request_id,
                              pf_job **out);

pf_err pf__ledger_list(struct pf__ledger *l, int unfinished, size_t limit,
                       pf_job ***out, size_t *count);

/* Job memory. pf__job_add_output copies url and sets the redacted form. */
pf_job *pf__job_new(void);
pf_err pf__job_add_output(pf_job *job, const char *url, pf_media_kind kind);
void pf__job_clear_outputs(pf_job *job);

/* Replaces *field with a copy of value (NULL allowed). -1 on no memory. */
int pf__job_set(char **field, const char *value);

/* Kind names as stored: "image", "video", "audio", NULL for unknown. */
pf_media_kind pf__ledger_kind(const char *name);

#endif
