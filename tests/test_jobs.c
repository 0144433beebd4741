/*
 * The job machinery without a network: the ledger (states only move
 * forwards, outputs keep their download facts, concurrent openers, the
 * private file), its cross-process locks (held until the holder dies, even
 * by SIGKILL), output file names made safe, and the public API's refusals.
 *
 * With PREFLIGHT_LEDGER set (ctest's jobs_pg: a PostgreSQL server of its
 * own) every ledger test runs on that backend instead; there a lock is a
 * lease, which outlives a killed holder until PREFLIGHT_LEASE_S.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "api/api.h"
#include "ledger/ledger.h"

static char dir[256];

/* The ledger under test: PREFLIGHT_LEDGER's, else DIR/jobs.db. */
static const char *pg(void)
{
    const char *url = getenv("PREFLIGHT_LEDGER");

    return url && strncmp(url, "postgres", 8) == 0 ? url : NULL;
}

static pf_err open_ledger(pf_ctx *ctx, const char *d, struct pf__ledger **l)
{
    return pf__ledger_open_url(ctx, NULL, d, l);
}

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/pf-test-jobs.XXXXXX");
    ASSERT(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[300];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

static pf_job *new_job(const char *key)
{
    pf_job *job = pf__job_new();

    ASSERT(job);
    snprintf(job->key, sizeof job->key, "%s", key);
    ASSERT_EQ(pf__job_set(&job->provider, "runcomfy"), 0);
    ASSERT_EQ(pf__job_set(&job->model, "m/x"), 0);
    ASSERT_EQ(pf__job_set(&job->base_url, "https://example.invalid"), 0);
    ASSERT_EQ(pf__job_set(&job->body, "{}"), 0);
    job->state = PF_JOB_SUBMITTING;
    return job;
}

static void ledger_states(void)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__ledger *l = NULL, *l2 = NULL;
    pf_job *job, *found = NULL, *other = NULL;
    struct stat st;
    char path[300];

    make_dir();
    snprintf(path, sizeof path, "%s/state/deeper", dir);
    ASSERT_EQ(open_ledger(ctx, path, &l), PF_OK);
    ASSERT_EQ(open_ledger(ctx, path, &l2), PF_OK);  /* two at once */
    if (!pg()) {
        snprintf(path, sizeof path, "%s/state/deeper/jobs.db", dir);
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 0777, 0600);
        snprintf(path, sizeof path, "%s/state", dir);
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 0777, 0700);
    }
    ASSERT_STR_EQ(pf__ledger_backend(l), pg() ? "postgresql" : "sqlite");

    job = new_job("k1");
    ASSERT_EQ(pf__ledger_insert(l, job, 0, NULL), PF_OK);
    ASSERT(job->id > 0);
    ASSERT_EQ(pf__ledger_find_key(l2, "k1", &found), PF_OK);
    ASSERT(found);
    ASSERT_EQ(found->id, job->id);
    ASSERT_EQ(found->state, PF_JOB_SUBMITTING);

    /* Forwards: submitted, queued at 3, running. */
    ASSERT_EQ(pf__job_set(&job->request_id, "req-1"), 0);
    job->state = PF_JOB_QUEUED;
    job->queue_position = 3;
    ASSERT_EQ(pf__ledger_update(l, job, NULL), PF_OK);
    ASSERT_EQ(job->queue_position, 3);
    job->state = PF_JOB_RUNNING;
    job->queue_position = -1;
    ASSERT_EQ(pf__ledger_update(l, job, NULL), PF_OK);
    ASSERT_EQ(job->state, PF_JOB_RUNNING);
    ASSERT_EQ(job->queue_position, -1);

    /* A stale process reporting "queued" cannot move it back... */
    found->state = PF_JOB_QUEUED;
    found->queue_position = 1;
    ASSERT_EQ(pf__ledger_update(l2, found, NULL), PF_OK);
    ASSERT_EQ(found->state, PF_JOB_RUNNING);
    ASSERT_STR_EQ(found->request_id, "req-1");
    /* ...and a final state stays. */
    job->state = PF_JOB_COMPLETED;
    ASSERT_EQ(pf__job_add_output(job, "https://cdn.invalid/a.mp4?X-Amz-Signature=s", PF_MEDIA_VIDEO), PF_OK);
    ASSERT_STR_EQ(job->outputs[0].pub.url, "https://cdn.invalid/a.mp4?...");
    ASSERT_EQ(pf__ledger_set_outputs(l, job), PF_OK);
    job->state = PF_JOB_COMPLETED;
    ASSERT_EQ(pf__ledger_update(l, job, NULL), PF_OK);
    found->state = PF_JOB_CANCELLED;
    ASSERT_EQ(pf__ledger_update(l2, found, NULL), PF_OK);
    ASSERT_EQ(found->state, PF_JOB_COMPLETED);
    ASSERT_EQ(found->noutputs, 1);
    ASSERT_STR_EQ(found->outputs[0].url, "https://cdn.invalid/a.mp4?X-Amz-Signature=s");

    /* Download facts survive the list being recorded again. */
    ASSERT_EQ(pf__job_set(&job->outputs[0].path, "/tmp/a.mp4"), 0);
    job->outputs[0].pub.size = 42;
    ASSERT_EQ(pf__ledger_output_done(l, job, 0), PF_OK);
    ASSERT_EQ(pf__ledger_set_outputs(l2, found), PF_OK);
    ASSERT_STR_EQ(found->outputs[0].pub.path, "/tmp/a.mp4");
    ASSERT_EQ(found->outputs[0].pub.size, 42);

    /* Fresh URLs (presigned ones expire) replace only those of outputs not
     * downloaded yet: a file keeps the URL it came from. */
    pf__job_clear_outputs(found);
    ASSERT_EQ(pf__job_add_output(found, "https://cdn.invalid/a.mp4?X-Amz-Signature=t",
                                 PF_MEDIA_VIDEO), PF_OK);
    ASSERT_EQ(pf__ledger_refresh_urls(l2, found), PF_OK);
    ASSERT_STR_EQ(found->outputs[0].url, "https://cdn.invalid/a.mp4?X-Amz-Signature=s");
    ASSERT_STR_EQ(found->outputs[0].pub.path, "/tmp/a.mp4");
    ASSERT_EQ(pf__job_add_output(job, "https://cdn.invalid/b.mp4?X-Amz-Signature=s",
                                 PF_MEDIA_VIDEO), PF_OK);
    ASSERT_EQ(pf__ledger_set_outputs(l, job), PF_OK);
    ASSERT_EQ(job->noutputs, 2);
    pf__job_clear_outputs(job);
    ASSERT_EQ(pf__job_add_output(job, "https://cdn.invalid/a.mp4?X-Amz-Signature=u",
                                 PF_MEDIA_VIDEO), PF_OK);
    ASSERT_EQ(pf__job_add_output(job, "https://cdn.invalid/b.mp4?X-Amz-Signature=u",
                                 PF_MEDIA_VIDEO), PF_OK);
    ASSERT_EQ(pf__ledger_refresh_urls(l, job), PF_OK);
    ASSERT_STR_EQ(job->outputs[0].url, "https://cdn.invalid/a.mp4?X-Amz-Signature=s");
    ASSERT_STR_EQ(job->outputs[1].url, "https://cdn.invalid/b.mp4?X-Amz-Signature=u");
    ASSERT_STR_EQ(job->outputs[0].pub.path, "/tmp/a.mp4");
    ASSERT(!job->outputs[1].pub.path);

    /* Failed, cancelled and rejected jobs do not hold their key. */
    other = new_job("k2");
    ASSERT_EQ(pf__ledger_insert(l, other, 0, NULL), PF_OK);
    other->state = PF_JOB_REJECTED;
    ASSERT_EQ(pf__ledger_update(l, other, "no"), PF_OK);
    pf_job_free(found);
    ASSERT_EQ(pf__ledger_find_key(l, "k2", &found), PF_OK);
    ASSERT(!found);

    /* By request id, by number, and lists. */
    ASSERT_EQ(pf__ledger_get_request(l, "req-1", &found), PF_OK);
    ASSERT_EQ(found->id, job->id);
    pf_job_free(found);
    ASSERT_EQ(pf__ledger_get_id(l, 9999, &found), PF_ENOENT);
    {
        pf_job **list = NULL;
        size_t n = 0;

        ASSERT_EQ(pf__ledger_list(l, 0, 0, &list, &n), PF_OK);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(list[0]->id, other->id);      /* newest first */
        pf_job_list_free(list, n);
        ASSERT_EQ(pf__ledger_list(l, 1, 0, &list, &n), PF_OK);
        ASSERT_EQ(n, 0);
        pf_job_list_free(list, n);
    }
    pf_job_free(other);
    pf_job_free(job);
    pf__ledger_close(l);
    pf__ledger_close(l2);
    pf_ctx_free(ctx);
    remove_dir();
}

