/*
 * The job machinery without a network: the ledger (states only move
 * forwards, outputs keep their download facts, concurrent openers, the
 * private file), its cross-process locks (held until the holder dies, even
 * by SIGKILL), output file names made safe, and the public API's refusals.
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
    ASSERT_EQ(pf__ledger_open(ctx, path, &l), PF_OK);
    ASSERT_EQ(pf__ledger_open(ctx, path, &l2), PF_OK);  /* two at once */
    snprintf(path, sizeof path, "%s/state/deeper/jobs.db", dir);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/state", dir);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0700);

    job = new_job("k1");
    ASSERT_EQ(pf__ledger_insert(l, job), PF_OK);
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
    ASSERT_EQ(pf__ledger_insert(l, other), PF_OK);
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
    ASSERT_EQ(pf__ledger_open(ctx, dir, &l), PF_OK);
    ASSERT_EQ(pipe(pipefd), 0);
    if ((pid = fork()) == 0) {
        pf_ctx *cctx = pf_ctx_new();
        struct pf__ledger *cl = NULL;

        struct pf__ledger *other = NULL;
        char path[4096];
        int fd;

        if (pf__ledger_open(cctx, dir, &cl) || pf__ledger_lock(cl, "submit abc", 1))
            _exit(1);
        /* Closing any other descriptor of jobs.lock (a second ledger
         * handle, anyone's open/close) dropped every POSIX record lock
         * the process held on it; open-file-description locks stay. */
        snprintf(path, sizeof path, "%s/jobs.lock", dir);
        if ((fd = open(path, O_RDONLY)) < 0)
            _exit(1);
        close(fd);
        if (pf__ledger_open(cctx, dir, &other))
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
    /* Two handles in one process exclude each other too (two threads). */
    {
        struct pf__ledger *l2 = NULL;

        ASSERT_EQ(pf__ledger_open(ctx, dir, &l2), PF_OK);
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
    /* The kernel released it with the process. */
    ASSERT_EQ(pf__ledger_lock(l, "submit abc", 0), PF_OK);
    pf__ledger_unlock(l, "submit abc");
    close(pipefd[0]);
    close(pipefd[1]);
    pf__ledger_close(l);
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
    memset(&o, 0, sizeof o);
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
    RUN(output_names);
    RUN(refusals);
    return 0;
}
