/*
 * The job ledger in PostgreSQL, for workers on several machines sharing one
 * queue of requests. The only file that includes libpq-fe.h.
 *
 * The URL is libpq's own ("postgresql://host/db?sslmode=..."), never with a
 * password (ledger_common.c refuses one): libpq reads it from PGPASSWORD,
 * ~/.pgpass or a service file. Every statement is sent with its values as
 * parameters, never spliced into the text.
 *
 * Named locks are leases: rows of the leases table with an expiry, renewed
 * every third of their length by a thread on its own connection while the
 * process lives. A worker that dies (a machine lost, a pod killed) renews
 * nothing, so its leases expire and any other worker may take them: a job
 * in flight on a dead worker is never known to nobody.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"

struct pg {
    struct pf__ledger base;     /* first: the interface's view */
    pf_ctx *ctx;
    PGconn *conn;
    char *url;
    char holder[160];           /* this handle's leases: worker:pid:random */
    char id[40];                /* settings' ledger_id */
    /* the lease renewer */
    pthread_t renewer;
    int renewing, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* One statement's worth of text parameters. */
#define MAXP 16
struct params {
    const char *v[MAXP];
    char buf[MAXP][32];
    int n;
};

static void p_text(struct params *p, const char *s)
{
    p->v[p->n++] = s;
}

static void p_int(struct params *p, int64_t x)
{
    snprintf(p->buf[p->n], sizeof p->buf[p->n], "%lld", (long long)x);
    p->v[p->n] = p->buf[p->n];
    p->n++;
}

/* ---- errors and statements ------------------------------------------------ */

/* libpq's message on one line, without its trailing newline. */
static void one_line(char *dst, size_t size, const char *msg)
{
    size_t n;

    pf__strlcpy(dst, msg && *msg ? msg : "no reason given", size);
    for (char *c = dst, *w = dst;; c++) {
        char ch = *c == '\n' || *c == '\r' || *c == '\t' ? ' ' : *c;

        if (ch == ' ' && w > dst && w[-1] == ' ')
            continue;
        *w++ = ch;
        if (!ch)
            break;
    }
    n = strlen(dst);
    while (n > 0 && dst[n - 1] == ' ')
        dst[--n] = '\0';
}

static pf_err db_error(struct pg *l, const char *what)
{
    char msg[512];
    int down = !l->conn || PQstatus(l->conn) != CONNECTION_OK;

    one_line(msg, sizeof msg, l->conn ? PQerrorMessage(l->conn) : "out of memory");
    if (down)
        return pf__error(l->ctx, PF_ENET, "%s: the ledger's database cannot be reached: "
                         "%s", l->base.where, msg);
    return pf__error(l->ctx, PF_EIO, "%s: %s: %s", l->base.where, what, msg);
}

/* A connection lost since the last statement (the server restarted) is
 * made again once before a statement is sent. */
static pf_err connected(struct pg *l)
{
    if (PQstatus(l->conn) == CONNECTION_OK)
        return PF_OK;
    PQreset(l->conn);
    if (PQstatus(l->conn) == CONNECTION_OK)
        return PF_OK;
    return db_error(l, "cannot connect");
}

/* Runs one statement. *res (NULL for none wanted) is the result of a
 * statement that succeeded; the caller PQclears it. A read (retry) whose
 * connection was found dead is sent once more on a new one: a read has no
 * effect to repeat. */
