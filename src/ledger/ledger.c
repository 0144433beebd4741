/*
 * The job ledger in SQLite.
 *
 * Several preflight processes may use one ledger at once (a 'run' in one
 * terminal, 'resume' or 'jobs' in another): the database is in WAL mode so
 * readers never block the writer, every write is one statement or one
 * BEGIN IMMEDIATE transaction (so SQLite's busy handler, not a deadlock,
 * decides who waits), and synchronous=FULL, because the row that says "this
 * request is being sent" must be on disk before the POST goes out.
 *
 * Locks that must outlive a transaction (held across an HTTP request) are
 * open-file-description locks (F_OFD_SETLK) on bytes of jobs.lock: they
 * vanish with the process that held them, whatever killed it. Classic
 * POSIX record locks (F_SETLK) would not do: the kernel drops all of a
 * process's record locks on a file when the process closes *any*
 * descriptor of that file (SQLite, a test or a library user opening and
 * closing jobs.lock would silently unlock a submission in flight). An OFD
 * lock belongs to the one open file description made in pf__ledger_open.
 */
#define _GNU_SOURCE     /* F_OFD_SETLK (Linux 3.15, glibc 2.20) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"

#define PF__LEDGER_VERSION 1
#define PF__BUSY_MS 30000

struct pf__ledger {
    pf_ctx *ctx;
    sqlite3 *db;
    int lock_fd;
    char *path;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " key TEXT NOT NULL,"
    " provider TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " base_url TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " meta TEXT,"
    " state TEXT NOT NULL,"
    " request_id TEXT,"
    " queue_position INTEGER,"
    " error TEXT,"
    " outdir TEXT,"
    " outputs_known INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS jobs_by_key ON jobs(key);"
    "CREATE INDEX IF NOT EXISTS jobs_by_request ON jobs(request_id);"
    "CREATE TABLE IF NOT EXISTS outputs ("
    " job INTEGER NOT NULL REFERENCES jobs(id),"
    " idx INTEGER NOT NULL,"
    " url TEXT NOT NULL,"
    " kind TEXT,"
    " path TEXT,"
    " size INTEGER,"
    " sha256 TEXT,"
    " PRIMARY KEY (job, idx));"
    "CREATE TABLE IF NOT EXISTS events ("
    " job INTEGER NOT NULL REFERENCES jobs(id),"
    " at INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " detail TEXT);";

/* How far along a state is: a state is never replaced by an earlier one. */
#define RANK_SQL(col)                                                        \
    "(CASE " col " WHEN 'submitting' THEN 0 WHEN 'in_queue' THEN 1 "         \
    "WHEN 'in_progress' THEN 2 ELSE 3 END)"

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

static pf_job_state state_from(const char *name)
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

static const char *kind_text(pf_media_kind k)
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
    }
    free(job->outputs);
    job->outputs = NULL;
    job->noutputs = 0;
}

/* Points each output's public view at its strings (after a realloc moved
 * them, or after a field changed). */
static void refresh_views(pf_job *job)
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
    refresh_views(job);
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

/* ---- opening ------------------------------------------------------------- */

static pf_err db_error(struct pf__ledger *l, const char *what)
{
    int code = l->db ? sqlite3_errcode(l->db) : SQLITE_ERROR;
    pf_err err = code == SQLITE_NOMEM ? PF_ENOMEM
               : code == SQLITE_FULL ? PF_ENOSPC : PF_EIO;

    return pf__error(l->ctx, err, "%s: %s: %s", l->path, what,
                     l->db ? sqlite3_errmsg(l->db) : "cannot open");
}

