/*
 * The job ledger: one interface, one file per backend. ledger_sqlite.c
 * keeps it in one SQLite file that the preflight processes of one machine
 * share; ledger_pg.c in a PostgreSQL database that workers on many machines
 * share. ledger_common.c opens either from a URL and holds what both use.
 *
 * What both guarantee, stated once:
 *  - a request's key is recorded "submitting" before its POST is sent, in
 *    one statement that also claims the key (a unique key and INSERT ... ON
 *    CONFLICT, never a read then a write): two workers can never both
 *    record, hence never both send, the same request;
 *  - named locks span every process using the ledger. On SQLite they are
 *    kernel locks on a file, gone the instant their process dies; on
 *    PostgreSQL they are leases with an expiry (the ledger's lease_s
 *    setting, PREFLIGHT_LEASE_S overrides it) that a live holder renews,
 *    so a worker that died, whatever machine it was on, loses them once
 *    they expire and any other worker takes over;
 *  - each downloaded output is recorded with the worker that downloaded it
 *    (PREFLIGHT_WORKER, else the host name), so another worker knows what
 *    is still missing and never fetches it a second time;
 *  - the schema is created and migrated by preflight (a version table); a
 *    ledger of a newer schema is refused, never written.
 *
 * Internal to the library: src/api drives it, the CLI never sees it.
 */
#ifndef PF_LEDGER_H
#define PF_LEDGER_H

#include <cjson/cJSON.h>

#include "../core/internal.h"

/* One output as recorded. pub is what pf_job_output_at() hands out; its
 * strings point into the fields below. */