static pf_err run(struct pg *l, const char *sql, const struct params *p, int retry,
                  PGresult **res, const char *what)
{
    PGresult *r;
    ExecStatusType st;

    if (res)
        *res = NULL;
    for (int attempt = 0;; attempt++) {
        pf_err rc = connected(l);

        if (rc)
            return rc;
        r = PQexecParams(l->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL, 0);
        st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            break;
        PQclear(r);
        if (!retry || attempt > 0 || PQstatus(l->conn) == CONNECTION_OK)
            return db_error(l, what);
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return PF_OK;
}

/* Statements without parameters, several at once (the schema). */
static pf_err exec(struct pg *l, const char *sql)
{
    PGresult *r;
    pf_err rc;

    if ((rc = connected(l)))
        return rc;
    r = PQexec(l->conn, sql);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = db_error(l, "cannot write to the ledger");
    PQclear(r);
    return rc;
}

static pf_err begin(struct pg *l)
{
    return exec(l, "BEGIN");
}

static pf_err finish(struct pg *l, pf_err rc)
{
    PGresult *r;

    if (rc) {
        /* Best effort: a lost connection rolled it back already. */
        PQclear(PQexec(l->conn, "ROLLBACK"));
        return rc;
    }
    r = PQexec(l->conn, "COMMIT");
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = db_error(l, "cannot write to the ledger");
    PQclear(r);
    return rc;
}

static const char *val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t num(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? -1 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- opening ---------------------------------------------------------------- */

static const char schema_sql[] =
    "CREATE TABLE jobs ("
    " id BIGSERIAL PRIMARY KEY,"
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
    " created BIGINT NOT NULL,"
    " updated BIGINT NOT NULL,"
    " origin TEXT UNIQUE,"
    " unsent INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_by_key ON jobs(key);"
    "CREATE INDEX jobs_by_request ON jobs(request_id);"
    "CREATE TABLE outputs ("
    " job BIGINT NOT NULL REFERENCES jobs(id),"
    " idx INTEGER NOT NULL,"
    " url TEXT NOT NULL,"
    " kind TEXT,"
    " path TEXT,"
    " size BIGINT,"
    " sha256 TEXT,"
    " worker TEXT,"
    " PRIMARY KEY (job, idx));"
    "CREATE TABLE events ("
    " job BIGINT NOT NULL REFERENCES jobs(id),"
    " at BIGINT NOT NULL,"
    " state TEXT NOT NULL,"
    " detail TEXT);"
    "CREATE TABLE claims (key TEXT PRIMARY KEY, job BIGINT NOT NULL REFERENCES jobs(id));"
    "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
    " worker TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL);"
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO settings VALUES ('ledger_id', md5(random()::text || clock_timestamp()::text)),"
    " ('lease_s', '300');"
    "CREATE TABLE preflight_schema (version INTEGER NOT NULL);"
    "INSERT INTO preflight_schema VALUES (2);";

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Creates the schema, or checks the one there, under an advisory lock so
 * that workers starting together create it once. */
static pf_err prepare_schema(struct pg *l)
{
    PGresult *r = NULL;
    int version = 0;
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    if ((rc = run(l, "SELECT pg_advisory_xact_lock(hashtext('preflight_ledger_schema'))",
                  NULL, 0, NULL, "cannot prepare the ledger")) ||
        (rc = run(l, "SELECT to_regclass('preflight_schema') IS NOT NULL", NULL, 0, &r,
                  "cannot prepare the ledger")))
        return finish(l, rc);
    if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
        PQclear(r);
        if ((rc = run(l, "SELECT MAX(version) FROM preflight_schema", NULL, 0, &r,
                      "cannot read the ledger")))
            return finish(l, rc);
        version = (int)num(r, 0, 0);
    }
    PQclear(r);
    if (version > PF__LEDGER_SCHEMA)
        return finish(l, pf__error(l->ctx, PF_EUSAGE, "%s: the ledger's schema is version "
                                   "%d, newer than this preflight's (%d): upgrade "
                                   "preflight to use it; nothing was written",
                                   l->base.where, version, PF__LEDGER_SCHEMA));
    if (version < 1 && (rc = exec(l, schema_sql)))
        return finish(l, rc);
    /* Ledgers made before the column existed: their submitting rows read
     * 0, "a POST may be in flight", which is what they meant then. */
    if ((rc = exec(l, "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS unsent INTEGER NOT NULL "
                      "DEFAULT 0")))
        return finish(l, rc);
    /* (Version 2 is the first PostgreSQL schema: later migrations go here.) */
    if ((rc = finish(l, PF_OK)))
        return rc;
    l->base.schema = version > 2 ? version : 2;
    if ((rc = run(l, "SELECT name, value FROM settings", NULL, 1, &r,
                  "cannot read the ledger")))
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0), *value = PQgetvalue(r, i, 1);

        if (strcmp(name, "ledger_id") == 0)
            pf__strlcpy(l->id, value, sizeof l->id);
        else if (strcmp(name, "lease_s") == 0 && atoi(value) > 0)
            l->base.lease_s = atoi(value);
    }
    PQclear(r);
    return PF_OK;
}

static const struct pf__ledger_ops pg_ops;
static void pg_close(struct pf__ledger *base);