/* A child takes a lock and either waits to be killed or exits. */
static void locks(void)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__ledger *l = NULL;
    int pipefd[2], status;
    pid_t pid;
    char c;

    make_dir();
    ASSERT_EQ(open_ledger(ctx, dir, &l), PF_OK);
    ASSERT_EQ(pipe(pipefd), 0);
    if ((pid = fork()) == 0) {
        pf_ctx *cctx = pf_ctx_new();
        struct pf__ledger *cl = NULL, *other = NULL;
        char path[4096];
        int fd;

        if (open_ledger(cctx, dir, &cl) || pf__ledger_lock(cl, "submit abc", 1))
            _exit(1);
        /* Closing any other descriptor of jobs.lock (a second ledger
         * handle, anyone's open/close) dropped every POSIX record lock
         * the process held on it; open-file-description locks stay.
         * (PostgreSQL's locks are leases: no file.) */
        snprintf(path, sizeof path, "%s/jobs.lock", dir);
        if (!pg()) {
            if ((fd = open(path, O_RDONLY)) < 0)
                _exit(1);
            close(fd);
        }
        if (open_ledger(cctx, dir, &other))
            _exit(1);
        pf__ledger_close(other);
        if (write(pipefd[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    ASSERT_EQ(read(pipefd[0], &c, 1), 1);
    ASSERT_EQ(pf__ledger_lock(l, "submit abc", 0), PF_EEXIST);
    ASSERT_EQ(pf__ledger_lock(l, "submit other", 0), PF_OK);
    pf__ledger_unlock(l, "submit other");
    {
        char who[300];

        pf__ledger_holder(l, "submit abc", who, sizeof who);
        ASSERT_CONTAINS(who, pg() ? "lease ends in" : "on this machine");
    }
    /* Two handles in one process exclude each other too (two threads). */
    {
        struct pf__ledger *l2 = NULL;

        ASSERT_EQ(open_ledger(ctx, dir, &l2), PF_OK);
        ASSERT_EQ(pf__ledger_lock(l, "submit two", 0), PF_OK);
        ASSERT_EQ(pf__ledger_lock(l2, "submit two", 0), PF_EEXIST);
        pf__ledger_unlock(l, "submit two");
        ASSERT_EQ(pf__ledger_lock(l2, "submit two", 0), PF_OK);
        pf__ledger_close(l2);
        ASSERT_EQ(pf__ledger_lock(l, "submit two", 0), PF_OK);
        pf__ledger_unlock(l, "submit two");
    }
    kill(pid, SIGKILL);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (pg()) {
        /* A lease outlives its dead holder until it expires (a machine
         * that vanished says nothing), then anyone may take it. */
        ASSERT_EQ(pf__ledger_lock(l, "submit abc", 0), PF_EEXIST);
        usleep(1500 * 1000);
    }
    /* The kernel released it with the process (SQLite), or it expired. */
    ASSERT_EQ(pf__ledger_lock(l, "submit abc", 0), PF_OK);
    pf__ledger_unlock(l, "submit abc");
    close(pipefd[0]);
    close(pipefd[1]);
    pf__ledger_close(l);
    pf_ctx_free(ctx);
    remove_dir();
}

/* A key is claimed by the insert itself: a second handle recording the same
 * key gets the first job back (PF_EEXIST), not a second job; --force
 * replaces it; a failed job's key is free again. */
static void claims(void)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__ledger *l = NULL, *l2 = NULL;
    pf_job *a = new_job("claim-key"), *b = new_job("claim-key"), *c = new_job("claim-key");
    int64_t holder = 0;

    make_dir();
    ASSERT_EQ(open_ledger(ctx, dir, &l), PF_OK);
    ASSERT_EQ(open_ledger(ctx, dir, &l2), PF_OK);
    ASSERT_EQ(pf__ledger_insert(l, a, 0, NULL), PF_OK);
    ASSERT_EQ(pf__ledger_insert(l2, b, 0, &holder), PF_EEXIST);
    ASSERT_EQ(holder, a->id);
    ASSERT_EQ(b->id, 0);
    ASSERT_EQ(pf__ledger_insert(l2, b, 1, &holder), PF_OK);      /* --force */
    ASSERT(b->id > a->id);
    b->state = PF_JOB_FAILED;
    ASSERT_EQ(pf__ledger_update(l2, b, "failed"), PF_OK);
    ASSERT_EQ(pf__ledger_insert(l, c, 0, &holder), PF_OK);        /* free again */
    pf_job_free(a);
    pf_job_free(b);
    pf_job_free(c);
    pf__ledger_close(l);
    pf__ledger_close(l2);
    pf_ctx_free(ctx);
    remove_dir();
}

/* Every job of a local ledger moves once, with what was downloaded, and
 * its key stays claimed; a second import adds nothing. */
static void import(void)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__ledger *src = NULL, *l = NULL;
    pf_job *a = new_job("import-a"), *b = new_job("import-b"), *again = new_job("import-a");
    pf_job **list = NULL;
    size_t n = 0, imported = 0, skipped = 0, before;
    char url[300], sub[300];
    int64_t holder = 0;

    make_dir();
    snprintf(sub, sizeof sub, "%s/local", dir);
    snprintf(url, sizeof url, "sqlite:%s/local/jobs.db", dir);
    ASSERT_EQ(pf__ledger_open_url(ctx, url, NULL, &src), PF_OK);
    ASSERT_STR_EQ(pf__ledger_backend(src), "sqlite");
    ASSERT_EQ(pf__ledger_insert(src, a, 0, NULL), PF_OK);
    ASSERT_EQ(pf__job_set(&a->request_id, "imp-1"), 0);
    a->state = PF_JOB_QUEUED;
    ASSERT_EQ(pf__ledger_update(src, a, NULL), PF_OK);
    a->state = PF_JOB_COMPLETED;
    ASSERT_EQ(pf__job_add_output(a, "https://cdn.invalid/o.png", PF_MEDIA_IMAGE), PF_OK);
    ASSERT_EQ(pf__ledger_set_outputs(src, a), PF_OK);
    a->state = PF_JOB_COMPLETED;
    ASSERT_EQ(pf__ledger_update(src, a, NULL), PF_OK);
    ASSERT_EQ(pf__job_set(&a->outputs[0].path, "/tmp/o.png"), 0);
    a->outputs[0].pub.size = 7;
    ASSERT_EQ(pf__ledger_output_done(src, a, 0), PF_OK);
    ASSERT_EQ(pf__ledger_insert(src, b, 0, NULL), PF_OK);

    snprintf(sub, sizeof sub, "%s/shared", dir);
    ASSERT_EQ(open_ledger(ctx, sub, &l), PF_OK);
    ASSERT_EQ(pf__ledger_list(l, 0, 0, &list, &before), PF_OK);
    pf_job_list_free(list, before);
    ASSERT_EQ(pf__ledger_import(l, src, &imported, &skipped), PF_OK);
    ASSERT_EQ(imported, 2);
    ASSERT_EQ(skipped, 0);
    ASSERT_EQ(pf__ledger_import(l, src, &imported, &skipped), PF_OK);
    ASSERT_EQ(imported, 0);
    ASSERT_EQ(skipped, 2);
    ASSERT_EQ(pf__ledger_list(l, 0, 0, &list, &n), PF_OK);
    ASSERT_EQ(n, before + 2);
    pf_job_list_free(list, n);
    pf_job_free(b);
    ASSERT_EQ(pf__ledger_get_request(l, "imp-1", &b), PF_OK);
    ASSERT_EQ(b->state, PF_JOB_COMPLETED);
    ASSERT_EQ(b->noutputs, 1);
    ASSERT_STR_EQ(b->outputs[0].pub.path, "/tmp/o.png");
    ASSERT_EQ(b->outputs[0].pub.size, 7);
    ASSERT(b->outputs[0].worker);
    /* The imported job holds its request: no second submission. */
    ASSERT_EQ(pf__ledger_insert(l, again, 0, &holder), PF_EEXIST);
    ASSERT_EQ(holder, b->id);
    pf_job_free(a);
    pf_job_free(b);
    pf_job_free(again);
    pf__ledger_close(l);
    pf__ledger_close(src);
    pf_ctx_free(ctx);
    remove_dir();
}

/* A password never comes from a URL; a schema newer than ours is refused
 * and left as it is. */
static void ledger_urls(void)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__ledger *l = (struct pf__ledger *)1;
    char url[300], cmd[600];

    ASSERT_EQ(pf__ledger_open_url(ctx, "postgresql://u:hunter2@127.0.0.1:9/db", NULL, &l),
              PF_EUSAGE);
    ASSERT(!l);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "carries a password");
    ASSERT(!strstr(pf_ctx_error(ctx), "hunter2"));
    ASSERT_EQ(pf__ledger_open_url(ctx, "postgres:///db?host=/tmp&password=hunter2", NULL,
                                  &l), PF_EUSAGE);
    ASSERT(!strstr(pf_ctx_error(ctx), "hunter2"));
    ASSERT_EQ(pf__ledger_open_url(ctx, "postgresql://h/db?sslmode=require&sslpassword=k3y",
                                  NULL, &l), PF_EUSAGE);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "carries a password");
    ASSERT_EQ(pf__ledger_open_url(ctx, "mysql://x/y", NULL, &l), PF_EUSAGE);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "not a ledger URL");
    /* No server there: a clear error, no crash. */
    ASSERT_EQ(pf__ledger_open_url(ctx, "postgresql:///db?host=/nonexistent-dir&connect_timeout=2",
                                  NULL, &l), PF_ENET);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "cannot connect to the ledger");

    make_dir();
    snprintf(url, sizeof url, "sqlite:%s/new.db", dir);
    ASSERT_EQ(pf__ledger_open_url(ctx, url, NULL, &l), PF_OK);
    pf__ledger_close(l);
    snprintf(cmd, sizeof cmd, "sqlite3 '%s/new.db' 'UPDATE preflight_schema SET version = 99'",
             dir);
    ASSERT_EQ(system(cmd), 0);
    ASSERT_EQ(pf__ledger_open_url(ctx, url, NULL, &l), PF_EUSAGE);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "schema is version 99, newer than this preflight's (2)");
    snprintf(cmd, sizeof cmd, "test \"$(sqlite3 '%s/new.db' 'SELECT version FROM "
             "preflight_schema')\" = 99", dir);
    ASSERT_EQ(system(cmd), 0);
    pf_ctx_free(ctx);
    remove_dir();
}