struct pf__job_output {
    pf_job_output pub;
    char *url;                  /* as the API gave it, signature and all */
    char *redacted;             /* url without query string or userinfo */
    char *path;                 /* downloaded file, or NULL */
    char *sha256;
    char *worker;               /* who downloaded it, or NULL */
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

#define PF__LEDGER_SCHEMA 2      /* the schema this preflight writes */
#define PF__LEASE_S_DEFAULT 300

struct pf__ledger_ops;

/* What every backend's handle starts with. */
struct pf__ledger {
    const struct pf__ledger_ops *ops;
    pf_ctx *ctx;
    char *where;                /* the ledger as shown: a path or a URL */
    char *worker;               /* PREFLIGHT_WORKER, else the host name */
    int lease_s;                /* a lease's length (PostgreSQL) */
    int schema;                 /* the version found on opening */
};

/* Opens a ledger: url is "sqlite:PATH", "postgresql://..." (or
 * "postgres://..."), or NULL for $PREFLIGHT_LEDGER, else the SQLite file
 * DIR/jobs.db (DIR made 0700 with its parents, the file 0600). A URL that
 * carries a password is refused: libpq reads it from PGPASSWORD, ~/.pgpass
 * or a service file. The schema is created or migrated. On failure *out is
 * NULL and the message names the ledger and the reason. */
pf_err pf__ledger_open_url(pf_ctx *ctx, const char *url, const char *dir,
                           struct pf__ledger **out);
/* The SQLite file DIR/jobs.db, as before there were URLs. */
pf_err pf__ledger_open(pf_ctx *ctx, const char *dir, struct pf__ledger **out);
void pf__ledger_close(struct pf__ledger *l);
const char *pf__ledger_path(const struct pf__ledger *l);
/* "sqlite" or "postgresql". */
const char *pf__ledger_backend(const struct pf__ledger *l);

/* Takes the named lock, shared by every process using this ledger. With
 * wait, blocks until it is free (PF_EINTR if the context is interrupted
 * meanwhile); without, returns PF_EEXIST at once when another process
 * holds it. A process holds one lock at a time per name; unlocking a name
 * not held is harmless. */
pf_err pf__ledger_lock(struct pf__ledger *l, const char *name, int wait);
void pf__ledger_unlock(struct pf__ledger *l, const char *name);

/* Who holds a lock taken in vain: "pid 123 on this machine", "worker w2
 * (host:pid), lease ends in 41 s"; "" when not known. */
void pf__ledger_holder(struct pf__ledger *l, const char *name, char *buf,
                       size_t size);

/* The newest job with this key that a new submission must not repeat
 * (any state but failed, cancelled and rejected), or *out NULL. */
pf_err pf__ledger_find_key(struct pf__ledger *l, const char *key,
                           pf_job **out);

/* Records a new job from job's key, provider, model, base_url, body, meta,
 * outdir, state and unsent, and claims its key, in one transaction; sets its id and
 * times. A key held by a job that is not failed, cancelled or rejected is
 * taken over only with replace (--force): otherwise nothing is recorded and
 * PF_EEXIST (no message) comes back with that job's id in *holder. */
pf_err pf__ledger_insert(struct pf__ledger *l, pf_job *job, int replace,
                         int64_t *holder);

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

/* Records output i as downloaded: its path, size and sha256, and this
 * ledger handle's worker. */
pf_err pf__ledger_output_done(struct pf__ledger *l, pf_job *job, size_t i);

/* Re-reads a job (another process may have moved it on). */
pf_err pf__ledger_reload(struct pf__ledger *l, pf_job *job);

/* By ledger id, or by request id; PF_ENOENT without a message when none. */
pf_err pf__ledger_get_id(struct pf__ledger *l, int64_t id, pf_job **out);
pf_err pf__ledger_get_request(struct pf__ledger *l, const char *request_id,
                              pf_job **out);

pf_err pf__ledger_list(struct pf__ledger *l, int unfinished, size_t limit,
                       pf_job ***out, size_t *count);

/* What the ledger holds, as JSON: {"ledger", "backend", "schema",
 * "lease_s", "worker", "jobs", "states": {NAME: N}, "outputs",
 * "downloaded", "leases"} (malloc'ed), or NULL with the message set. */
pf_err pf__ledger_status(struct pf__ledger *l, char **json);

/* Sets the ledger's lease length (its lease_s setting), for every worker
 * that opens it from now on. */
pf_err pf__ledger_set_lease(struct pf__ledger *l, int seconds);

/* Copies every job of from (with its outputs) into l, once: a job already
 * imported from that ledger is skipped, so running it again adds nothing.
 * A key already held in l stays held by l's job. */
pf_err pf__ledger_import(struct pf__ledger *l, struct pf__ledger *from,
                         size_t *imported, size_t *skipped);

/* One backend: ledger_sqlite.c, ledger_pg.c. Each function is as the
 * pf__ledger_ one of the same name above. */
struct pf__ledger_ops {
    const char *name;
    void (*close)(struct pf__ledger *l);
    pf_err (*lock)(struct pf__ledger *l, const char *name, int wait);
    void (*unlock)(struct pf__ledger *l, const char *name);
    void (*holder)(struct pf__ledger *l, const char *name, char *buf, size_t size);
    pf_err (*find_key)(struct pf__ledger *l, const char *key, pf_job **out);
    pf_err (*insert)(struct pf__ledger *l, pf_job *job, int replace, int64_t *holder);
    pf_err (*update)(struct pf__ledger *l, pf_job *job, const char *detail);
    pf_err (*set_outputs)(struct pf__ledger *l, pf_job *job);
    pf_err (*refresh_urls)(struct pf__ledger *l, pf_job *job);
    pf_err (*output_done)(struct pf__ledger *l, pf_job *job, size_t i);
    pf_err (*get_id)(struct pf__ledger *l, int64_t id, pf_job **out);
    pf_err (*get_request)(struct pf__ledger *l, const char *request_id, pf_job **out);
    pf_err (*list)(struct pf__ledger *l, int unfinished, size_t limit,
                   pf_job ***out, size_t *count);
    /* {"states": {...}, "outputs", "downloaded", "leases"} counts */
    pf_err (*counts)(struct pf__ledger *l, cJSON *into);
    /* This ledger's own random id (made with it), for import's origins. */
    const char *(*id)(struct pf__ledger *l);
    /* Records a job as it stands (state, request id, outputs and their
     * download facts) unless one with this origin is there: *added 0. */
    pf_err (*import_job)(struct pf__ledger *l, const pf_job *job, const char *origin,
                         int *added);
    /* Stores the lease_s setting. */
    pf_err (*set_lease)(struct pf__ledger *l, int seconds);
    pf_err (*set_unsent)(struct pf__ledger *l, pf_job *job, int unsent,
                         const char *detail);
};

/* The backends' openers (the URL's rest: a path, or the libpq URL). */
pf_err pf__sqlite_open(pf_ctx *ctx, const char *path, struct pf__ledger **out);
pf_err pf__pg_open(pf_ctx *ctx, const char *url, struct pf__ledger **out);

/* For the backends: the settings every ledger starts with. */
pf_err pf__ledger_init_base(struct pf__ledger *l, const struct pf__ledger_ops *ops,
                            pf_ctx *ctx);
void pf__ledger_free_base(struct pf__ledger *l);
/* The events query's state names and their ranks (a state never moves
 * back): "submitting" 0, "in_queue" 1, "in_progress" 2, final ones 3. */
int pf__ledger_rank(pf_job_state s);
pf_job_state pf__ledger_state(const char *name);
const char *pf__ledger_kind_text(pf_media_kind k);
/* Points each output's public view at its strings. */
void pf__job_refresh_views(pf_job *job);

/* Job memory. pf__job_add_output copies url and sets the redacted form. */
pf_job *pf__job_new(void);
pf_err pf__job_add_output(pf_job *job, const char *url, pf_media_kind kind);
void pf__job_clear_outputs(pf_job *job);

/* Replaces *field with a copy of value (NULL allowed). -1 on no memory. */
int pf__job_set(char **field, const char *value);

/* Kind names as stored: "image", "video", "audio", NULL for unknown. */
pf_media_kind pf__ledger_kind(const char *name);

#endif