pf_err pf__pg_open(pf_ctx *ctx, const char *url, struct pf__ledger **out)
{
    struct pg *l = calloc(1, sizeof *l);
    unsigned rnd = 0;
    FILE *f;
    pf_err rc;

    *out = NULL;
    if (!l)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    l->ctx = ctx;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if ((rc = pf__ledger_init_base(&l->base, &pg_ops, ctx)))
        goto out;
    if (!(l->url = strdup(url)) || !(l->base.where = strdup(url))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    /* A lease names its holder: the worker, the process, and a random part
     * so that a pid reused on another boot is another holder. */
    if ((f = fopen("/dev/urandom", "rb"))) {
        if (fread(&rnd, sizeof rnd, 1, f) != 1)
            rnd = 0;
        fclose(f);
    }
    rnd ^= (unsigned)time(NULL) ^ (unsigned)(uintptr_t)l;
    snprintf(l->holder, sizeof l->holder, "%.100s:%ld:%08x", l->base.worker,
             (long)getpid(), rnd);
    l->conn = PQconnectdb(url);
    if (!l->conn || PQstatus(l->conn) != CONNECTION_OK) {
        char msg[512];

        one_line(msg, sizeof msg, l->conn ? PQerrorMessage(l->conn) : "out of memory");
        rc = pf__error(ctx, PF_ENET, "%s: cannot connect to the ledger: %s", url, msg);
        goto out;
    }
    PQsetNoticeProcessor(l->conn, quiet, NULL);
    if ((rc = prepare_schema(l)))
        goto out;
    *out = &l->base;
    l = NULL;
out:
    pg_close(l ? &l->base : NULL);
    return rc;
}

/* ---- leases ------------------------------------------------------------------ */

/* Renews every lease of this handle each third of their length, on its own
 * connection, until told to stop. A renewal that fails (the server is
 * down) is tried again at the next turn: the lease may lapse meanwhile,
 * which at worst lets another worker take over work this one still does,
 * and the key claims keep that from ever paying twice. */
static void *renew(void *arg)
{
    struct pg *l = arg;
    PGconn *c = PQconnectdb(l->url);
    int64_t every_ms = (int64_t)l->base.lease_s * 1000 / 3;
    char secs[32];
    const char *v[2] = { l->holder, secs };

    if (every_ms < 100)
        every_ms = 100;
    snprintf(secs, sizeof secs, "%d", l->base.lease_s);
    if (c)
        PQsetNoticeProcessor(c, quiet, NULL);
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += every_ms / 1000;
        until.tv_nsec += (long)(every_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT || l->stop)
            continue;
        pthread_mutex_unlock(&l->mu);
        if (c && PQstatus(c) != CONNECTION_OK)
            PQreset(c);
        if (c && PQstatus(c) == CONNECTION_OK)
            PQclear(PQexecParams(c, "UPDATE leases SET expires = clock_timestamp() + "
                                 "$2::int * interval '1 second' WHERE holder = $1",
                                 2, NULL, v, NULL, NULL, 0));
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    PQfinish(c);
    return NULL;
}

static pf_err pg_lock(struct pf__ledger *ledger, const char *name, int wait)
{
    struct pg *l = (struct pg *)ledger;
    struct params p = { .n = 0 };
    PGresult *r = NULL;
    pf_err rc;

    p_text(&p, name);
    p_text(&p, l->holder);
    p_text(&p, l->base.worker);
    p_int(&p, l->base.lease_s);
    for (;;) {
        int got;

        if ((rc = run(l, "INSERT INTO leases (name, holder, worker, expires) VALUES "
                         "($1, $2, $3, clock_timestamp() + $4::int * interval '1 second') "
                         "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                         "worker = excluded.worker, expires = excluded.expires WHERE "
                         "leases.holder = excluded.holder OR leases.expires < "
                         "clock_timestamp() RETURNING 1", &p, 0, &r,
                      "cannot take a lease")))
            return rc;
        got = PQntuples(r) == 1;
        PQclear(r);
        if (got)
            break;
        if (!wait)
            return PF_EEXIST;
        if (pf__sleep_ms(l->ctx, 100))
            return pf__error(l->ctx, PF_EINTR, "interrupted while waiting for another "
                             "preflight worker");
    }
    pthread_mutex_lock(&l->mu);
    if (!l->renewing && pthread_create(&l->renewer, NULL, renew, l) == 0)
        l->renewing = 1;
    pthread_mutex_unlock(&l->mu);
    return PF_OK;
}

static void pg_unlock(struct pf__ledger *ledger, const char *name)
{
    struct pg *l = (struct pg *)ledger;
    struct params p = { .n = 0 };
    char keep[PF__ERRBUF];

    /* Harmless when not held; a failure leaves a lease to expire. Either
     * way the caller's message stays. */
    pf__strlcpy(keep, pf_ctx_error(l->ctx), sizeof keep);
    p_text(&p, name);
    p_text(&p, l->holder);
    run(l, "DELETE FROM leases WHERE name = $1 AND holder = $2", &p, 0, NULL,
        "cannot release a lease");
    pf__strlcpy(l->ctx->error, keep, sizeof l->ctx->error);
}

static void pg_holder(struct pf__ledger *ledger, const char *name, char *buf, size_t size)
{
    struct pg *l = (struct pg *)ledger;
    struct params p = { .n = 0 };
    PGresult *r = NULL;

    p_text(&p, name);
    if (run(l, "SELECT worker, holder, GREATEST(0, CEIL(EXTRACT(EPOCH FROM expires - "
               "clock_timestamp())))::bigint FROM leases WHERE name = $1", &p, 1, &r,
            "cannot read a lease") == PF_OK && PQntuples(r) == 1)
        snprintf(buf, size, "worker %s (%s), whose lease ends in %lld s unless it renews "
                 "it", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), (long long)num(r, 0, 2));
    PQclear(r);
}

