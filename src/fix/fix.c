/*
 * pf_fix: check, plan, act, check again, and only then hand over.
 *
 * Every output is written to a temporary file in the output directory,
 * probed and checked against its field's rules by the same engine as the
 * request, and renamed into place only when it passes: an output that
 * exists is an output that complies, and a fix that fails leaves nothing
 * behind. Originals are only ever read.
 *
 * The work per input is dispatched on its kind: images to fix_image.c,
 * videos to fix_video.c, with the same contract (plan in, encoded file
 * out). An image comes back in memory and is written here; a video is
 * written by its encoder straight into the temporary file made here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fix_internal.h"

struct pf_fix_result {
    char *model;
    int dry_run;
    pf_fix_change *changes;
    size_t count;
    char *request_json;
    pf_report *report;
    int exit_code;
};

/* Files the request reads: an output must never land on one of them. */
struct source_id {
    dev_t dev;
    ino_t ino;
};

struct source_ids {
    struct source_id *ids;
    size_t count;
};

/* What one pass over the inputs shares. */
struct fixer {
    pf_ctx *ctx;
    const pf_schema *schema;
    const pf_fix_options *opts;
    const char *outdir;
    const pf_report *checked;
    cJSON *request;             /* the request to send, being rewritten */
    pf_fix_result *result;
    struct source_ids ids;
    int dir_made;
};

static void free_change(pf_fix_change *c)
{
    free((char *)c->field);
    free((char *)c->source);
    free((char *)c->output);
    free((char *)c->summary);
    free((char *)c->warning);
    free((char *)c->message);
}

void pf_fix_result_free(pf_fix_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        free_change(&r->changes[i]);
    free(r->changes);
    free(r->model);
    free(r->request_json);
    pf_report_free(r->report);
    free(r);
}

size_t pf_fix_result_change_count(const pf_fix_result *r)
{
    return r->count;
}

const pf_fix_change *pf_fix_result_change(const pf_fix_result *r, size_t i)
{
    return i < r->count ? &r->changes[i] : NULL;
}

const char *pf_fix_result_request_json(const pf_fix_result *r)
{
    return r->request_json;
}

const pf_report *pf_fix_result_report(const pf_fix_result *r)
{
    return r->report;
}

int pf_fix_result_exit_code(const pf_fix_result *r)
{
    return r->exit_code;
}

/* A new change for field, its strings copied; NULL when out of memory. */
static pf_fix_change *add_change(pf_fix_result *r, const char *field,
                                 const char *source, pf_fix_status status)
{
    pf_fix_change *grown = realloc(r->changes, (r->count + 1) * sizeof *grown), *c;

    if (!grown)
        return NULL;
    r->changes = grown;
    c = &r->changes[r->count++];
    memset(c, 0, sizeof *c);
    c->status = status;
    c->file_size = -1;
    c->duration = c->fps = -1;
    c->field = strdup(field);
    c->source = strdup(source ? source : "");
    return c->field && c->source ? c : NULL;
}

/* Records a failure with the context's message. */
static pf_err add_failure(struct fixer *f, const char *field, const char *source,
                          pf_err code, const char *message)
{
    pf_fix_change *c = add_change(f->result, field, source, PF_FIX_FAILED);

    if (!c || !(c->message = strdup(message)))
        return pf__error(f->ctx, PF_ENOMEM, "out of memory");
    c->code = code;
    return PF_OK;
}