static void output_names(void)
{
    static const struct { const char *url, *name; } cases[] = {
        { "https://cdn.example.com/out/video.mp4", "video.mp4" },
        { "https://cdn.example.com/out/video.mp4?X-Amz-Signature=abc&x=../../y", "video.mp4" },
        { "https://cdn.example.com/a/../../etc/passwd", "passwd" },
        { "https://cdn.example.com/x/..%2F..%2Fetc%2Fpasswd", "_.._etc_passwd" },
        { "https://cdn.example.com/x/%2e%2e", "output" },
        { "https://cdn.example.com/x/.hidden", "hidden" },
        { "https://cdn.example.com/x/-rf", "rf" },
        { "https://cdn.example.com/", "output" },
        { "https://cdn.example.com", "output" },
        { "https://cdn.example.com/a%20b%00c.png", "a_b_c.png" },
        { "https://cdn.example.com/caf%C3%A9.jpg", "caf__.jpg" },
        { "https://cdn.example.com/x/file.mp4#frag", "file.mp4" },
    };
    char buf[128], longurl[600];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pf__output_name(cases[i].url, buf, sizeof buf);
        ASSERT_STR_EQ(buf, cases[i].name);
    }
    snprintf(longurl, sizeof longurl, "https://x.invalid/%0400d.mp4", 7);
    pf__output_name(longurl, buf, sizeof buf);
    ASSERT_INT(strlen(buf), <=, 100);
    ASSERT(!strchr(buf, '/'));
}