static void pg_close(struct pf__ledger *base)
{
    struct pg *l = (struct pg *)base;

    if (!l)
        return;
    if (l->renewing) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->renewer, NULL);
    }
    /* What this handle held is free at once, not when it expires. */
    if (l->conn && PQstatus(l->conn) == CONNECTION_OK && l->renewing) {
        const char *v[1] = { l->holder };

        PQclear(PQexecParams(l->conn, "DELETE FROM leases WHERE holder = $1", 1, NULL, v,
                             NULL, NULL, 0));
    }
    PQfinish(l->conn);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->url);
    pf__ledger_free_base(&l->base);
    free(l);
}

/* ---- reading ------------------------------------------------------------------ */

#define JOB_COLUMNS "id, key, provider, model, base_url, body, meta, state, " \
    "request_id, queue_position, error, outdir, outputs_known, created, updated, " \
    "unsent"

static int col_set(char **field, const PGresult *r, int row, int col)
{
    return pf__job_set(field, val(r, row, col));
}

static pf_err read_row(const PGresult *r, int row, pf_job *job)
{
    const char *key = val(r, row, 1);

    job->id = num(r, row, 0);
    pf__strlcpy(job->key, key ? key : "", sizeof job->key);
    if (col_set(&job->provider, r, row, 2) || col_set(&job->model, r, row, 3) ||
        col_set(&job->base_url, r, row, 4) || col_set(&job->body, r, row, 5) ||
        col_set(&job->meta, r, row, 6) || col_set(&job->request_id, r, row, 8) ||
        col_set(&job->error, r, row, 10) || col_set(&job->outdir, r, row, 11))
        return PF_ENOMEM;
    job->state = pf__ledger_state(val(r, row, 7));
    job->queue_position = (int)num(r, row, 9);
    job->outputs_known = (int)num(r, row, 12);
    job->created = num(r, row, 13);
    job->updated = num(r, row, 14);
    job->unsent = (int)num(r, row, 15);
    return PF_OK;
}

static pf_err read_outputs(struct pg *l, pf_job *job)
{
    struct params p = { .n = 0 };
    PGresult *r = NULL;
    pf_err rc;

    pf__job_clear_outputs(job);
    p_int(&p, job->id);
    if ((rc = run(l, "SELECT url, kind, path, size, sha256, worker FROM outputs WHERE "
                     "job = $1 ORDER BY idx", &p, 1, &r, "cannot read the ledger")))
        return rc;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        struct pf__job_output *o;

        if (pf__job_add_output(job, PQgetvalue(r, i, 0), pf__ledger_kind(val(r, i, 1)))) {
            rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
            break;
        }
        o = &job->outputs[job->noutputs - 1];
        if (col_set(&o->path, r, i, 2) || col_set(&o->sha256, r, i, 4) ||
            col_set(&o->worker, r, i, 5))
            rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
        o->pub.size = num(r, i, 3);
    }
    PQclear(r);
    pf__job_refresh_views(job);
    return rc;
}