static int is_local(const char *value)
{
    const char *colon = strstr(value, "://");

    if (strncasecmp(value, "data:", 5) == 0)
        return 0;
    return !(colon && colon > value &&
             strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789+.-") == (size_t)(colon - value));
}

/* The value at a report path ("image_urls[0]", "references[1].uri") in a
 * request object; with replacement, that value is replaced. NULL when the
 * path does not lead to a value. */
static cJSON *at_path(cJSON *node, const char *path, const char *replacement)
{
    cJSON *parent, *child = node;
    char key[256];

    while (*path && child) {
        parent = child;
        if (*path == '[') {
            char *end;
            long i = strtol(path + 1, &end, 10);

            if (*end != ']' || i < 0 || i > INT_MAX)
                return NULL;
            child = cJSON_GetArrayItem(parent, (int)i);
            path = end + 1;
        } else {
            size_t n = strcspn(path, ".[");

            if (n >= sizeof key)
                return NULL;
            memcpy(key, path, n);
            key[n] = '\0';
            child = cJSON_GetObjectItemCaseSensitive(parent, key);
            path += n;
        }
        if (*path == '.')
            path++;
    }
    if (!child || !replacement)
        return child;
    return cJSON_IsString(child) && cJSON_SetValuestring(child, replacement) ? child : NULL;
}

static pf_err remember_source(pf_ctx *ctx, struct source_ids *ids, const char *path)
{
    struct source_id *grown;
    struct stat st;

    if (!is_local(path) || stat(path, &st) != 0)
        return PF_OK;
    if (!(grown = realloc(ids->ids, (ids->count + 1) * sizeof *grown)))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    ids->ids = grown;
    ids->ids[ids->count].dev = st.st_dev;
    ids->ids[ids->count++].ino = st.st_ino;
    return PF_OK;
}

static int is_source(const struct source_ids *ids, const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return 0;
    for (size_t i = 0; i < ids->count; i++)
        if (ids->ids[i].dev == st.st_dev && ids->ids[i].ino == st.st_ino)
            return 1;
    return 0;
}

static const char *format_ext(enum pf__format f)
{
    return f == PF__FMT_PNG ? "png" : f == PF__FMT_MP4 ? "mp4" : f == PF__FMT_MOV ? "mov"
         : "jpg";
}

static const char *format_name(enum pf__format f)
{
    return f == PF__FMT_PNG ? "png" : f == PF__FMT_MP4 ? "mp4" : f == PF__FMT_MOV ? "mov"
         : "jpeg";
}

/* outdir/<source name>.<ext>, with -1, -2... when the name is taken in
 * this run or would replace a file the request reads. A file left by an
 * earlier run is replaced: fixing twice gives the same names. */
static char *output_name(const struct fixer *f, const char *source, enum pf__format fmt)
{
    const char *base = strrchr(source, '/') ? strrchr(source, '/') + 1 : source;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot > base ? (size_t)(dot - base) : strlen(base);
    char path[PATH_MAX];

    if (stem == 0) {
        base = "image";
        stem = 5;
    }
    for (int n = 0; n < 10000; n++) {
        char suffix[16] = "";
        int taken = 0;

        if (n)
            snprintf(suffix, sizeof suffix, "-%d", n);
        if ((size_t)snprintf(path, sizeof path, "%s/%.*s%s.%s", f->outdir, (int)stem,
                             base, suffix, format_ext(fmt)) >= sizeof path)
            return NULL;
        for (size_t i = 0; i < f->result->count && !taken; i++)
            taken = f->result->changes[i].output &&
                    strcmp(f->result->changes[i].output, path) == 0;
        if (!taken && !is_source(&f->ids, path))
            return strdup(path);
    }
    return NULL;
}

static void upper(char *dst, size_t size, const char *s)
{
    size_t i = 0;

    for (; s[i] && i + 1 < size; i++)
        dst[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
    dst[i] = '\0';
}

/* "6000×4000 JPEG 11.24 MB → 4096×2731 JPEG q=91 4.61 MB (crop 0, 3 encodes)";
 * output NULL for a plan. */
static char *summary(const pf_media_info *in, const struct pf__plan *p,
                     const struct pf__fix_output *o)
{
    char from_size[32], to_size[32] = "", from_fmt[32], quality[16] = "";
    char how[96], extra[64] = "";
    enum pf__format fmt = o ? o->format : p->format;

    pf_format_size(from_size, sizeof from_size, in->file_size);
    upper(from_fmt, sizeof from_fmt, in->format);
    if (o) {
        to_size[0] = ' ';
        pf_format_size(to_size + 1, sizeof to_size - 1, (int64_t)o->len);
        if (o->format == PF__FMT_JPEG)
            snprintf(quality, sizeof quality, " q=%d", o->quality);
        snprintf(extra, sizeof extra, ", %d encode%s", o->encodes,
                 o->encodes == 1 ? "" : "s");
    }
    if (p->pad)
        snprintf(how, sizeof how, "pad %d px", (p->out_w - p->img_w) + (p->out_h - p->img_h));
    else if (p->crop_w != p->src_w || p->crop_h != p->src_h)
        snprintf(how, sizeof how, "crop %d px", (p->src_w - p->crop_w) +
                 (p->src_h - p->crop_h));
    else
        snprintf(how, sizeof how, "crop 0");
    if (p->enlarged)
        strncat(how, ", enlarged", sizeof how - strlen(how) - 1);
    return pf__asprintf("%d×%d %s %s → %d×%d %s%s%s (%s%s)", in->width, in->height,
                        from_fmt, from_size, p->out_w, p->out_h,
                        fmt == PF__FMT_PNG ? "PNG" : "JPEG", quality, to_size, how, extra);
}

static char *enlarge_warning(const struct pf__plan *p)
{
    if (!p->enlarged)
        return NULL;
    return pf__asprintf("enlarged %d×%d to %d×%d to reach the field's minimum size: "
                        "the added detail is interpolated",
                        p->pad ? p->src_w : p->crop_w, p->pad ? p->src_h : p->crop_h,
                        p->pad ? p->img_w : p->out_w, p->pad ? p->img_h : p->out_h);
}

pf_err pf__fix_write_all(pf_ctx *ctx, int fd, const void *data, size_t len,
                         const char *name)
{
    const uint8_t *p = data;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return pf__error(ctx, n < 0 && (errno == ENOSPC || errno == EDQUOT ||
                                            errno == EFBIG)
                             ? PF_ENOSPC : PF_EIO, "%s: cannot write: %s", name,
                             n < 0 ? strerror(errno) : "nothing written");
        p += n;
        len -= (size_t)n;
    }
    return PF_OK;
}

static pf_err errno_code(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG ? PF_ENOSPC
         : e == ENOENT ? PF_ENOENT : PF_EIO;
}

static pf_err first_problem(const pf_report *rep, char *buf, size_t size)
{
    if (pf_report_error_count(rep)) {
        snprintf(buf, size, "%s", pf_report_error(rep, 0)->message);
        return pf_report_error(rep, 0)->code;
    }
    if (pf_report_violation_count(rep)) {
        snprintf(buf, size, "%s", pf_report_violation(rep, 0)->message);
        return PF_ECANNOT;
    }
    return PF_OK;
}

/* Acts on one planned input (an image plan, or a video plan): encode
 * into a temporary file, check it with the field's rules, rename. An
 * interrupt is returned, not recorded: the whole fix stops. */
static pf_err fix_one(struct fixer *f, const char *field, const char *source,
                      const pf_media_info *info, struct pf__plan *plan,
                      struct pf__video_plan *video)
{
    pf_ctx *ctx = f->ctx;
    struct pf__fix_output out = { 0 };
    pf_report *recheck = NULL;
    pf_fix_change *c;
    char tmp[PATH_MAX], *name = NULL, reason[600];
    int fd = -1, made = 0;
    pf_err rc, code;

    if (!video && (rc = pf__fix_image(ctx, source, plan, &out)))
        goto failed;
    /* Made when first needed: a request that needs nothing leaves no
     * trace, not even an empty directory. */
    if (!f->dir_made && (rc = pf__mkdir_p(ctx, f->outdir, 0777, "output directory")))
        goto failed;
    f->dir_made = 1;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.preflight-XXXXXX", f->outdir) >= sizeof tmp) {
        rc = pf__error(ctx, PF_EUSAGE, "%s: path too long", f->outdir);
        goto failed;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        rc = pf__error(ctx, errno_code(errno), "%s: cannot create a file: %s",
                       f->outdir, strerror(errno));
        goto failed;
    }
    made = 1;
    if (video) {
        /* The muxer writes the file by name (its index is moved to the
         * front by reading it back); it is then opened again to be synced. */
        if (fchmod(fd, 0644) != 0 || close(fd) != 0) {
            fd = -1;
            rc = pf__error(ctx, errno_code(errno), "%s: cannot write: %s", f->outdir,
                           strerror(errno));
            goto failed;
        }
        fd = -1;
        if ((rc = pf__fix_video(ctx, source, video, tmp, f->outdir, &out))) {
            if (rc == PF_EINTR)
                goto out;
            goto failed;
        }
        if ((fd = open(tmp, O_RDONLY)) < 0) {
            rc = pf__error(ctx, errno_code(errno), "%s: cannot read back: %s", f->outdir,
                           strerror(errno));
            goto failed;
        }
    } else if ((rc = pf__fix_write_all(ctx, fd, out.data, out.len, f->outdir))) {
        goto failed;
    }
    /* On disk before it gets its name, as an ordinary file would be. */
    if ((!video && fchmod(fd, 0644) != 0) || fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = pf__error(ctx, errno_code(errno), "%s: cannot write: %s", f->outdir,
                       strerror(errno));
        goto failed;
    }
    fd = -1;
    if ((rc = pf__check_media(ctx, f->schema, field, tmp, &recheck)))
        goto out;
    if ((code = first_problem(recheck, reason, sizeof reason))) {
        rc = pf__error(ctx, code == PF_ECANNOT ? PF_ECANNOT : PF_EINTERNAL,
                       "%s: the fixed file would still be rejected: %s", source, reason);
        goto failed;
    }
    if (!(name = output_name(f, source, out.format))) {
        rc = pf__error(ctx, PF_EUSAGE, "%s: no free output name", f->outdir);
        goto failed;
    }
    if (rename(tmp, name) != 0) {
        rc = pf__error(ctx, errno_code(errno), "%s: cannot rename into place: %s",
                       name, strerror(errno));
        goto failed;
    }
    made = 0;
    if (video)
        plan = &video->geo;
    if (!(c = add_change(f->result, field, source, PF_FIX_DONE)) ||
        !(c->output = strdup(name)) ||
        !(c->summary = video ? pf__fix_video_summary(info, video, &out)
                             : summary(info, plan, &out)) ||
        (plan->enlarged && !(video && out.remuxed) && !(c->warning = enlarge_warning(plan))) ||
        !at_path(f->request, field, name)) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    c->format = format_name(out.format);
    c->width = out.w;
    c->height = out.h;
    c->file_size = (int64_t)out.len;
    c->quality = out.format == PF__FMT_JPEG ? out.quality : 0;
    c->encodes = out.encodes;
    if (video) {
        /* As the re-check measured the file, not as planned. */
        const pf_media_info *written = pf_report_input_count(recheck)
            ? pf_report_input(recheck, 0, NULL, NULL) : NULL;

        c->duration = written ? written->duration : out.duration;
        c->fps = written ? written->fps : out.fps;
        c->remuxed = out.remuxed;
    }
    pf__log(ctx, "%s: %s -> %s", field, source, name);
    goto out;
failed:
    if (rc != PF_ENOMEM && rc != PF_EINTR)
        rc = add_failure(f, field, source, rc, pf_ctx_error(ctx));
out:
    if (fd >= 0)
        close(fd);
    if (made)
        unlink(tmp);
    free(name);
    pf_report_free(recheck);
    pf__fix_output_free(&out);
    return rc;
}