static void refusals(void)
{
    pf_ctx *ctx = pf_ctx_new();
    pf_jobs *jobs = NULL;
    pf_jobs_options o;
    pf_job *job = (pf_job *)1;

    make_dir();
    pf_jobs_options_init(&o);
    o.state_dir = dir;
    o.base_url = "ftp://example.invalid";
    ASSERT_EQ(pf_jobs_open(ctx, &o, &jobs), PF_EUSAGE);
    ASSERT(!jobs);
    o.base_url = "http://127.0.0.1:9/";
    ASSERT_EQ(pf_jobs_open(ctx, &o, &jobs), PF_OK);
    ASSERT_EQ(pf_jobs_get(jobs, "nope", &job), PF_ENOENT);
    ASSERT(!job);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "no job 'nope'");
    ASSERT_EQ(pf_jobs_submit(jobs, NULL, NULL, NULL, &job), PF_EUSAGE);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "does not pass its check");
    ASSERT_STR_EQ(pf_job_state_name(PF_JOB_UNKNOWN), "outcome_unknown");
    ASSERT(pf_job_state_is_final(PF_JOB_REJECTED));
    ASSERT(!pf_job_state_is_final(PF_JOB_RUNNING));
    pf_jobs_close(jobs);
    pf_jobs_close(NULL);
    pf_job_free(NULL);
    pf_ctx_free(ctx);
    remove_dir();
}

int main(void)
{
    RUN(ledger_states);
    RUN(locks);
    RUN(claims);
    RUN(import);
    RUN(ledger_urls);
    RUN(output_names);
    RUN(refusals);
    return 0;
}