/* Runs a query selecting JOB_COLUMNS and collects its jobs with their
 * outputs. */
static pf_err collect(struct pg *l, const char *sql, const struct params *p,
                      pf_job ***out, size_t *count)
{
    PGresult *r = NULL;
    pf_job **list = NULL;
    size_t n = 0;
    pf_err rc;

    *out = NULL;
    *count = 0;
    if ((rc = run(l, sql, p, 1, &r, "cannot read the ledger")))
        return rc;
    if (PQntuples(r) > 0 && !(list = calloc((size_t)PQntuples(r), sizeof *list))) {
        rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        if (!(list[n] = pf__job_new())) {
            rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
        n++;
        if (read_row(r, i, list[n - 1])) {
            rc = pf__error(l->ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = read_outputs(l, list[i]);
out:
    PQclear(r);
    if (rc) {
        pf_job_list_free(list, n);
        return rc;
    }
    *out = list;
    *count = n;
    return PF_OK;
}

static pf_err collect_one(struct pg *l, const char *sql, const struct params *p,
                          pf_job **out)
{
    pf_job **list = NULL;
    size_t n = 0;
    pf_err rc = collect(l, sql, p, &list, &n);

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

static pf_err pg_find_key(struct pf__ledger *ledger, const char *key, pf_job **out)
{
    struct params p = { .n = 0 };
    pf_err rc;

    p_text(&p, key);
    rc = collect_one((struct pg *)ledger, "SELECT " JOB_COLUMNS " FROM jobs WHERE key = $1 "
                     "AND state NOT IN ('failed', 'cancelled', 'rejected') ORDER BY id DESC "
                     "LIMIT 1", &p, out);
    return rc == PF_ENOENT ? PF_OK : rc;
}

static pf_err pg_get_id(struct pf__ledger *ledger, int64_t id, pf_job **out)
{
    struct params p = { .n = 0 };

    p_int(&p, id);
    return collect_one((struct pg *)ledger, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1",
                       &p, out);
}

static pf_err pg_get_request(struct pf__ledger *ledger, const char *request_id,
                             pf_job **out)
{
    struct params p = { .n = 0 };

    p_text(&p, request_id);
    return collect_one((struct pg *)ledger, "SELECT " JOB_COLUMNS " FROM jobs WHERE "
                       "request_id = $1 ORDER BY id DESC LIMIT 1", &p, out);
}

static pf_err pg_list(struct pf__ledger *ledger, int unfinished, size_t limit,
                      pf_job ***out, size_t *count)
{
    struct params p = { .n = 0 };

    if (limit)
        p_int(&p, (int64_t)limit);
    else
        p_text(&p, NULL);   /* LIMIT NULL: all of them */
    return collect((struct pg *)ledger, unfinished
        ? "SELECT " JOB_COLUMNS " FROM jobs WHERE state IN "
          "('submitting', 'in_queue', 'in_progress') OR (state = 'completed' AND "
          "outdir IS NOT NULL AND (outputs_known = 0 OR EXISTS (SELECT 1 FROM "
          "outputs WHERE job = jobs.id AND path IS NULL))) ORDER BY id DESC LIMIT $1::bigint"
        : "SELECT " JOB_COLUMNS " FROM jobs ORDER BY id DESC LIMIT $1::bigint", &p,
        out, count);
}

/* ---- writing ------------------------------------------------------------------ */

static int64_t now(void)
{
    return (int64_t)time(NULL);
}

static pf_err add_event(struct pg *l, int64_t id, const char *state, const char *detail)
{
    struct params p = { .n = 0 };

    p_int(&p, id);
    p_int(&p, now());
    p_text(&p, state);
    p_text(&p, detail);
    return run(l, "INSERT INTO events (job, at, state, detail) VALUES ($1, $2, $3, $4)",
               &p, 0, NULL, "cannot write to the ledger");
}

/* As in ledger_sqlite.c: the key is claimed in the statement that finds it
 * held, so two workers inserting at once are ordered by the unique index,
 * and the second sees the first's claim. */
static pf_err claim(struct pg *l, const pf_job *job, int replace, int64_t *holder)
{
    struct params p = { .n = 0 };
    PGresult *r = NULL;
    pf_err rc;
    int got;

    p_text(&p, job->key);
    p_int(&p, job->id);
    p_text(&p, replace ? "true" : "false");
    if ((rc = run(l, "INSERT INTO claims (key, job) VALUES ($1, $2) ON CONFLICT (key) DO "
                     "UPDATE SET job = excluded.job WHERE $3::boolean OR (SELECT state FROM "
                     "jobs WHERE id = claims.job) IN ('failed', 'cancelled', 'rejected') "
                     "RETURNING job", &p, 0, &r, "cannot write to the ledger")))
        return rc;
    got = PQntuples(r) == 1;
    PQclear(r);
    if (got)
        return PF_OK;
    p.n = 1;
    if ((rc = run(l, "SELECT job FROM claims WHERE key = $1", &p, 0, &r,
                  "cannot read the ledger")))
        return rc;
    *holder = PQntuples(r) == 1 ? num(r, 0, 0) : 0;
    PQclear(r);
    return PF_EEXIST;
}

static pf_err pg_insert(struct pf__ledger *ledger, pf_job *job, int replace,
                        int64_t *holder)
{
    struct pg *l = (struct pg *)ledger;
    const char *state = pf_job_state_name(job->state);
    struct params p = { .n = 0 };
    PGresult *r = NULL;
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    job->created = job->updated = now();
    p_text(&p, job->key);
    p_text(&p, job->provider);
    p_text(&p, job->model);
    p_text(&p, job->base_url);
    p_text(&p, job->body);
    p_text(&p, job->meta);
    p_text(&p, state);
    p_text(&p, job->outdir);
    p_int(&p, job->created);
    p_int(&p, job->updated);
    p_int(&p, job->unsent != 0);
    if ((rc = run(l, "INSERT INTO jobs (key, provider, model, base_url, body, meta, state, "
                     "outdir, created, updated, unsent) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                     "$8, $9, $10, $11) RETURNING id", &p, 0, &r,
                  "cannot write to the ledger")))
        return finish(l, rc);
    job->id = num(r, 0, 0);
    PQclear(r);
    if (!(rc = claim(l, job, replace, holder)))
        rc = add_event(l, job->id, state, NULL);
    if (rc)
        job->id = 0;
    return finish(l, rc);
}

#define RANK_SQL(col)                                                        \
    "(CASE " col " WHEN 'submitting' THEN 0 WHEN 'in_queue' THEN 1 "         \
    "WHEN 'in_progress' THEN 2 ELSE 3 END)"

static pf_err pg_update(struct pf__ledger *ledger, pf_job *job, const char *detail)
{
    struct pg *l = (struct pg *)ledger;
    const char *state = pf_job_state_name(job->state);
    struct params p = { .n = 0 };
    int rank = pf__ledger_rank(job->state);
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    /* The same two statements as ledger_sqlite.c: the event while the old
     * state can still be compared, then the state, forwards only. */
    p_int(&p, now());
    p_text(&p, state);
    p_text(&p, detail);
    p_int(&p, job->id);
    p_int(&p, rank);
    if ((rc = run(l, "INSERT INTO events (job, at, state, detail) SELECT id, $1::bigint, "
                     "$2::text, $3::text FROM jobs WHERE id = $4 AND state != $2 AND "
                     RANK_SQL("state") " <= $5::int AND " RANK_SQL("state") " < 3",
                  &p, 0, NULL, "cannot write to the ledger")))
        return finish(l, rc);
    p.n = 0;
    p_text(&p, state);
    p_text(&p, job->request_id);
    if (job->queue_position >= 0)
        p_int(&p, job->queue_position);
    else
        p_text(&p, NULL);
    p_text(&p, job->error);
    p_text(&p, job->meta);
    p_text(&p, job->outdir);
    p_int(&p, now());
    p_int(&p, job->id);
    p_int(&p, rank);
    if ((rc = run(l, "UPDATE jobs SET state = $1, request_id = COALESCE($2, request_id), "
                     "queue_position = $3::int, error = COALESCE($4, error), "
                     "meta = COALESCE($5, meta), outdir = COALESCE($6, outdir), "
                     "updated = $7 WHERE id = $8 AND (state = $1 OR (" RANK_SQL("state")
                     " <= $9::int AND " RANK_SQL("state") " < 3))", &p, 0, NULL,
                  "cannot write to the ledger")))
        return finish(l, rc);
    if ((rc = finish(l, PF_OK)))
        return rc;
    return pf__ledger_reload(&l->base, job);
}

static pf_err pg_set_outputs(struct pf__ledger *ledger, pf_job *job)
{
    struct pg *l = (struct pg *)ledger;
    struct params p;
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    for (size_t i = 0; i < job->noutputs && !rc; i++) {
        p.n = 0;
        p_int(&p, job->id);
        p_int(&p, (int64_t)i);
        p_text(&p, job->outputs[i].url);
        p_text(&p, pf__ledger_kind_text(job->outputs[i].pub.kind));
        rc = run(l, "INSERT INTO outputs (job, idx, url, kind) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT DO NOTHING", &p, 0, NULL, "cannot write to the ledger");
    }
    if (!rc) {
        p.n = 0;
        p_int(&p, now());
        p_int(&p, job->id);
        rc = run(l, "UPDATE jobs SET outputs_known = 1, updated = $1 WHERE id = $2", &p, 0,
                 NULL, "cannot write to the ledger");
    }
    if ((rc = finish(l, rc)))
        return rc;
    return pf__ledger_reload(&l->base, job);
}

static pf_err pg_refresh_urls(struct pf__ledger *ledger, pf_job *job)
{
    struct pg *l = (struct pg *)ledger;
    struct params p;
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    /* A file already downloaded keeps the URL it came from. */
    for (size_t i = 0; i < job->noutputs && !rc; i++) {
        p.n = 0;
        p_text(&p, job->outputs[i].url);
        p_int(&p, job->id);
        p_int(&p, (int64_t)i);
        rc = run(l, "UPDATE outputs SET url = $1 WHERE job = $2 AND idx = $3 AND "
                    "path IS NULL", &p, 0, NULL, "cannot write to the ledger");
    }
    if (!rc)
        rc = add_event(l, job->id, "urls_refreshed", NULL);
    if ((rc = finish(l, rc)))
        return rc;
    return pf__ledger_reload(&l->base, job);
}

static pf_err pg_output_done(struct pf__ledger *ledger, pf_job *job, size_t i)
{
    struct pg *l = (struct pg *)ledger;
    struct pf__job_output *o = &job->outputs[i];
    struct params p = { .n = 0 };
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    p_text(&p, o->path);
    p_int(&p, o->pub.size);
    p_text(&p, o->sha256);
    p_text(&p, o->worker);
    p_int(&p, job->id);
    p_int(&p, (int64_t)i);
    if (!(rc = run(l, "UPDATE outputs SET path = $1, size = $2, sha256 = $3, worker = $4 "
                      "WHERE job = $5 AND idx = $6", &p, 0, NULL,
                   "cannot write to the ledger")))
        rc = add_event(l, job->id, "downloaded", o->path);
    return finish(l, rc);
}

/* ---- the ledger as a whole ---------------------------------------------------- */

static pf_err pg_counts(struct pf__ledger *ledger, cJSON *into)
{
    struct pg *l = (struct pg *)ledger;
    cJSON *states = cJSON_AddObjectToObject(into, "states");
    PGresult *r = NULL;
    double total = 0;
    pf_err rc;

    if (!states)
        return pf__error(l->ctx, PF_ENOMEM, "out of memory");
    if ((rc = run(l, "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state", NULL,
                  1, &r, "cannot read the ledger")))
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON_AddNumberToObject(states, PQgetvalue(r, i, 0), (double)num(r, i, 1));
        total += (double)num(r, i, 1);
    }
    PQclear(r);
    cJSON_AddNumberToObject(into, "jobs", total);
    if ((rc = run(l, "SELECT COUNT(*), COUNT(path), (SELECT COUNT(*) FROM leases WHERE "
                     "expires > clock_timestamp()) FROM outputs", NULL, 1, &r,
                  "cannot read the ledger")))
        return rc;
    cJSON_AddNumberToObject(into, "outputs", (double)num(r, 0, 0));
    cJSON_AddNumberToObject(into, "downloaded", (double)num(r, 0, 1));
    cJSON_AddNumberToObject(into, "leases", (double)num(r, 0, 2));
    PQclear(r);
    return PF_OK;
}

static const char *pg_id(struct pf__ledger *ledger)
{
    return ((struct pg *)ledger)->id;
}

static pf_err pg_import_job(struct pf__ledger *ledger, const pf_job *job,
                            const char *origin, int *added)
{
    struct pg *l = (struct pg *)ledger;
    struct params p = { .n = 0 };
    PGresult *r = NULL;
    int64_t id = 0, none;
    pf_err rc;

    *added = 0;
    if ((rc = begin(l)))
        return rc;
    p_text(&p, job->key);
    p_text(&p, job->provider);
    p_text(&p, job->model);
    p_text(&p, job->base_url);
    p_text(&p, job->body);
    p_text(&p, job->meta);
    p_text(&p, pf_job_state_name(job->state));
    p_text(&p, job->request_id);
    if (job->queue_position >= 0)
        p_int(&p, job->queue_position);
    else
        p_text(&p, NULL);
    p_text(&p, job->error);
    p_text(&p, job->outdir);
    p_int(&p, job->outputs_known);
    p_int(&p, job->created);
    p_int(&p, job->updated);
    p_text(&p, origin);
    if ((rc = run(l, "INSERT INTO jobs (key, provider, model, base_url, body, meta, state, "
                     "request_id, queue_position, error, outdir, outputs_known, created, "
                     "updated, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                     "$12, $13, $14, $15) ON CONFLICT (origin) DO NOTHING RETURNING id", &p,
                  0, &r, "cannot write to the ledger")))
        return finish(l, rc);
    if (PQntuples(r) == 1)
        id = num(r, 0, 0);
    PQclear(r);
    if (!id)
        return finish(l, PF_OK);
    for (size_t i = 0; i < job->noutputs && !rc; i++) {
        const struct pf__job_output *o = &job->outputs[i];

        p.n = 0;
        p_int(&p, id);
        p_int(&p, (int64_t)i);
        p_text(&p, o->url);
        p_text(&p, pf__ledger_kind_text(o->pub.kind));
        p_text(&p, o->path);
        if (o->pub.size >= 0)
            p_int(&p, o->pub.size);
        else
            p_text(&p, NULL);
        p_text(&p, o->sha256);
        p_text(&p, o->worker);
        rc = run(l, "INSERT INTO outputs (job, idx, url, kind, path, size, sha256, worker) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", &p, 0, NULL,
                 "cannot write to the ledger");
    }
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

static pf_err pg_set_lease(struct pf__ledger *ledger, int seconds)
{
    struct params p = { .n = 0 };

    p_int(&p, seconds);
    return run((struct pg *)ledger, "UPDATE settings SET value = $1 WHERE name = 'lease_s'",
               &p, 0, NULL, "cannot write to the ledger");
}

/* As ledger_sqlite.c's: only a job still submitting changes, and its event
 * is written only when it did. */
static pf_err pg_set_unsent(struct pf__ledger *ledger, pf_job *job, int unsent,
                            const char *detail)
{
    struct pg *l = (struct pg *)ledger;
    struct params p = { .n = 0 };
    PGresult *r = NULL;
    int changed;
    pf_err rc;

    if ((rc = begin(l)))
        return rc;
    p_int(&p, unsent != 0);
    p_int(&p, now());
    p_int(&p, job->id);
    if ((rc = run(l, "UPDATE jobs SET unsent = $1, updated = $2 WHERE id = $3 AND "
                     "state = 'submitting'", &p, 0, &r, "cannot write to the ledger")))
        return finish(l, rc);
    changed = atoi(PQcmdTuples(r)) == 1;
    PQclear(r);
    if (changed && detail)
        rc = add_event(l, job->id, "submitting", detail);
    if ((rc = finish(l, rc)))
        return rc;
    return pf__ledger_reload(&l->base, job);
}

static const struct pf__ledger_ops pg_ops = {
    "postgresql", pg_close, pg_lock, pg_unlock, pg_holder, pg_find_key, pg_insert,
    pg_update, pg_set_outputs, pg_refresh_urls, pg_output_done, pg_get_id,
    pg_get_request, pg_list, pg_counts, pg_id, pg_import_job, pg_set_lease,
    pg_set_unsent,
};