/* Plans one video and acts on it (or records the plan). */
static pf_err fix_video_input(struct fixer *f, const char *field, const char *value,
                              const pf_media_info *info, const struct pf__media_field *m,
                              const char *ratio_text, double ratio)
{
    pf_ctx *ctx = f->ctx;
    struct pf__limits lim;
    struct pf__video_plan *vp = malloc(sizeof *vp);     /* large, and pointed into */
    pf_fix_change *c;
    pf_err rc;

    if (!vp)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    pf__fix_limits(m, &lim);
    if ((rc = pf__fix_plan_video(ctx, &lim, info, value, f->opts, ratio_text, ratio, vp))) {
        if (rc != PF_ENOMEM && rc != PF_EINTR)
            rc = add_failure(f, field, value, rc, pf_ctx_error(ctx));
        goto out;
    }
    vp->field = field;
    vp->progress = f->opts->progress;
    vp->progress_userdata = f->opts->progress_userdata;
    if (!f->opts->dry_run) {
        rc = fix_one(f, field, value, info, NULL, vp);
        goto out;
    }
    if (!(c = add_change(f->result, field, value, PF_FIX_PLANNED)) ||
        !(c->output = output_name(f, value, vp->format)) ||
        !(c->summary = pf__fix_video_summary(info, vp, NULL)) ||
        (vp->geo.enlarged && !vp->remux && !(c->warning = enlarge_warning(&vp->geo)))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    c->format = format_name(vp->format);
    c->width = vp->remux ? info->width : vp->geo.out_w;
    c->height = vp->remux ? info->height : vp->geo.out_h;
    c->duration = vp->duration;
    c->fps = vp->fps;
    c->remuxed = vp->remux;
out:
    free(vp);
    return rc;
}

static int has_violation(const pf_report *r, const char *field)
{
    for (size_t i = 0; i < pf_report_violation_count(r); i++)
        if (strcmp(pf_report_violation(r, i)->field, field) == 0)
            return 1;
    return 0;
}

/* Decides whether one probed input needs fixing, plans it, and acts (or,
 * in a dry run, records the plan). Only running out of memory is returned;
 * everything else is a failure recorded in the result. */
static pf_err fix_input(struct fixer *f, size_t i)
{
    pf_ctx *ctx = f->ctx;
    const char *field, *value, *ratio_text = NULL;
    const pf_media_info *info = pf_report_input(f->checked, i, &field, &value);
    const struct pf__media_field *m = pf__schema_media_at(f->schema, field);
    struct pf__limits lim;
    struct pf__plan plan;
    double ratio = 0;
    int needs = has_violation(f->checked, field);
    pf_fix_change *c;
    pf_err rc;

    if (ctx->interrupted)
        return pf__error(ctx, PF_EINTR, "interrupted");
    if (pf__requested_ratio(f->schema, f->request, field, &ratio_text, &ratio) &&
        f->opts->fit != PF_FIT_NONE && info->width > 0 && info->height > 0 &&
        fabs((double)info->width / info->height / ratio - 1.0) > PF__RATIO_TOLERANCE)
        needs = 1;
    /* A video that passes can still be worth a fix: an index at the end
     * makes a server fetch the whole file before it can probe it, and
     * --max-duration asks for a trim. */
    if (!needs && m && info->kind == PF_MEDIA_VIDEO && m->kind != PF_MEDIA_IMAGE &&
        is_local(value) && (pf__fix_video_index_at_end(value) ||
                            (f->opts->max_duration > 0 &&
                             info->duration > f->opts->max_duration + 1e-3)))
        needs = 1;
    if (!needs || !m)
        return PF_OK;
    pf__clear_error(ctx);
    if (!is_local(value)) {
        char shown[512];

        pf__redact_url(shown, sizeof shown, value);
        pf__error(ctx, PF_ECANNOT, "%s: only local files can be fixed: download it "
                  "and pass FIELD=@PATH", strncasecmp(value, "data:", 5) ? shown
                  : "a data URI");
        return add_failure(f, field, value, PF_ECANNOT, pf_ctx_error(ctx));
    }
    if (info->kind == PF_MEDIA_VIDEO && m->kind != PF_MEDIA_IMAGE)
        return fix_video_input(f, field, value, info, m, ratio_text, ratio);
    if (info->kind != PF_MEDIA_IMAGE) {
        if (m->kind == PF_MEDIA_IMAGE)
            pf__error(ctx, PF_ECANNOT, "%s: the field takes an image, not %s %s",
                      value, info->kind == PF_MEDIA_AUDIO ? "an audio file" : "a video",
                      info->format);
        else
            pf__error(ctx, PF_ECANNOT, "%s: fixing %s is not supported yet", value,
                      info->kind == PF_MEDIA_VIDEO ? "video" : "this kind of media");
        return add_failure(f, field, value, PF_ECANNOT, pf_ctx_error(ctx));
    }
    pf__fix_limits(m, &lim);
    if ((rc = pf__fix_plan_image(ctx, &lim, info, value, f->opts, ratio_text, ratio,
                                 &plan)))
        return add_failure(f, field, value, rc, pf_ctx_error(ctx));
    if (!f->opts->dry_run)
        return fix_one(f, field, value, info, &plan, NULL);
    if (!(c = add_change(f->result, field, value, PF_FIX_PLANNED)) ||
        !(c->output = output_name(f, value, plan.format)) ||
        !(c->summary = summary(info, &plan, NULL)) ||
        (plan.enlarged && !(c->warning = enlarge_warning(&plan))))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    c->format = format_name(plan.format);
    c->width = plan.out_w;
    c->height = plan.out_h;
    return PF_OK;
}

static int exit_code(const pf_fix_result *r)
{
    int code = 0;

    for (size_t i = 0; i < r->count; i++)
        if (r->changes[i].status == PF_FIX_FAILED) {
            int c = r->changes[i].code == PF_ECANNOT ? 1 : 2;

            code = c > code ? c : code;
        }
    if (!r->dry_run) {
        int c = pf_report_exit_code(r->report);

        return c > code ? c : code;
    }
    /* A dry run counts a violation as handled when its field has a plan. */
    if (pf_report_error_count(r->report))
        return 2;
    for (size_t i = 0; i < pf_report_violation_count(r->report); i++) {
        const char *field = pf_report_violation(r->report, i)->field;
        int planned = 0;

        for (size_t j = 0; j < r->count && !planned; j++)
            planned = r->changes[j].status == PF_FIX_PLANNED &&
                      strcmp(r->changes[j].field, field) == 0;
        if (!planned && code < 1)
            code = 1;
    }
    return code;
}

pf_err pf_fix(pf_ctx *ctx, const pf_schema *schema, const pf_request *req,
              const char *outdir, const pf_fix_options *opts_in,
              pf_fix_result **out)
{
    pf_fix_options opts;
    struct fixer f;
    pf_report *checked = NULL;
    pf_request *fixed = NULL;
    char *dir = NULL;
    pf_err rc = PF_OK;

    *out = NULL;
    memset(&f, 0, sizeof f);
    if ((rc = pf__struct_in(ctx, &opts, sizeof opts, opts_in, "pf_fix_options")))
        return rc;
    if (opts.fit < PF_FIT_CROP || opts.fit > PF_FIT_NONE)
        return pf__error(ctx, PF_EUSAGE, "unknown fit mode %d", opts.fit);
    if (!outdir || !*outdir)
        return pf__error(ctx, PF_EUSAGE, "an output directory is required");
    if (!(dir = strdup(outdir)))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
        dir[n - 1] = '\0';
    if ((rc = pf_check(ctx, schema, req, &checked)))
        goto out;
    f.ctx = ctx;
    f.schema = schema;
    f.opts = &opts;
    f.outdir = dir;
    f.checked = checked;
    if (!(f.result = calloc(1, sizeof *f.result)) ||
        !(f.result->model = strdup(schema->model)) ||
        !(f.request = cJSON_Duplicate(pf__report_request(checked), 1))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    f.result->dry_run = opts.dry_run != 0;
    for (size_t i = 0; i < pf_report_input_count(checked); i++) {
        const char *field, *value;

        pf_report_input(checked, i, &field, &value);
        if ((rc = remember_source(ctx, &f.ids, value)))
            goto out;
    }
    /* What could not be probed cannot be fixed: said once, as the check
     * said it. */
    for (size_t i = 0; i < pf_report_error_count(checked); i++) {
        const pf_input_error *e = pf_report_error(checked, i);
        const cJSON *v = at_path(f.request, e->field, NULL);
        const char *value = cJSON_IsString(v) ? v->valuestring : "";

        if ((rc = remember_source(ctx, &f.ids, value)) ||
            (rc = add_failure(&f, e->field, value, e->code, e->message)))
            goto out;
    }
    for (size_t i = 0; i < pf_report_input_count(checked); i++)
        if ((rc = fix_input(&f, i)))
            goto out;

    if (opts.dry_run) {
        f.result->report = checked;
        checked = NULL;
    } else {
        /* The verdict on what will actually be sent. */
        if (!(fixed = pf_request_new())) {
            rc = pf__error(ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
        cJSON_Delete(fixed->root);
        if (!(fixed->root = cJSON_Duplicate(f.request, 1))) {
            rc = pf__error(ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = pf_check(ctx, schema, fixed, &f.result->report)))
            goto out;
    }
    if (!(f.result->request_json = cJSON_PrintUnformatted(f.request))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    f.result->exit_code = exit_code(f.result);
    *out = f.result;
    f.result = NULL;
out:
    pf_fix_result_free(f.result);
    cJSON_Delete(f.request);
    pf_request_free(fixed);
    pf_report_free(checked);
    free(f.ids.ids);
    free(dir);
    return rc;
}

static const char *status_name(pf_fix_status s)
{
    return s == PF_FIX_DONE ? "done" : s == PF_FIX_PLANNED ? "planned" : "failed";
}

char *pf_fix_result_to_json(const pf_fix_result *r)
{
    cJSON *root = cJSON_CreateObject(), *list, *o, *v;
    char *report = NULL, *text = NULL;

    if (!root)
        return NULL;
    cJSON_AddBoolToObject(root, "ok", r->exit_code == 0);
    cJSON_AddStringToObject(root, "model", r->model);
    cJSON_AddBoolToObject(root, "dry_run", r->dry_run);
    if (!(list = cJSON_AddArrayToObject(root, "changes")))
        goto out;
    for (size_t i = 0; i < r->count; i++) {
        const pf_fix_change *c = &r->changes[i];

        if (!(o = cJSON_CreateObject()))
            goto out;
        cJSON_AddItemToArray(list, o);
        cJSON_AddStringToObject(o, "field", c->field);
        cJSON_AddStringToObject(o, "source", c->source);
        cJSON_AddItemToObject(o, "output", c->output ? cJSON_CreateString(c->output)
                                                      : cJSON_CreateNull());
        cJSON_AddStringToObject(o, "status", status_name(c->status));
        if (c->status == PF_FIX_FAILED) {
            cJSON *e = cJSON_AddObjectToObject(o, "error");

            cJSON_AddStringToObject(e, "code", pf_err_name(c->code));
            cJSON_AddStringToObject(e, "message", c->message);
            continue;
        }
        cJSON_AddStringToObject(o, "summary", c->summary);
        cJSON_AddItemToObject(o, "warning", c->warning ? cJSON_CreateString(c->warning)
                                                        : cJSON_CreateNull());
        cJSON_AddStringToObject(o, "format", c->format);
        cJSON_AddNumberToObject(o, "width", c->width);
        cJSON_AddNumberToObject(o, "height", c->height);
        if (c->status == PF_FIX_DONE) {
            cJSON_AddNumberToObject(o, "file_size", (double)c->file_size);
            cJSON_AddNumberToObject(o, "quality", c->quality);
            cJSON_AddNumberToObject(o, "encodes", c->encodes);
        }
        if (c->duration >= 0) {
            cJSON_AddNumberToObject(o, "duration", c->duration);
            cJSON_AddNumberToObject(o, "fps", c->fps);
            cJSON_AddBoolToObject(o, "remuxed", c->remuxed);
        }
    }
    if (!(v = cJSON_Parse(r->request_json)))
        goto out;
    cJSON_AddItemToObject(root, "request", v);
    if (!(report = pf_report_to_json(r->report)) || !(v = cJSON_Parse(report)))
        goto out;
    cJSON_AddItemToObject(root, "check", v);
    text = cJSON_PrintUnformatted(root);
out:
    pf_free(report);
    cJSON_Delete(root);
    return text;
}