static pf_err exec(struct pf__ledger *l, const char *sql)
{
    if (sqlite3_exec(l->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(l, "cannot prepare the ledger");
    return PF_OK;
}

/* Ledgers made before the column existed get it; their rows read 0, "a
 * POST may be in flight", which is what a submitting row meant then. */
static pf_err add_unsent_column(struct pf__ledger *l)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(l->db, "SELECT unsent FROM jobs LIMIT 0", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_finalize(st);
        return PF_OK;
    }
    return exec(l, "ALTER TABLE jobs ADD COLUMN unsent INTEGER NOT NULL DEFAULT 0");
}

pf_err pf__ledger_open(pf_ctx *ctx, const char *dir, struct pf__ledger **out)
{
    struct pf__ledger *l = calloc(1, sizeof *l);
    char *lock_path = NULL;
    int fd = -1;
    pf_err rc;

    *out = NULL;
    if (!l)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    l->ctx = ctx;
    l->lock_fd = -1;
    /* 0700 for the directories it creates: the ledger holds the URLs a job
     * was given, presigned ones included. */
    if ((rc = pf__mkdir_p(ctx, dir, 0700, "state directory")))
        goto out;
    if (!(l->path = pf__asprintf("%s/jobs.db", dir)) ||
        !(lock_path = pf__asprintf("%s/jobs.lock", dir))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    /* Created here, not by SQLite, so that it is private from the first
     * byte; SQLite gives its -wal and -shm files the same mode. */
    if ((fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        rc = pf__error(ctx, PF_EIO, "%s: %s", l->path, strerror(errno));
        goto out;
    }
    close(fd);
    if ((l->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        rc = pf__error(ctx, PF_EIO, "%s: %s", lock_path, strerror(errno));
        goto out;
    }
    if (sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = db_error(l, "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(l->db, PF__BUSY_MS);
    sqlite3_extended_result_codes(l->db, 0);
    if ((rc = exec(l, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=ON;")))
        goto out;
    /* Two processes may create the tables at once: IF NOT EXISTS inside
     * one immediate transaction makes the second a no-op. */
    if ((rc = exec(l, "BEGIN IMMEDIATE")))
        goto out;
    if ((rc = exec(l, schema_sql)) || (rc = add_unsent_column(l)) ||
        (rc = exec(l, "PRAGMA user_version=1"))) {
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    if ((rc = exec(l, "COMMIT")))
        goto out;
    *out = l;
    l = NULL;
out:
    free(lock_path);
    pf__ledger_close(l);
    return rc;
}

void pf__ledger_close(struct pf__ledger *l)
{
    if (!l)
        return;
    sqlite3_close(l->db);
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    free(l->path);
    free(l);
}

const char *pf__ledger_path(const struct pf__ledger *l)
{
    return l->path;
}

/* ---- locks --------------------------------------------------------------- */

/* A name's byte in jobs.lock: FNV-1a of the name. Two names that share a
 * byte only serialise each other, which is harmless. */
static off_t lock_offset(const char *name)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return (off_t)(h & 0x3fffffff);
}

pf_err pf__ledger_lock(struct pf__ledger *l, const char *name, int wait)
{
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = lock_offset(name);
    fl.l_len = 1;
    fl.l_pid = 0;           /* required of OFD locks */
    while (fcntl(l->lock_fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0) {
        if (errno == EINTR) {
            if (l->ctx->interrupted)
                return pf__error(l->ctx, PF_EINTR, "interrupted while waiting "
                                 "for another preflight process");
            continue;
        }
        if (!wait && (errno == EACCES || errno == EAGAIN))
            return PF_EEXIST;
        return pf__error(l->ctx, PF_EIO, "%s: cannot lock: %s", l->path,
                         strerror(errno));
    }
    return PF_OK;
}

void pf__ledger_unlock(struct pf__ledger *l, const char *name)
{
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = lock_offset(name);
    fl.l_len = 1;
    fcntl(l->lock_fd, F_OFD_SETLK, &fl);
}

/* ---- reading ------------------------------------------------------------- */

static pf_err prepare(struct pf__ledger *l, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(l->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return db_error(l, "cannot read the ledger");
    }
    return PF_OK;
}

static int col_set(char **field, sqlite3_stmt *st, int col)
{
    return pf__job_set(field, (const char *)sqlite3_column_text(st, col));
}

#define JOB_COLUMNS "id, key, provider, model, base_url, body, meta, state, " \
    "request_id, queue_position, error, outdir, outputs_known, created, updated, " \
    "unsent"

/* Fills job from a row of JOB_COLUMNS; outputs are read separately. */
static pf_err read_row(sqlite3_stmt *st, pf_job *job)
{
    const char *key = (const char *)sqlite3_column_text(st, 1);

    job->id = sqlite3_column_int64(st, 0);
    pf__strlcpy(job->key, key ? key : "", sizeof job->key);
    if (col_set(&job->provider, st, 2) || col_set(&job->model, st, 3) ||
        col_set(&job->base_url, st, 4) || col_set(&job->body, st, 5) ||
        col_set(&job->meta, st, 6) || col_set(&job->request_id, st, 8) ||
        col_set(&job->error, st, 10) || col_set(&job->outdir, st, 11))
        return PF_ENOMEM;
    job->state = state_from((const char *)sqlite3_column_text(st, 7));
    job->queue_position = sqlite3_column_type(st, 9) == SQLITE_NULL
                        ? -1 : sqlite3_column_int(st, 9);
    job->outputs_known = sqlite3_column_int(st, 12);
    job->created = sqlite3_column_int64(st, 13);
    job->updated = sqlite3_column_int64(st, 14);
    job->unsent = sqlite3_column_int(st, 15);
    return PF_OK;
}

static pf_err read_outputs(struct pf__ledger *l, pf_job *job)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;
    int step;

    pf__job_clear_outputs(job);
    if ((rc = prepare(l, "SELECT url, kind, path, size, sha256 FROM outputs "
                         "WHERE job = ? ORDER BY idx", &st)))
        return rc;
    sqlite3_bind_int64(st, 1, job->id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct pf__job_output *o;

        if (pf__job_add_output(job, (const char *)sqlite3_column_text(st, 0),
                               pf__ledger_kind((const char *)sqlite3_column_text(st, 1)))) {
            rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
        o = &job->outputs[job->noutputs - 1];
        if (col_set(&o->path, st, 2) || col_set(&o->sha256, st, 4)) {
            rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
        o->pub.size = sqlite3_column_type(st, 3) == SQLITE_NULL
                    ? -1 : sqlite3_column_int64(st, 3);
    }
    if (step != SQLITE_DONE)
        rc = db_error(l, "cannot read the ledger");
    refresh_views(job);
out:
    sqlite3_finalize(st);
    return rc;
}

/* Runs a prepared query that selects JOB_COLUMNS and collects its rows. */
static pf_err collect(struct pf__ledger *l, sqlite3_stmt *st, pf_job ***out,
                      size_t *count)
{
    pf_job **list = NULL;
    size_t n = 0;
    pf_err rc = PF_OK;
    int step;

    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        pf_job **grown = realloc(list, (n + 1) * sizeof *list);

        if (!grown || !(grown[n] = pf__job_new())) {
            list = grown ? grown : list;
            rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
        list = grown;
        n++;
        if (read_row(st, list[n - 1])) {
            rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = db_error(l, "cannot read the ledger");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = read_outputs(l, list[i])))
            goto out;
out:
    if (rc) {
        pf_job_list_free(list, n);
        list = NULL;
        n = 0;
    }
    *out = list;
    *count = n;
    return rc;
}

/* The one job a query selects, or PF_ENOENT (no message) when none. */
static pf_err collect_one(struct pf__ledger *l, sqlite3_stmt *st, pf_job **out)
{
    pf_job **list = NULL;
    size_t n = 0;
    pf_err rc = collect(l, st, &list, &n);

    *out = NULL;
    if (!rc && n == 0)
        rc = PF_ENOENT;
    if (!rc) {
        *out = list[0];
        list[0] = NULL;
    }
    pf_job_list_free(list, n);
    return rc;
}

pf_err pf__ledger_find_key(struct pf__ledger *l, const char *key, pf_job **out)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;

    *out = NULL;
    if ((rc = prepare(l, "SELECT " JOB_COLUMNS " FROM jobs WHERE key = ? AND "
                         "state NOT IN ('failed', 'cancelled', 'rejected') "
                         "ORDER BY id DESC LIMIT 1", &st)))
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = collect_one(l, st, out);
    sqlite3_finalize(st);
    return rc == PF_ENOENT ? PF_OK : rc;
}

pf_err pf__ledger_get_id(struct pf__ledger *l, int64_t id, pf_job **out)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;

    if ((rc = prepare(l, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?", &st)))
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = collect_one(l, st, out);
    sqlite3_finalize(st);
    return rc;
}

pf_err pf__ledger_get_request(struct pf__ledger *l, const char *request_id,
                              pf_job **out)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;

    if ((rc = prepare(l, "SELECT " JOB_COLUMNS " FROM jobs WHERE request_id = ? "
                         "ORDER BY id DESC LIMIT 1", &st)))
        return rc;
    sqlite3_bind_text(st, 1, request_id, -1, SQLITE_STATIC);
    rc = collect_one(l, st, out);
    sqlite3_finalize(st);
    return rc;
}

pf_err pf__ledger_list(struct pf__ledger *l, int unfinished, size_t limit,
                       pf_job ***out, size_t *count)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;

    *out = NULL;
    *count = 0;
    if ((rc = prepare(l, unfinished
        ? "SELECT " JOB_COLUMNS " FROM jobs WHERE state IN "
          "('submitting', 'in_queue', 'in_progress') OR (state = 'completed' AND "
          "outdir IS NOT NULL AND (outputs_known = 0 OR EXISTS (SELECT 1 FROM "
          "outputs WHERE job = jobs.id AND path IS NULL))) ORDER BY id DESC LIMIT ?"
        : "SELECT " JOB_COLUMNS " FROM jobs ORDER BY id DESC LIMIT ?", &st)))
        return rc;
    sqlite3_bind_int64(st, 1, limit ? (sqlite3_int64)limit : -1);
    rc = collect(l, st, out, count);
    sqlite3_finalize(st);
    return rc;
}

pf_err pf__ledger_reload(struct pf__ledger *l, pf_job *job)
{
    pf_job *fresh = NULL;
    pf_err rc = pf__ledger_get_id(l, job->id, &fresh);
    pf_job tmp;

    if (rc == PF_ENOENT)
        return pf__error(l->ctx, PF_EIO, "%s: job %lld vanished from the ledger",
                         l->path, (long long)job->id);
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

/* ---- writing ------------------------------------------------------------- */

static int64_t now(void)
{
    return (int64_t)time(NULL);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static pf_err step_done(struct pf__ledger *l, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return db_error(l, "cannot write to the ledger");
    return PF_OK;
}

static pf_err add_event(struct pf__ledger *l, int64_t id, const char *state,
                        const char *detail)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;

    if ((rc = prepare(l, "INSERT INTO events (job, at, state, detail) "
                         "VALUES (?, ?, ?, ?)", &st)))
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now());
    sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
    bind_text_or_null(st, 4, detail);
    rc = step_done(l, st);
    sqlite3_finalize(st);
    return rc;
}

static pf_err begin(struct pf__ledger *l)
{
    if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(l, "cannot write to the ledger");
    return PF_OK;
}

static pf_err finish(struct pf__ledger *l, pf_err rc)
{
    if (rc) {
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_error(l, "cannot write to the ledger");
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

pf_err pf__ledger_insert(struct pf__ledger *l, pf_job *job)
{
    sqlite3_stmt *st = NULL;
    const char *state = pf_job_state_name(job->state);
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    if ((rc = prepare(l, "INSERT INTO jobs (key, provider, model, base_url, body, "
                         "meta, state, outdir, created, updated, unsent) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st)))
        return finish(l, rc);
    job->created = job->updated = now();
    sqlite3_bind_text(st, 1, job->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job->provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, job->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, job->base_url, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, job->body, -1, SQLITE_STATIC);
    bind_text_or_null(st, 6, job->meta);
    sqlite3_bind_text(st, 7, state, -1, SQLITE_STATIC);
    bind_text_or_null(st, 8, job->outdir);
    sqlite3_bind_int64(st, 9, job->created);
    sqlite3_bind_int64(st, 10, job->updated);
    sqlite3_bind_int(st, 11, job->unsent != 0);
    rc = step_done(l, st);
    sqlite3_finalize(st);
    if (!rc) {
        job->id = sqlite3_last_insert_rowid(l->db);
        rc = add_event(l, job->id, state, NULL);
    }
    return finish(l, rc);
}

pf_err pf__ledger_update(struct pf__ledger *l, pf_job *job, const char *detail)
{
    sqlite3_stmt *st = NULL;
    const char *state = pf_job_state_name(job->state);
    pf_err rc;
    int rank = job->state == PF_JOB_SUBMITTING ? 0 : job->state == PF_JOB_QUEUED ? 1
             : job->state == PF_JOB_RUNNING ? 2 : 3;

    if ((rc = begin(l)))
        return rc;
    /* Event first, while the old state can still be compared. */
    if ((rc = prepare(l, "INSERT INTO events (job, at, state, detail) "
                         "SELECT id, ?, ?, ? FROM jobs WHERE id = ? AND state != ? AND "
                         RANK_SQL("state") " <= ? AND (" RANK_SQL("state") " < 3)",
                      &st)))
        return finish(l, rc);
    sqlite3_bind_int64(st, 1, now());
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, detail);
    sqlite3_bind_int64(st, 4, job->id);
    sqlite3_bind_text(st, 5, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, rank);
    rc = step_done(l, st);
    sqlite3_finalize(st);
    st = NULL;
    if (rc)
        return finish(l, rc);
    /* The state moves only forwards and a final one stays; the other facts
     * (request id, error, position) are written with it, or when the state
     * is unchanged. outdir and meta are only ever filled in. */
    if ((rc = prepare(l, "UPDATE jobs SET state = ?, request_id = COALESCE(?, request_id), "
                         "queue_position = ?, error = COALESCE(?, error), "
                         "meta = COALESCE(?, meta), outdir = COALESCE(?, outdir), "
                         "updated = ? WHERE id = ? AND (state = ? OR (" RANK_SQL("state")
                         " <= ? AND " RANK_SQL("state") " < 3))", &st)))
        return finish(l, rc);
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    bind_text_or_null(st, 2, job->request_id);
    if (job->queue_position >= 0)
        sqlite3_bind_int(st, 3, job->queue_position);
    else
        sqlite3_bind_null(st, 3);
    bind_text_or_null(st, 4, job->error);
    bind_text_or_null(st, 5, job->meta);
    bind_text_or_null(st, 6, job->outdir);
    sqlite3_bind_int64(st, 7, now());
    sqlite3_bind_int64(st, 8, job->id);
    sqlite3_bind_text(st, 9, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, rank);
    rc = step_done(l, st);
    sqlite3_finalize(st);
    if ((rc = finish(l, rc)))
        return rc;
    return pf__ledger_reload(l, job);
}

pf_err pf__ledger_set_unsent(struct pf__ledger *l, pf_job *job, int unsent,
                             const char *detail)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    if ((rc = prepare(l, "UPDATE jobs SET unsent = ?, updated = ? WHERE id = ? AND "
                         "state = 'submitting'", &st)))
        return finish(l, rc);
    sqlite3_bind_int(st, 1, unsent != 0);
    sqlite3_bind_int64(st, 2, now());
    sqlite3_bind_int64(st, 3, job->id);
    rc = step_done(l, st);
    sqlite3_finalize(st);
    if (!rc && sqlite3_changes(l->db) == 1 && detail)
        rc = add_event(l, job->id, "submitting", detail);
    if ((rc = finish(l, rc)))
        return rc;
    return pf__ledger_reload(l, job);
}

pf_err pf__ledger_set_outputs(struct pf__ledger *l, pf_job *job)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    if ((rc = prepare(l, "INSERT OR IGNORE INTO outputs (job, idx, url, kind) "
                         "VALUES (?, ?, ?, ?)", &st)))
        return finish(l, rc);
    for (size_t i = 0; i < job->noutputs && !rc; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, job->id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        sqlite3_bind_text(st, 3, job->outputs[i].url, -1, SQLITE_STATIC);
        bind_text_or_null(st, 4, kind_text(job->outputs[i].pub.kind));
        rc = step_done(l, st);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc && !(rc = prepare(l, "UPDATE jobs SET outputs_known = 1, updated = ? "
                                 "WHERE id = ?", &st))) {
        sqlite3_bind_int64(st, 1, now());
        sqlite3_bind_int64(st, 2, job->id);
        rc = step_done(l, st);
        sqlite3_finalize(st);
    }
    if ((rc = finish(l, rc)))
        return rc;
    return pf__ledger_reload(l, job);
}

pf_err pf__ledger_refresh_urls(struct pf__ledger *l, pf_job *job)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    /* A file already downloaded keeps the URL it came from. */
    if ((rc = prepare(l, "UPDATE outputs SET url = ? WHERE job = ? AND idx = ? AND "
                         "path IS NULL", &st)))
        return finish(l, rc);
    for (size_t i = 0; i < job->noutputs && !rc; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, job->outputs[i].url, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, job->id);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
        rc = step_done(l, st);
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = add_event(l, job->id, "urls_refreshed", NULL);
    if ((rc = finish(l, rc)))
        return rc;
    return pf__ledger_reload(l, job);
}

pf_err pf__ledger_output_done(struct pf__ledger *l, pf_job *job, size_t i)
{
    struct pf__job_output *o = &job->outputs[i];
    sqlite3_stmt *st = NULL;
    pf_err rc;

    /* The facts and their event in one transaction: a crash leaves both
     * or neither. */
    if ((rc = begin(l)))
        return rc;
    if ((rc = prepare(l, "UPDATE outputs SET path = ?, size = ?, sha256 = ? "
                         "WHERE job = ? AND idx = ?", &st)))
        return finish(l, rc);
    bind_text_or_null(st, 1, o->path);
    sqlite3_bind_int64(st, 2, o->pub.size);
    bind_text_or_null(st, 3, o->sha256);
    sqlite3_bind_int64(st, 4, job->id);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)i);
    rc = step_done(l, st);
    sqlite3_finalize(st);
    if (!rc)
        rc = add_event(l, job->id, "downloaded", o->path);
    return finish(l, rc);
}
