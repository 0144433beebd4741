/*
 * Downloading a job's outputs.
 *
 * Each output streams into DIR/.preflight-JOB-N.part (constant memory),
 * which survives an interrupted transfer so the next attempt asks only for
 * the rest with a Range request. A complete file is probed before it gets
 * its name: the API's "video" must be a video, and a truncated one fails
 * the probe. Names come from the URL but are made safe here, since a URL
 * is whatever the API's answer says: no directory part, no leading dot, no
 * byte outside [A-Za-z0-9._-]. An existing file is never replaced without
 * force, and the final link(2) makes that check atomic.
 *
 * The token is not sent: output URLs are public or presigned, and may be
 * on any host.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"

#define PF__NAME_MAX 100

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

void pf__output_name(const char *url, char *buf, size_t size)
{
    const char *host = strstr(url, "://"), *path, *end, *seg;
    char raw[512], clean[PF__NAME_MAX + 1];
    size_t n = 0, m = 0, start = 0;

    host = host ? host + 3 : url;
    path = host + strcspn(host, "/?#");
    end = path + strcspn(path, "?#");
    seg = end;
    while (seg > path && seg[-1] != '/')
        seg--;
    /* Percent-decoding first, so "%2e%2e%2f" is seen as the "../" it is. */
    for (const char *p = seg; p < end && n + 1 < sizeof raw; p++) {
        if (*p == '%' && p + 2 < end && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            raw[n++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        } else {
            raw[n++] = *p;
        }
    }
    raw[n] = '\0';
    for (size_t i = 0; i < n && m < PF__NAME_MAX; i++) {
        char c = raw[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';

        clean[m++] = ok ? c : '_';
    }
    clean[m] = '\0';
    while (clean[start] == '.' || clean[start] == '-')
        start++;
    if (!clean[start] || strspn(clean + start, "._-") == strlen(clean + start))
        pf__strlcpy(buf, "output", size);
    else
        pf__strlcpy(buf, clean + start, size);
}

/* The extension after the last dot of a name: 1 to 5 letters or digits,
 * "" when there is none. */
static const char *extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    size_t n;

    if (!dot || dot == name)
        return "";
    n = strlen(dot + 1);
    if (n < 1 || n > 5 || strspn(dot + 1, "abcdefghijklmnopqrstuvwxyz"
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n)
        return "";
    return dot + 1;
}

static const char *extension_for(const char *format)
{
    static const struct { const char *format, *ext; } map[] = {
        { "jpeg", "jpg" }, { "png", "png" }, { "webp", "webp" }, { "gif", "gif" },
        { "bmp", "bmp" }, { "tiff", "tiff" }, { "mp4", "mp4" }, { "mov", "mov" },
        { "webm", "webm" }, { "matroska", "mkv" },
    };

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(format, map[i].format) == 0)
            return map[i].ext;
    return "bin";
}

/* Names for every output: the URL's, made unique among the job's outputs
 * by a "-N" before the extension. */
static pf_err plan_names(pf_ctx *ctx, const pf_job *job, char (*names)[PF__NAME_MAX + 16])
{
    for (size_t i = 0; i < job->noutputs; i++) {
        char base[PF__NAME_MAX + 1];

        pf__output_name(job->outputs[i].url, base, sizeof base);
        snprintf(names[i], PF__NAME_MAX + 16, "%s", base);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(names[j], names[i]) == 0) {
                const char *ext = extension(base);
                int stem = (int)(strlen(base) - (*ext ? strlen(ext) + 1 : 0));

                snprintf(names[i], PF__NAME_MAX + 16, "%.*s-%zu%s%s", stem, base, i + 1,
                         *ext ? "." : "", ext);
                break;
            }
        }
    }
    (void)ctx;
    return PF_OK;
}

struct transfer {
    pf_jobs *jobs;
    const pf_job *job;
    pf_job_progress_fn fn;
    void *userdata;
    int64_t started, from;
    size_t index;
    int refused;                /* the URL was refused the way an expired
                                 * presigned URL is */
};

static int on_progress(void *ud, int64_t up_done, int64_t up_total, int64_t down_done,
                       int64_t down_total)
{
    struct transfer *t = ud;
    pf_job_progress pr;

    (void)up_done;
    (void)up_total;
    if (t->fn) {
        memset(&pr, 0, sizeof pr);
        pr.state = t->job->state;
        pr.queue_position = -1;
        pr.elapsed = (double)(pf__now_ms() - t->started) / 1000.0;
        pr.downloading = 1;
        pr.output = t->index;
        pr.outputs = t->job->noutputs;
        pr.bytes = t->from + down_done;
        pr.total = down_total >= 0 ? t->from + down_total : -1;
        t->fn(t->userdata, t->job, &pr);
    }
    return t->jobs->ctx->interrupted;
}

