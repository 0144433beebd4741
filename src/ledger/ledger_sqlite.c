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
 * lock belongs to the one open file description made in pf__sqlite_open.
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

#define PF__BUSY_MS 30000

struct sq {
    struct pf__ledger base;     /* first: the interface's view */
    pf_ctx *ctx;
    sqlite3 *db;
    int lock_fd;
    char *path;
    char id[40];                /* settings' ledger_id */
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

/* Version 2 (issue 13): keys claimed in one statement, the worker that
 * downloaded an output, imported jobs' origins, settings, a version table
 * that an older preflight reads to refuse what it does not know. */
static const char schema_v2_sql[] =
    "ALTER TABLE jobs ADD COLUMN origin TEXT;"
    "CREATE UNIQUE INDEX jobs_by_origin ON jobs(origin);"
    "ALTER TABLE outputs ADD COLUMN worker TEXT;"
    "CREATE TABLE claims (key TEXT PRIMARY KEY, job INTEGER NOT NULL REFERENCES jobs(id));"
    "INSERT INTO claims SELECT key, MAX(id) FROM jobs WHERE state NOT IN "
    " ('failed', 'cancelled', 'rejected') GROUP BY key;"
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO settings VALUES ('ledger_id', lower(hex(randomblob(16)))),"
    " ('lease_s', '300');"
    "CREATE TABLE preflight_schema (version INTEGER NOT NULL);"
    "INSERT INTO preflight_schema VALUES (2);"
    "PRAGMA user_version=2;";

/* How far along a state is: a state is never replaced by an earlier one. */
#define RANK_SQL(col)                                                        \
    "(CASE " col " WHEN 'submitting' THEN 0 WHEN 'in_queue' THEN 1 "         \
    "WHEN 'in_progress' THEN 2 ELSE 3 END)"

/* ---- opening ------------------------------------------------------------- */

static pf_err db_error(struct sq *l, const char *what)
{
    int code = l->db ? sqlite3_errcode(l->db) : SQLITE_ERROR;
    pf_err err = code == SQLITE_NOMEM ? PF_ENOMEM
               : code == SQLITE_FULL ? PF_ENOSPC : PF_EIO;

    return pf__error(l->ctx, err, "%s: %s: %s", l->path, what,
                     l->db ? sqlite3_errmsg(l->db) : "cannot open");
}

static pf_err exec(struct sq *l, const char *sql)
{
    if (sqlite3_exec(l->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(l, "cannot prepare the ledger");
    return PF_OK;
}

/* Ledgers made before the column existed get it; their rows read 0, "a
 * POST may be in flight", which is what a submitting row meant then. */
static pf_err add_unsent_column(struct sq *l)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(l->db, "SELECT unsent FROM jobs LIMIT 0", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_finalize(st);
        return PF_OK;
    }
    return exec(l, "ALTER TABLE jobs ADD COLUMN unsent INTEGER NOT NULL DEFAULT 0");
}

/* The schema's version: the version table's, else user_version (1 for a
 * ledger older than the table, 0 for a new file). */
static pf_err schema_version(struct sq *l, int *version)
{
    sqlite3_stmt *st = NULL;
    int has_table = 0;

    *version = 0;
    if (sqlite3_prepare_v2(l->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                           "AND name = 'preflight_schema'", -1, &st, NULL) != SQLITE_OK)
        return db_error(l, "cannot read the ledger");
    has_table = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(l->db, has_table ? "SELECT MAX(version) FROM preflight_schema"
                           : "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_error(l, "cannot read the ledger");
    if (sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return PF_OK;
}

static pf_err read_settings(struct sq *l)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(l->db, "SELECT name, value FROM settings", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(l, "cannot read the ledger");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *value = (const char *)sqlite3_column_text(st, 1);

        if (!name || !value)
            continue;
        if (strcmp(name, "ledger_id") == 0)
            pf__strlcpy(l->id, value, sizeof l->id);
        else if (strcmp(name, "lease_s") == 0 && atoi(value) > 0)
            l->base.lease_s = atoi(value);
    }
    sqlite3_finalize(st);
    return PF_OK;
}

/* Creates or migrates the schema inside one immediate transaction, so two
 * processes opening a new ledger at once do it once. */
static pf_err prepare_schema(struct sq *l)
{
    int version;
    pf_err rc;

    if ((rc = exec(l, "BEGIN IMMEDIATE")))
        return rc;
    if ((rc = schema_version(l, &version)))
        goto fail;
    if (version > PF__LEDGER_SCHEMA) {
        rc = pf__error(l->ctx, PF_EUSAGE, "%s: the ledger's schema is version %d, newer "
                       "than this preflight's (%d): upgrade preflight to use it; nothing "
                       "was written", l->path, version, PF__LEDGER_SCHEMA);
        goto fail;
    }
    if ((version < 1 && (rc = exec(l, schema_sql))) ||
        (version < 2 && (rc = exec(l, schema_v2_sql))) ||
        (rc = add_unsent_column(l)))
        goto fail;
    if ((rc = exec(l, "COMMIT")))
        goto fail;
    l->base.schema = version > 2 ? version : 2;
    return read_settings(l);
fail:
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static const struct pf__ledger_ops sqlite_ops;
static void sq_close(struct pf__ledger *base);

pf_err pf__sqlite_open(pf_ctx *ctx, const char *path, struct pf__ledger **out)
{
    struct sq *l = calloc(1, sizeof *l);
    char *lock_path = NULL, *dir = NULL, *slash;
    size_t n = strlen(path);
    int fd = -1;
    pf_err rc;

    *out = NULL;
    if (!l)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    l->ctx = ctx;
    l->lock_fd = -1;
    if ((rc = pf__ledger_init_base(&l->base, &sqlite_ops, ctx)))
        goto out;
    /* jobs.db's locks are in jobs.lock beside it, as they always were. */
    if (!(l->path = strdup(path)) || !(l->base.where = strdup(path)) ||
        !(dir = strdup(path)) ||
        !(lock_path = n > 3 && strcmp(path + n - 3, ".db") == 0
                    ? pf__asprintf("%.*s.lock", (int)(n - 3), path)
                    : pf__asprintf("%s.lock", path))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    /* 0700 for the directories it creates: the ledger holds the URLs a job
     * was given, presigned ones included. */
    if ((slash = strrchr(dir, '/')) && slash != dir) {
        *slash = '\0';
        if ((rc = pf__mkdir_p(ctx, dir, 0700, "state directory")))
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
    if ((rc = prepare_schema(l)))
        goto out;
    *out = &l->base;
    l = NULL;
out:
    free(lock_path);
    free(dir);
    sq_close(l ? &l->base : NULL);
    return rc;
}

static void sq_close(struct pf__ledger *base)
{
    struct sq *l = (struct sq *)base;

    if (!l)
        return;
    sqlite3_close(l->db);
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    free(l->path);
    pf__ledger_free_base(&l->base);
    free(l);
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

static pf_err sq_lock(struct pf__ledger *ledger, const char *name, int wait)
{
    struct sq *l = (struct sq *)ledger;
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

static void sq_unlock(struct pf__ledger *ledger, const char *name)
{
    struct sq *l = (struct sq *)ledger;
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = lock_offset(name);
    fl.l_len = 1;
    fcntl(l->lock_fd, F_OFD_SETLK, &fl);
}

/* ---- reading ------------------------------------------------------------- */

static pf_err prepare(struct sq *l, const char *sql, sqlite3_stmt **st)
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
    job->state = pf__ledger_state((const char *)sqlite3_column_text(st, 7));
    job->queue_position = sqlite3_column_type(st, 9) == SQLITE_NULL
                        ? -1 : sqlite3_column_int(st, 9);
    job->outputs_known = sqlite3_column_int(st, 12);
    job->created = sqlite3_column_int64(st, 13);
    job->updated = sqlite3_column_int64(st, 14);
    job->unsent = sqlite3_column_int(st, 15);
    return PF_OK;
}

static pf_err read_outputs(struct sq *l, pf_job *job)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;
    int step;

    pf__job_clear_outputs(job);
    if ((rc = prepare(l, "SELECT url, kind, path, size, sha256, worker FROM outputs "
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
        if (col_set(&o->path, st, 2) || col_set(&o->sha256, st, 4) ||
            col_set(&o->worker, st, 5)) {
            rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
        o->pub.size = sqlite3_column_type(st, 3) == SQLITE_NULL
                    ? -1 : sqlite3_column_int64(st, 3);
    }
    if (step != SQLITE_DONE)
        rc = db_error(l, "cannot read the ledger");
    pf__job_refresh_views(job);
out:
    sqlite3_finalize(st);
    return rc;
}

/* Runs a prepared query that selects JOB_COLUMNS and collects its rows. */
static pf_err collect(struct sq *l, sqlite3_stmt *st, pf_job ***out,
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
static pf_err collect_one(struct sq *l, sqlite3_stmt *st, pf_job **out)
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

static pf_err sq_find_key(struct pf__ledger *ledger, const char *key, pf_job **out)
{
    struct sq *l = (struct sq *)ledger;
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

static pf_err sq_get_id(struct pf__ledger *ledger, int64_t id, pf_job **out)
{
    struct sq *l = (struct sq *)ledger;
    sqlite3_stmt *st = NULL;
    pf_err rc;

    if ((rc = prepare(l, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?", &st)))
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = collect_one(l, st, out);
    sqlite3_finalize(st);
    return rc;
}

static pf_err sq_get_request(struct pf__ledger *ledger, const char *request_id,
                              pf_job **out)
{
    struct sq *l = (struct sq *)ledger;
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

static pf_err sq_list(struct pf__ledger *ledger, int unfinished, size_t limit,
                       pf_job ***out, size_t *count)
{
    struct sq *l = (struct sq *)ledger;
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

static pf_err step_done(struct sq *l, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return db_error(l, "cannot write to the ledger");
    return PF_OK;
}

static pf_err add_event(struct sq *l, int64_t id, const char *state,
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

static pf_err begin(struct sq *l)
{
    if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(l, "cannot write to the ledger");
    return PF_OK;
}

static pf_err finish(struct sq *l, pf_err rc)
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

/* Claims job's key for it inside the caller's transaction: one statement,
 * so no second process can slip between a look and a write. PF_EEXIST (no
 * message) with the holder's id when a live job holds it. */
static pf_err claim(struct sq *l, const pf_job *job, int replace, int64_t *holder)
{
    sqlite3_stmt *st = NULL;
    pf_err rc;
    int step;

    if ((rc = prepare(l, "INSERT INTO claims (key, job) VALUES (?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET job = excluded.job WHERE ? OR (SELECT state FROM "
                         "jobs WHERE id = claims.job) IN ('failed', 'cancelled', 'rejected') "
                         "RETURNING job", &st)))
        return rc;
    sqlite3_bind_text(st, 1, job->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, job->id);
    sqlite3_bind_int(st, 3, replace != 0);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        step = sqlite3_step(st);
    else if (step == SQLITE_DONE)
        rc = PF_EEXIST;
    if (step != SQLITE_DONE)
        rc = db_error(l, "cannot write to the ledger");
    sqlite3_finalize(st);
    if (rc != PF_EEXIST)
        return rc;
    if (!(rc = prepare(l, "SELECT job FROM claims WHERE key = ?", &st))) {
        sqlite3_bind_text(st, 1, job->key, -1, SQLITE_STATIC);
        *holder = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        rc = PF_EEXIST;
    }
    return rc;
}

static pf_err sq_insert(struct pf__ledger *ledger, pf_job *job, int replace,
                        int64_t *holder)
{
    struct sq *l = (struct sq *)ledger;
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
        rc = claim(l, job, replace, holder);
    }
    if (!rc)
        rc = add_event(l, job->id, state, NULL);
    if (rc)
        job->id = 0;
    return finish(l, rc);
}

static pf_err sq_update(struct pf__ledger *ledger, pf_job *job, const char *detail)
{
    struct sq *l = (struct sq *)ledger;
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
    return pf__ledger_reload(&l->base, job);
}

static pf_err sq_set_unsent(struct pf__ledger *ledger, pf_job *job, int unsent,
                            const char *detail)
{
    struct sq *l = (struct sq *)ledger;
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
    return pf__ledger_reload(&l->base, job);
}

static pf_err sq_set_outputs(struct pf__ledger *ledger, pf_job *job)
{
    struct sq *l = (struct sq *)ledger;
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
        bind_text_or_null(st, 4, pf__ledger_kind_text(job->outputs[i].pub.kind));
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
    return pf__ledger_reload(&l->base, job);
}

static pf_err sq_refresh_urls(struct pf__ledger *ledger, pf_job *job)
{
    struct sq *l = (struct sq *)ledger;
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
    return pf__ledger_reload(&l->base, job);
}

static pf_err sq_output_done(struct pf__ledger *ledger, pf_job *job, size_t i)
{
    struct sq *l = (struct sq *)ledger;
    struct pf__job_output *o = &job->outputs[i];
    sqlite3_stmt *st = NULL;
    pf_err rc;

    /* The facts and their event in one transaction: a crash leaves both
     * or neither. */
    if ((rc = begin(l)))
        return rc;
    if ((rc = prepare(l, "UPDATE outputs SET path = ?, size = ?, sha256 = ?, worker = ? "
                         "WHERE job = ? AND idx = ?", &st)))
        return finish(l, rc);
    bind_text_or_null(st, 1, o->path);
    sqlite3_bind_int64(st, 2, o->pub.size);
    bind_text_or_null(st, 3, o->sha256);
    bind_text_or_null(st, 4, o->worker);
    sqlite3_bind_int64(st, 5, job->id);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)i);
    rc = step_done(l, st);
    sqlite3_finalize(st);
    if (!rc)
        rc = add_event(l, job->id, "downloaded", o->path);
    return finish(l, rc);
}

/* ---- the ledger as a whole ------------------------------------------------ */

static void sq_holder(struct pf__ledger *ledger, const char *name, char *buf, size_t size)
{
    struct sq *l = (struct sq *)ledger;
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = lock_offset(name);
    fl.l_len = 1;
    /* An OFD lock's holder has no pid (l_pid is -1): only "another". */
    if (fcntl(l->lock_fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
        snprintf(buf, size, "preflight process %ld on this machine", (long)fl.l_pid);
    else
        snprintf(buf, size, "another preflight process on this machine");
}

static pf_err sq_counts(struct pf__ledger *ledger, cJSON *into)
{
    struct sq *l = (struct sq *)ledger;
    sqlite3_stmt *st = NULL;
    cJSON *states = cJSON_AddObjectToObject(into, "states");
    double total = 0;
    pf_err rc;

    if (!states)
        return pf__error(l->ctx, PF_ENOMEM, "out of memory");
    if ((rc = prepare(l, "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state",
                      &st)))
        return rc;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double n = (double)sqlite3_column_int64(st, 1);

        cJSON_AddNumberToObject(states, (const char *)sqlite3_column_text(st, 0), n);
        total += n;
    }
    sqlite3_finalize(st);
    cJSON_AddNumberToObject(into, "jobs", total);
    if ((rc = prepare(l, "SELECT COUNT(*), COUNT(path) FROM outputs", &st)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        cJSON_AddNumberToObject(into, "outputs", (double)sqlite3_column_int64(st, 0));
        cJSON_AddNumberToObject(into, "downloaded", (double)sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
    /* Kernel locks: none to count, and none outlives its process. */
    cJSON_AddNullToObject(into, "leases");
    return PF_OK;
}

static const char *sq_id(struct pf__ledger *ledger)
{
    return ((struct sq *)ledger)->id;
}

static pf_err sq_import_job(struct pf__ledger *ledger, const pf_job *job,
                            const char *origin, int *added)
{
    struct sq *l = (struct sq *)ledger;
    sqlite3_stmt *st = NULL;
    int64_t id = 0, none;
    pf_err rc;
    int step;

    *added = 0;
    if ((rc = begin(l)))
        return rc;
    if ((rc = prepare(l, "INSERT INTO jobs (key, provider, model, base_url, body, meta, "
                         "state, request_id, queue_position, error, outdir, outputs_known, "
                         "created, updated, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                         "?, ?, ?, ?, ?) ON CONFLICT (origin) DO NOTHING RETURNING id", &st)))
        return finish(l, rc);
    sqlite3_bind_text(st, 1, job->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job->provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, job->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, job->base_url, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, job->body, -1, SQLITE_STATIC);
    bind_text_or_null(st, 6, job->meta);
    sqlite3_bind_text(st, 7, pf_job_state_name(job->state), -1, SQLITE_STATIC);
    bind_text_or_null(st, 8, job->request_id);
    if (job->queue_position >= 0)
        sqlite3_bind_int(st, 9, job->queue_position);
    else
        sqlite3_bind_null(st, 9);
    bind_text_or_null(st, 10, job->error);
    bind_text_or_null(st, 11, job->outdir);
    sqlite3_bind_int(st, 12, job->outputs_known);
    sqlite3_bind_int64(st, 13, job->created);
    sqlite3_bind_int64(st, 14, job->updated);
    sqlite3_bind_text(st, 15, origin, -1, SQLITE_STATIC);
    if ((step = sqlite3_step(st)) == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        step = sqlite3_step(st);
    }
    if (step != SQLITE_DONE)
        rc = db_error(l, "cannot write to the ledger");
    sqlite3_finalize(st);
    st = NULL;
    if (rc || !id)
        return finish(l, rc);
    if ((rc = prepare(l, "INSERT INTO outputs (job, idx, url, kind, path, size, sha256, "
                         "worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &st)))
        return finish(l, rc);
    for (size_t i = 0; i < job->noutputs && !rc; i++) {
        const struct pf__job_output *o = &job->outputs[i];

        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        sqlite3_bind_text(st, 3, o->url, -1, SQLITE_STATIC);
        bind_text_or_null(st, 4, pf__ledger_kind_text(o->pub.kind));
        bind_text_or_null(st, 5, o->path);
        if (o->pub.size >= 0)
            sqlite3_bind_int64(st, 6, o->pub.size);
        else
            sqlite3_bind_null(st, 6);
        bind_text_or_null(st, 7, o->sha256);
        bind_text_or_null(st, 8, o->worker);
        rc = step_done(l, st);
    }
    sqlite3_finalize(st);
    if (!rc && job->state != PF_JOB_FAILED && job->state != PF_JOB_CANCELLED &&
        job->state != PF_JOB_REJECTED) {
        pf_job copy = *job;

        copy.id = id;
        if ((rc = claim(l, &copy, 0, &none)) == PF_EEXIST)
            rc = PF_OK;
    }
    if (!rc)
        rc = add_event(l, id, "imported", origin);
    if (!rc)
        *added = 1;
    return finish(l, rc);
}

static pf_err sq_set_lease(struct pf__ledger *ledger, int seconds)
{
    struct sq *l = (struct sq *)ledger;
    sqlite3_stmt *st = NULL;
    pf_err rc;

    if ((rc = prepare(l, "UPDATE settings SET value = ? WHERE name = 'lease_s'", &st)))
        return rc;
    sqlite3_bind_int(st, 1, seconds);
    rc = step_done(l, st);
    sqlite3_finalize(st);
    return rc;
}

static const struct pf__ledger_ops sqlite_ops = {
    "sqlite", sq_close, sq_lock, sq_unlock, sq_holder, sq_find_key, sq_insert,
    sq_update, sq_set_outputs, sq_refresh_urls, sq_output_done, sq_get_id,
    sq_get_request, sq_list, sq_counts, sq_id, sq_import_job, sq_set_lease,
    sq_set_unsent,
};