/* A server that ignored the Range header sent the whole body after the
 * bytes already kept: move it down over them. */
static int drop_prefix(int fd, int64_t prefix)
{
    char buf[65536];
    int64_t end = lseek(fd, 0, SEEK_END), off = 0;

    if (end < prefix)
        return -1;
    while (prefix + off < end) {
        ssize_t got = pread(fd, buf, sizeof buf, prefix + off);

        if (got <= 0 || pwrite(fd, buf, (size_t)got, off) != got)
            return -1;
        off += got;
    }
    return ftruncate(fd, end - prefix);
}

/* Fetches one output into its .part file, resuming what an earlier attempt
 * left there. On success the file holds the whole body. */
static pf_err fetch(struct pf_jobs *jobs, struct transfer *t, const char *url,
                    const char *part, int64_t *size)
{
    struct pf__http_request req;
    struct pf__http_reply reply = { 0 };
    struct pf__http *h;
    char name[1024];
    int64_t from, end, want;
    int fd, restarted = 0;
    pf_err rc;

    pf__redact_url(name, sizeof name, url);
    if ((rc = pf__api_http(jobs, &h)))
        return rc;
    /* O_NOFOLLOW: the output directory may be shared, and a symlink
     * planted under the .part name must not make us write elsewhere. */
    if ((fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
        return pf__error(jobs->ctx, errno == ENOSPC ? PF_ENOSPC : PF_EIO, "%s: %s", part,
                         strerror(errno));
again:
    from = lseek(fd, 0, SEEK_END);
    if (from > 0)
        pf__log(jobs->ctx, "%s: resuming at byte %lld", name, (long long)from);
    t->from = from;
    pf__http_request_init(&req);
    req.url = url;
    req.sink_fd = fd;
    req.range_from = from;
    req.progress = on_progress;
    req.progress_ud = t;
    pf__http_reply_free(&reply);
    rc = pf__http_request(h, &req, &reply);
    if (reply.status == 416 && from > 0 && !restarted) {
        /* Asked past the end: either the file was already whole, or what
         * is kept is not a prefix of what is served now. */
        if (reply.range_total == from) {
            rc = PF_OK;
            pf__clear_error(jobs->ctx);
            goto done;
        }
        restarted = 1;
        if (ftruncate(fd, 0) == 0)
            goto again;
    }
    if (rc) {
        /* A refusal (404, an expired link) leaves nothing worth resuming. */
        if (rc == PF_EHTTP || rc == PF_EAUTH)
            unlink(part);
        /* Expired presigned URLs say so in several ways: S3 and CloudFront
         * 403, GCS 400 ExpiredToken, stores that drop the object 404 or
         * 410. */
        t->refused = rc == PF_EAUTH || reply.status == 401 || reply.status == 403 ||
                     reply.status == 404 || reply.status == 410;
        goto out;
    }
    if (from > 0 && reply.status == 200) {
        pf__log(jobs->ctx, "%s: Range ignored, the whole body came again", name);
        if (drop_prefix(fd, from) != 0) {
            rc = pf__error(jobs->ctx, PF_EIO, "%s: %s", part, strerror(errno));
            goto out;
        }
        from = 0;
    } else if (from > 0 && reply.status == 206 && reply.range_first != from) {
        ftruncate(fd, 0);
        rc = pf__error(jobs->ctx, PF_ECORRUPT, "%s: asked for bytes from %lld, got a "
                       "range from %lld", name, (long long)from, (long long)reply.range_first);
        goto out;
    }
done:
    end = lseek(fd, 0, SEEK_END);
    want = reply.status == 206 || reply.status == 416 ? reply.range_total
         : reply.content_length;
    if (want >= 0 && end != want) {
        rc = pf__error(jobs->ctx, PF_ECORRUPT, "%s: got %lld of %lld bytes", name,
                       (long long)end, (long long)want);
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = pf__error(jobs->ctx, errno == ENOSPC ? PF_ENOSPC : PF_EIO, "%s: %s", part,
                       strerror(errno));
        goto out;
    }
    *size = end;
out:
    pf__http_reply_free(&reply);
    close(fd);
    return rc;
}

/* 1 when both names are one file: a run killed between link(2) and its
 * ledger record left its own .part linked to the final name. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return lstat(a, &sa) == 0 && lstat(b, &sb) == 0 && S_ISREG(sa.st_mode) &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Makes a link(2) or rename(2) into dir survive a crash before the ledger
 * records it (the ledger itself is synchronous=FULL). */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Downloads output i under its planned name.
 *
 * The order survives a kill at any point: the .part is complete and
 * synced; then it is linked (or, with force, renamed) to its name and the
 * directory synced; then the ledger records path, size and hash with the
 * "downloaded" event in one transaction; only then is the .part name
 * removed. A run killed after the link finds the .part and the name to be
 * one file and records it, instead of refusing its own output as "already
 * exists"; one killed after the record finds the output done and removes
 * the .part (pf__download_outputs). */
static pf_err download_one(struct pf_jobs *jobs, pf_job *job, size_t i, const char *dir,
                           const char *planned, int force, struct transfer *t)
{
    struct pf__job_output *o = &job->outputs[i];
    char *part = NULL, *dest = NULL, hex[65], name[1024];
    const char *ext;
    pf_media_info info;
    int64_t size = 0;
    pf_err rc;

    pf__redact_url(name, sizeof name, o->url);
    if (!(part = pf__asprintf("%s/.preflight-%lld-%zu.part", dir, (long long)job->id, i)) ||
        !(dest = pf__asprintf("%s/%s", dir, planned))) {
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    /* Said before any byte is fetched, when the name is already final. */
    if (*extension(planned) && !force && access(dest, F_OK) == 0 &&
        !same_file(part, dest)) {
        rc = pf__error(jobs->ctx, PF_EEXIST, "%s: already exists",
                       dest);
        goto out;
    }
    pf__log(jobs->ctx, "downloading output %zu of %zu: %s", i + 1, job->noutputs, name);
    if ((rc = fetch(jobs, t, o->url, part, &size)))
        goto out;
    /* The result may state the size (fal's file_size): a file that is not
     * it is not the output, however well it probes. */
    if (pf__api_output_size(job, i) >= 0 && pf__api_output_size(job, i) != size) {
        unlink(part);
        rc = pf__error(jobs->ctx, PF_EIO, "%s: downloaded %lld bytes, but the result says "
                       "the file has %lld", name, (long long)size,
                       (long long)pf__api_output_size(job, i));
        goto out;
    }
    if ((rc = pf__probe(jobs->ctx, part, &info))) {
        char msg[PF__ERRBUF];

        pf__strlcpy(msg, pf_ctx_error(jobs->ctx), sizeof msg);
        unlink(part);
        rc = pf__error(jobs->ctx, rc, "%s: the downloaded output is not a readable image "
                       "or video (%s)", name, msg);
        goto out;
    }
    if (o->pub.kind != PF_MEDIA_UNKNOWN && info.kind != o->pub.kind) {
        unlink(part);
        rc = pf__error(jobs->ctx, PF_EFORMAT, "%s: the API says this output is %s %s, "
                       "but the file is %s %s", name,
                       o->pub.kind == PF_MEDIA_IMAGE ? "an" : "a",
                       pf_media_kind_name(o->pub.kind), pf_media_kind_name(info.kind),
                       info.format);
        goto out;
    }
    if (!*extension(planned)) {
        free(dest);
        ext = extension_for(info.format);
        if (!(dest = pf__asprintf("%s/%s.%s", dir, planned, ext))) {
            rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
    }
    if ((rc = pf__api_sha256_file(jobs->ctx, part, hex)))
        goto out;
    if (same_file(part, dest)) {
        /* Linked by a run killed before its ledger record. */
    } else if (force) {
        if (rename(part, dest) != 0) {
            rc = pf__error(jobs->ctx, PF_EIO, "%s: %s", dest, strerror(errno));
            goto out;
        }
    } else {
        /* link(2) fails if dest appeared meanwhile: never an overwrite. */
        if (link(part, dest) != 0) {
            rc = errno == EEXIST
               ? pf__error(jobs->ctx, PF_EEXIST, "%s: already exists", dest)
               : pf__error(jobs->ctx, PF_EIO, "%s: %s", dest, strerror(errno));
            unlink(part);
            goto out;
        }
    }
    sync_dir(dir);
    if (pf__job_set(&o->path, dest) || pf__job_set(&o->sha256, hex)) {
        rc = pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    o->pub.path = o->path;
    o->pub.sha256 = o->sha256;
    o->pub.size = size;
    if ((rc = pf__ledger_output_done(jobs->ledger, job, i)))
        goto out;
    unlink(part);       /* gone already after a rename */
out:
    free(part);
    free(dest);
    return rc;
}

/* Output i is already where the ledger says, whole: nothing to do. */
static int already_there(const struct pf__job_output *o, const char *dir)
{
    struct stat st;
    char a[PATH_MAX], b[PATH_MAX], *slash, parent[PATH_MAX];

    if (!o->path || stat(o->path, &st) != 0 || st.st_size != o->pub.size)
        return 0;
    pf__strlcpy(parent, o->path, sizeof parent);
    if ((slash = strrchr(parent, '/')))
        *slash = '\0';
    else
        pf__strlcpy(parent, ".", sizeof parent);
    return realpath(parent, a) && realpath(dir, b) && strcmp(a, b) == 0;
}

/* Output i was downloaded by another worker (a ledger shared by several
 * machines): it is theirs, recorded, and never fetched a second time. */
static int elsewhere(const struct pf_jobs *jobs, const struct pf__job_output *o)
{
    return o->path && o->worker && strcmp(o->worker, jobs->ledger->worker) != 0;
}

/* Output i was refused as if its URL had expired: reads the result once
 * more and tries again with the fresh URL. The first refusal stays the
 * message when the result cannot be read again. */
static pf_err download_fresh(struct pf_jobs *jobs, pf_job *job, size_t i, const char *dir,
                             const char *planned, int force, struct transfer *t)
{
    char msg[PF__ERRBUF];
    pf_err rc;

    pf__strlcpy(msg, pf_ctx_error(jobs->ctx), sizeof msg);
    pf__log(jobs->ctx, "output %zu was refused (%s)", i + 1, msg);
    if ((rc = pf__jobs_fresh_urls(jobs, job))) {
        char why[PF__ERRBUF];

        pf__strlcpy(why, pf_ctx_error(jobs->ctx), sizeof why);
        return pf__error(jobs->ctx, rc, "%s; reading the job's result again for a "
                         "fresh URL failed: %s", msg, why);
    }
    if (already_there(&job->outputs[i], dir))
        return PF_OK;
    t->refused = 0;
    return download_one(jobs, job, i, dir, planned, force, t);
}

/* A .part left by a run killed after the ledger recorded its output (the
 * output's own file under another name, or a stale copy): removed. No
 * lock is needed: a process still holding the output's lock has linked
 * its file already and only unlinks this name. */
static void remove_done_part(struct pf_jobs *jobs, const pf_job *job, size_t i,
                             const char *dir)
{
    char *part = pf__asprintf("%s/.preflight-%lld-%zu.part", dir, (long long)job->id, i);
    struct stat st;

    if (part && lstat(part, &st) == 0 && S_ISREG(st.st_mode)) {
        pf__log(jobs->ctx, "output %zu: removing %s, left by an interrupted run", i + 1,
                part);
        unlink(part);
    }
    free(part);
}

pf_err pf__download_outputs(struct pf_jobs *jobs, pf_job *job, const char *dir,
                            int force, int64_t started_ms, pf_job_progress_fn progress,
                            void *userdata)
{
    char (*names)[PF__NAME_MAX + 16] = NULL;
    char lockname[80];
    size_t n = job->noutputs;
    int refreshed = 0;
    pf_err rc = PF_OK;

    if (!n)
        return PF_OK;
    if ((rc = pf__mkdir_p(jobs->ctx, dir, 0777, "output directory")))
        return rc;
    if (!(names = calloc(n, sizeof *names)))
        return pf__error(jobs->ctx, PF_ENOMEM, "out of memory");
    plan_names(jobs->ctx, job, names);
    /* names holds n: the job is reloaded on the way and must not be
     * trusted to keep its length. */
    for (size_t i = 0; i < n && i < job->noutputs && !rc; i++) {
        struct transfer t = { jobs, job, progress, userdata, started_ms, 0, i, 0 };

        if (already_there(&job->outputs[i], dir)) {
            remove_done_part(jobs, job, i, dir);
            continue;
        }
        if (elsewhere(jobs, &job->outputs[i]))
            continue;
        /* One process per output: another may be fetching it right now,
         * into the same .part file. */
        snprintf(lockname, sizeof lockname, "download %lld %zu", (long long)job->id, i);
        if ((rc = pf__ledger_lock(jobs->ledger, lockname, 1)))
            break;
        if (!(rc = pf__ledger_reload(jobs->ledger, job)) &&
            !already_there(&job->outputs[i], dir) && !elsewhere(jobs, &job->outputs[i]))
            rc = download_one(jobs, job, i, dir, names[i], force, &t);
        else if (!rc)
            remove_done_part(jobs, job, i, dir);
        /* Presigned output URLs expire (a job finished yesterday, a
         * download resumed after a kill): one fresh read of the result
         * renews them all, so it is done once per call. */
        if (rc && t.refused && !refreshed) {
            refreshed = 1;
            rc = download_fresh(jobs, job, i, dir, names[i], force, &t);
        }
        pf__ledger_unlock(jobs->ledger, lockname);
    }
    free(names);
    return rc;
}
