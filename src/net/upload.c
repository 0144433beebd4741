/*
 * Hosting a local file for an API that fetches its inputs by URL: a PUT to
 * a presigned URL, an S3 presigned POST, a bucket of the user's own (both
 * URLs signed here), or no upload at all (a data: URI). Every path ends the
 * same way: the URL the API will fetch is read back without credentials
 * and must serve as many bytes as the file has, so a bad URL is found here
 * and not by a paid job.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "http.h"
#include "sigv4.h"

#define PF__UP_DEFAULT_EXPIRES 86400
#define PF__UP_INLINE_IMAGE 5000000     /* Runway: data URI images, 5 MB */
#define PF__UP_INLINE_OTHER 16000000    /* Runway: video and audio, 16 MB */
#define PF__UP_HASH_BLOCK (1 << 20)

struct pf_upload {
    pf_upload_info info;
    char *file, *get_url, *key, *content_type, *served_type, *warning;
};

const pf_upload_info *pf_upload_get(const pf_upload *up)
{
    return up ? &up->info : NULL;
}

void pf_upload_free(pf_upload *up)
{
    if (!up)
        return;
    free(up->file);
    free(up->get_url);
    free(up->key);
    free(up->content_type);
    free(up->served_type);
    free(up->warning);
    free(up);
}

char *pf_upload_to_json(const pf_upload *up)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "file", up->info.file);
    cJSON_AddNumberToObject(o, "size", (double)up->info.size);
    if (up->info.sha256[0])
        cJSON_AddStringToObject(o, "sha256", up->info.sha256);
    else
        cJSON_AddNullToObject(o, "sha256");
    cJSON_AddStringToObject(o, "get_url", up->info.get_url);
    if (up->info.key)
        cJSON_AddStringToObject(o, "key", up->info.key);
    else
        cJSON_AddNullToObject(o, "key");
    if (up->info.content_type)
        cJSON_AddStringToObject(o, "content_type", up->info.content_type);
    else
        cJSON_AddNullToObject(o, "content_type");
    cJSON_AddBoolToObject(o, "uploaded", up->info.uploaded);
    cJSON_AddBoolToObject(o, "skipped", !up->info.uploaded);
    cJSON_AddBoolToObject(o, "verified", up->info.verified);
    if (up->info.served_type)
        cJSON_AddStringToObject(o, "served_type", up->info.served_type);
    else
        cJSON_AddNullToObject(o, "served_type");
    if (up->info.warning)
        cJSON_AddStringToObject(o, "warning", up->info.warning);
    else
        cJSON_AddNullToObject(o, "warning");
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* ---- the file ----------------------------------------------------------- */

/* The media type from the first bytes, never the name; the extension only
 * tells apart what the bytes cannot (WebM from Matroska). */
static const char *pf__up_sniff(const unsigned char *b, size_t n, const char *path)
{
    const char *ext = strrchr(path, '.');

    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return "image/jpeg";
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVE", 4) == 0)
        return "audio/wav";
    if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
        return "image/gif";
    if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
        return memcmp(b + 8, "qt  ", 4) == 0 ? "video/quicktime" : "video/mp4";
    if (n >= 4 && memcmp(b, "\x1a\x45\xdf\xa3", 4) == 0)
        return ext && strcasecmp(ext, ".webm") == 0 ? "video/webm" : "video/x-matroska";
    if (n >= 3 && memcmp(b, "ID3", 3) == 0)
        return "audio/mpeg";
    return "application/octet-stream";
}

static void pf__up_hex(const unsigned char *md, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The whole file's SHA-256 in 1 MiB reads: 0, an errno, -1 when the file
 * shrank, -2 when *stop was set. Touches no context, so a thread can run
 * it. */
static int pf__up_hash_fd(int fd, int64_t size, const volatile int *stop, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *buf = malloc(PF__UP_HASH_BLOCK), digest[32];
    unsigned int dlen = 0;
    int64_t off = 0;
    int err = 0;

    if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        err = ENOMEM;
        goto out;
    }
    while (off < size && !err) {
        ssize_t got = pread(fd, buf, PF__UP_HASH_BLOCK, (off_t)off);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            err = got < 0 ? errno : -1;
        else if (*stop)
            err = -2;
        else if (!EVP_DigestUpdate(md, buf, (size_t)got))
            err = ENOMEM;
        else
            off += got;
    }
    if (!err && EVP_DigestFinal_ex(md, digest, &dlen))
        pf__up_hex(digest, hex);
out:
    EVP_MD_CTX_free(md);
    free(buf);
    return err;
}

static pf_err pf__up_hash_error(pf_ctx *ctx, const char *path, int err)
{
    if (err == ENOMEM)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    if (err == -2)
        return pf__error(ctx, PF_EINTR, "%s: interrupted", path);
    return pf__error(ctx, PF_EIO, "%s: %s", path,
                     err > 0 ? strerror(err) : "the file shrank while it was read");
}

static pf_err pf__up_hash_file(pf_ctx *ctx, const char *path, int fd, int64_t size,
                               char hex[65])
{
    int err = pf__up_hash_fd(fd, size, &ctx->interrupted, hex);

    return err ? pf__up_hash_error(ctx, path, err) : PF_OK;
}

/* Hashing a file as it is sent would put SHA-256 between each read and
 * its send, slowing the upload by the hash's time; a thread of its own
 * reads the same pages (from the page cache, mostly) on another core. */
struct pf__up_hasher {
    pthread_t thread;
    int started;
    int fd;
    int64_t size;
    volatile int stop;
    int err;
    char hex[65];
};

static void *pf__up_hasher_run(void *arg)
{
    struct pf__up_hasher *hs = arg;

    hs->err = pf__up_hash_fd(hs->fd, hs->size, &hs->stop, hs->hex);
    return NULL;
}

/* ---- progress ----------------------------------------------------------- */

struct pf__up_progress {
    const pf_upload_options *opts;
    int64_t size;
};

static int pf__up_progress(void *ud, int64_t up, int64_t up_total, int64_t down,
                           int64_t down_total)
{
    struct pf__up_progress *p = ud;

    (void)up_total; (void)down; (void)down_total;
    return p->opts->progress(p->opts->progress_userdata, up < p->size ? up : p->size,
                             p->size);
}

/* ---- an upload's state ------------------------------------------------- */

struct pf__up {
    pf_ctx *ctx;
    const char *path;
    const pf_upload_options *opts;
    int fd;
    int64_t size;
    struct pf__http *h;
    struct pf__up_hasher hasher;
    struct pf__up_progress progress;
    pf_upload *result;
    char sniffed[64];
};

/* ---- verification ------------------------------------------------------- */

/* The served type without parameters, lower case: "video/mp4". */
static void pf__up_media_type(const char *ct, char *out, size_t size)
{
    size_t n = strcspn(ct, "; \t"), i;

    for (i = 0; i < n && i + 1 < size; i++)
        out[i] = (char)tolower((unsigned char)ct[i]);
    out[i] = '\0';
}

/* A type that names no media: what a store serves when the upload sent
 * none (S3: binary/octet-stream) or a bare server guesses nothing. */
static int pf__up_generic_type(const char *t)
{
    static const char *const generic[] = {
        "", "application/octet-stream", "binary/octet-stream", "application/binary",
        "application/unknown", "application/x-download", "application/force-download",
    };

    for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
        if (strcmp(t, generic[i]) == 0)
            return 1;
    return 0;
}

/*
 * Runway fetches an input URL only when its Content-Type is the asset's
 * media type: "application/octet-stream and other generic values are
 * explicitly not supported" (docs.dev.runwayml.com/assets/inputs), and
 * CometAPI's videoUri is Runway's field on a Runway-compatible API. It is
 * a warning, not an error: the documents preflight checks against
 * (shared/seeds/) ask RunComfy and CometAPI only for a public HTTPS URL,
 * the upload does not know which API the URL is for, and an input Runway
 * will not fetch is refused when the task is submitted (HTTP 400, nothing
 * created or paid, the job recorded as rejected), so a false alarm would
 * cost more than a miss. The warning says how to serve the right type.
 */
static pf_err pf__up_check_type(struct pf__up *u, const char *name, const char *served)
{
    const char *is = u->result->content_type ? u->result->content_type : u->sniffed;
    char got[128], want[128];
    size_t major;

    pf__up_media_type(served, got, sizeof got);
    pf__up_media_type(is, want, sizeof want);
    if (got[0] && !(u->result->served_type = strdup(got)))
        return pf__error(u->ctx, PF_ENOMEM, "out of memory");
    major = strcspn(want, "/");
    if (!pf__up_generic_type(got) &&
        (pf__up_generic_type(want) || strncmp(got, want, major + 1) == 0))
        return PF_OK;
    if (pf__up_generic_type(want))
        u->result->warning = pf__asprintf(
            "%s: served %s%s; Runway's API (and CometAPI's Runway-compatible one) "
            "fetches an input only when it is served with its media type", name,
            got[0] ? "as " : "without a Content-Type", got);
    else
        u->result->warning = pf__asprintf(
            "%s: served %s%s, not as %s; Runway's API (and CometAPI's "
            "Runway-compatible one) fetches an input only when it is served with its "
            "media type: upload it with Content-Type %s", name,
            got[0] ? "as " : "without a Content-Type", got, want, want);
    if (!u->result->warning)
        return pf__error(u->ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
}

/* The API will fetch get_url with no credentials: read its first byte the
 * same way, with the request layer's retries (a reset or a 503 from a CDN
 * says nothing about the URL), compare the size the server states with
 * the file's, and see what type it serves the file as. */
static pf_err pf__up_verify(struct pf__up *u, const char *get_url)
{
    struct pf__http_request req;
    struct pf__http_reply reply;
    unsigned char want = 0;
    int64_t total;
    char name[1024];
    pf_err rc;

    pf__redact_url(name, sizeof name, get_url);
    pf__http_request_init(&req);
    req.url = get_url;
    /* An empty object has no byte 0 to ask for (S3 would answer 416). */
    req.range_len = u->size > 0 ? 1 : 0;
    req.max_body = 1;
    req.prefix_only = 1;
    if ((rc = pf__http_request(u->h, &req, &reply)) != PF_OK)
        goto out;
    total = reply.status == 206 ? reply.range_total : reply.content_length;
    if (total != u->size) {
        rc = total < 0
                 ? pf__error(u->ctx, PF_EHTTP, "%s: the server does not say how large "
                             "the file is (no Content-Range or Content-Length)", name)
                 : pf__error(u->ctx, PF_EHTTP, "%s: serves %lld bytes, but the file has "
                             "%lld", name, (long long)total, (long long)u->size);
        goto out;
    }
    if (u->size > 0 && (reply.body_len != 1 || pread(u->fd, &want, 1, 0) != 1 ||
                        want != (unsigned char)reply.body[0])) {
        rc = pf__error(u->ctx, PF_EHTTP, "%s: serves other bytes than the file's", name);
        goto out;
    }
    pf__log(u->ctx, "upload: %s serves the file's %lld bytes as %s", name,
            (long long)u->size, reply.content_type[0] ? reply.content_type : "(no type)");
    rc = pf__up_check_type(u, name, reply.content_type);
out:
    pf__http_reply_free(&reply);
    return rc;
}

/* ---- one upload --------------------------------------------------------- */

/* Refuses a presigned URL that has already expired: no request would
 * succeed, and the message says what to do instead of a bare 403. */
static pf_err pf__up_check_expiry(pf_ctx *ctx, const char *url)
{
    int64_t exp = pf__presigned_expiry(url);
    time_t now = time(NULL);
    char name[1024], when[32];
    struct tm tm;

    if (exp < 0 || exp > (int64_t)now)
        return PF_OK;
    pf__redact_url(name, sizeof name, url);
    gmtime_r(&(time_t){(time_t)exp}, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return pf__error(ctx, PF_EAUTH, "%s: the presigned URL expired at %s; ask for a "
                     "new one", name, when);
}

/* Sends the file: PUT (form NULL) or POST with a form. */
static pf_err pf__up_send(struct pf__up *u, const char *method, const char *url,
                          const char *content_type,
                          const struct pf__http_form_field *form, size_t nform,
                          struct pf__http_reply *reply)
{
    struct pf__http_request req;
    char ct[192];
    const char *headers[2] = {NULL, NULL};

    pf__http_request_init(&req);
    req.method = method;
    req.url = url;
    req.body_fd = u->fd;
    req.body_size = u->size;
    if (form) {
        req.form = form;
        req.nform = nform;
        req.form_file_field = "file";
        req.form_file_type = content_type;
        /* A policy-bound POST is as safe to resend as a PUT: it writes the
         * same key with the same bytes. */
        req.retries = 4;
    } else if (content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        headers[0] = ct;
        req.headers = headers;
    }
    if (u->opts->progress) {
        req.progress = pf__up_progress;
        req.progress_ud = &u->progress;
    }
    return pf__http_request(u->h, &req, reply);
}

/* Hashes the file beside the send (PUT and POST, where the key does not
 * depend on the hash); without a thread, after it. */
static void pf__up_hash_start(struct pf__up *u)
{
    u->hasher.fd = u->fd;
    u->hasher.size = u->size;
    u->hasher.started = pthread_create(&u->hasher.thread, NULL, pf__up_hasher_run,
                                       &u->hasher) == 0;
}

/* Waits for the hash; abandon stops it early (the upload failed). */
static pf_err pf__up_hash_join(struct pf__up *u, int abandon)
{
    if (!u->hasher.started)
        return abandon ? PF_OK
                       : pf__up_hash_file(u->ctx, u->path, u->fd, u->size,
                                          u->result->info.sha256);
    if (abandon)
        u->hasher.stop = 1;
    pthread_join(u->hasher.thread, NULL);
    u->hasher.started = 0;
    if (abandon)
        return PF_OK;
    if (u->hasher.err)
        return pf__up_hash_error(u->ctx, u->path, u->hasher.err);
    memcpy(u->result->info.sha256, u->hasher.hex, sizeof u->hasher.hex);
    return PF_OK;
}

/* Which signed headers a presigned URL names, for "exactly the signed
 * Content-Type or none". */
static int pf__up_signs_content_type(const char *url)
{
    const char *q = strchr(url, '?'), *p;

    if (!q || (!(p = strstr(q, "X-Amz-SignedHeaders=")) &&
               !(p = strstr(q, "x-amz-signedheaders="))))
        return 0;
    p += strlen("X-Amz-SignedHeaders=");
    return strncasecmp(p, "content-type", 12) == 0;
}

static pf_err pf__up_put(struct pf__up *u)
{
    const pf_upload_options *o = u->opts;
    struct pf__http_reply reply;
    char name[1024];
    pf_err rc;

    memset(&reply, 0, sizeof reply);
    if (!o->put_url)
        return pf__error(u->ctx, PF_EUSAGE, "upload: no PUT URL given");
    pf__redact_url(name, sizeof name, o->put_url);
    if (pf__up_signs_content_type(o->put_url) && !o->content_type)
        return pf__error(u->ctx, PF_EUSAGE, "%s: the URL was signed for a Content-Type; "
                         "the upload must give the same one", name);
    if ((rc = pf__up_check_expiry(u->ctx, o->put_url)) != PF_OK ||
        (o->get_url && (rc = pf__up_check_expiry(u->ctx, o->get_url)) != PF_OK))
        return rc;
    if ((rc = pf__up_send(u, "PUT", o->put_url, o->content_type, NULL, 0, &reply)) != PF_OK)
        goto out;
    u->result->info.attempts = reply.attempts;
    u->result->info.uploaded = 1;
    if (o->content_type && !(u->result->content_type = strdup(o->content_type)))
        goto nomem;
    if (o->get_url) {
        u->result->get_url = strdup(o->get_url);
    } else {
        /* A public bucket serves the object at the URL without its query. */
        size_t n = strcspn(o->put_url, "?#");

        u->result->get_url = strndup(o->put_url, n);
    }
    if (!u->result->get_url)
        goto nomem;
    rc = PF_OK;
    goto out;
nomem:
    rc = pf__error(u->ctx, PF_ENOMEM, "out of memory");
out:
    pf__http_reply_free(&reply);
    return rc;
}

/* The form's fields from a provider's JSON: {"url", "fields": {...}} or
 * the fields object itself. Values must be strings. */
static pf_err pf__up_post_fields(struct pf__up *u, cJSON **doc, const char **url,
                                 struct pf__http_form_field **form, size_t *nform,
                                 char **key)
{
    const char *base = strrchr(u->path, '/') ? strrchr(u->path, '/') + 1 : u->path;
    cJSON *fields, *f;
    size_t n = 0;

    *form = NULL;
    *nform = 0;
    *key = NULL;
    if (!u->opts->post_fields_json ||
        !(*doc = cJSON_Parse(u->opts->post_fields_json)) || !cJSON_IsObject(*doc))
        return pf__error(u->ctx, PF_EJSON, "upload: the POST fields are not a JSON object");
    fields = cJSON_GetObjectItemCaseSensitive(*doc, "fields");
    if (cJSON_IsObject(fields)) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(*doc, "url");

        if (!*url && cJSON_IsString(v))
            *url = v->valuestring;
    } else {
        fields = *doc;
    }
    if (!*url)
        return pf__error(u->ctx, PF_EUSAGE, "upload: no POST URL given (the form's action "
                         "URL, or \"url\" beside \"fields\")");
    if (!(*form = calloc((size_t)cJSON_GetArraySize(fields) + 1, sizeof **form)))
        return pf__error(u->ctx, PF_ENOMEM, "out of memory");
    cJSON_ArrayForEach(f, fields) {
        if (!cJSON_IsString(f))
            return pf__error(u->ctx, PF_EJSON, "upload: POST field \"%s\" is not a string",
                             f->string);
        if (strcasecmp(f->string, "key") == 0) {
            /* S3 replaces ${filename} with the file part's name; done here
             * so the key (and the GET URL) are known. */
            const char *v = f->valuestring, *at = strstr(v, "${filename}");

            if (*key)
                return pf__error(u->ctx, PF_EUSAGE, "upload: the POST fields name the "
                                 "object's key twice");

            *key = at ? pf__asprintf("%.*s%s%s", (int)(at - v), v, base,
                                     at + strlen("${filename}"))
                      : strdup(v);
            if (!*key)
                return pf__error(u->ctx, PF_ENOMEM, "out of memory");
            (*form)[n++] = (struct pf__http_form_field){f->string, *key};
        } else {
            (*form)[n++] = (struct pf__http_form_field){f->string, f->valuestring};
        }
    }
    *nform = n;
    if (!*key)
        return pf__error(u->ctx, PF_EUSAGE, "upload: the POST fields have no \"key\"");
    return PF_OK;
}

static pf_err pf__up_post(struct pf__up *u)
{
    const pf_upload_options *o = u->opts;
    struct pf__http_reply reply;
    struct pf__http_form_field *form = NULL;
    cJSON *doc = NULL;
    const char *url = o->post_url, *ct = o->content_type;
    char *key = NULL, *enc = NULL;
    size_t nform = 0;
    pf_err rc;

    memset(&reply, 0, sizeof reply);
    if ((rc = pf__up_post_fields(u, &doc, &url, &form, &nform, &key)) != PF_OK ||
        (rc = pf__up_check_expiry(u->ctx, url)) != PF_OK)
        goto out;
    /* A policy may pin the file's type in a Content-Type field. */
    for (size_t i = 0; i < nform && !ct; i++)
        if (strcasecmp(form[i].name, "Content-Type") == 0)
            ct = form[i].value;
    if (!ct)
        ct = u->sniffed;
    if ((rc = pf__up_send(u, "POST", url, ct, form, nform, &reply)) != PF_OK)
        goto out;
    u->result->info.attempts = reply.attempts;
    u->result->info.uploaded = 1;
    if (!(u->result->content_type = strdup(ct)))
        goto nomem;
    u->result->key = key;
    key = NULL;
    if (o->get_url) {
        u->result->get_url = strdup(o->get_url);
    } else {
        /* success_action_status 201 answers with the object's <Location>;
         * otherwise it sits at the form's URL under its key. */
        char loc[1024] = "";
        const char *p = reply.body ? strstr(reply.body, "<Location>") : NULL;
        const char *q = p ? strstr(p, "</Location>") : NULL;

        if (p && q && q - p - 10 < (long)sizeof loc) {
            memcpy(loc, p + 10, (size_t)(q - p - 10));
            loc[q - p - 10] = '\0';
        }
        if (loc[0]) {
            u->result->get_url = strdup(loc);
        } else {
            size_t n = strcspn(url, "?#");

            if (!(enc = pf__sigv4_encode(u->result->key, 1)))
                goto nomem;
            u->result->get_url = pf__asprintf("%.*s%s%s", (int)n, url,
                                              n && url[n - 1] == '/' ? "" : "/", enc);
        }
    }
    if (!u->result->get_url)
        goto nomem;
    rc = PF_OK;
    goto out;
nomem:
    rc = pf__error(u->ctx, PF_ENOMEM, "out of memory");
out:
    pf__http_reply_free(&reply);
    cJSON_Delete(doc);
    free(form);
    free(key);
    free(enc);
    return rc;
}

/* "s3://bucket/prefix" → bucket and prefix ("" or ending in '/'). */
static pf_err pf__up_parse_s3(pf_ctx *ctx, const char *s3, char *bucket, size_t bsize,
                              char *prefix, size_t psize)
{
    const char *b, *slash;
    size_t blen;

    if (!s3 || strncmp(s3, "s3://", 5) != 0)
        return pf__error(ctx, PF_EUSAGE, "%s: not an s3://BUCKET/PREFIX URL",
                         s3 ? s3 : "(none)");
    b = s3 + 5;
    slash = strchr(b, '/');
    blen = slash ? (size_t)(slash - b) : strlen(b);
    if (blen < 3 || blen >= bsize || blen > 63 || strcspn(b, "?#") < blen)
        return pf__error(ctx, PF_EUSAGE, "%s: not a valid bucket name", s3);
    memcpy(bucket, b, blen);
    bucket[blen] = '\0';
    prefix[0] = '\0';
    if (slash && slash[1]) {
        if (strlen(slash + 1) + 2 > psize)
            return pf__error(ctx, PF_EUSAGE, "%s: prefix too long", s3);
        snprintf(prefix, psize, "%s%s", slash + 1,
                 slash[strlen(slash) - 1] == '/' ? "" : "/");
    }
    return PF_OK;
}

/* The original extension, lower case, when it is a plain short one. */
static void pf__up_extension(const char *path, char *ext, size_t size)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t i = 0;

    ext[0] = '\0';
    if (!dot || dot == base || strlen(dot) > 8 || size < 9)
        return;
    ext[i++] = '.';
    for (const char *p = dot + 1; *p; p++) {
        char c = (char)tolower((unsigned char)*p);

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            ext[0] = '\0';
            return;
        }
        ext[i++] = c;
    }
    ext[i] = '\0';
}

static pf_err pf__up_s3(struct pf__up *u)
{
    const pf_upload_options *o = u->opts;
    struct pf__aws_creds creds;
    struct pf__presign p;
    struct pf__http_request req;
    struct pf__http_reply reply;
    char bucket[64], prefix[1024], ext[16], *key = NULL, *base = NULL, *path = NULL;
    char *head_url = NULL, *put_url = NULL, keyname[1024];
    const char *ct = o->content_type ? o->content_type : u->sniffed;
    int64_t expires = o->expires ? o->expires : PF__UP_DEFAULT_EXPIRES;
    time_t now = time(NULL);
    pf_err rc;

    memset(&reply, 0, sizeof reply);
    if ((rc = pf__up_parse_s3(u->ctx, o->s3_url, bucket, sizeof bucket, prefix,
                              sizeof prefix)) != PF_OK)
        return rc;
    if ((rc = pf__aws_creds_load(u->ctx, o->credentials_file, &creds)) != PF_OK)
        return rc;
    /* Content-addressed: the key is known only once the bytes are hashed,
     * so this mode reads the file twice (the second time to send it). */
    if ((rc = pf__up_hash_file(u->ctx, u->path, u->fd, u->size,
                               u->result->info.sha256)) != PF_OK)
        goto out;
    pf__up_extension(u->path, ext, sizeof ext);
    if (!(key = pf__asprintf("%s%s%s", prefix, u->result->info.sha256, ext)))
        goto nomem;
    snprintf(keyname, sizeof keyname, "s3://%s/%s", bucket, key);
    if ((rc = pf__s3_locate(u->ctx, &creds, bucket, key, &base, &path)) != PF_OK)
        goto out;

    memset(&p, 0, sizeof p);
    p.base = base;
    p.path = path;
    p.now = now;
    p.expires = 900;            /* the HEAD and PUT are used at once */
    p.method = "HEAD";
    if ((rc = pf__sigv4_presign(u->ctx, &creds, &p, &head_url)) != PF_OK)
        goto out;
    pf__http_request_init(&req);
    req.method = "HEAD";
    req.url = head_url;
    /* Not there yet is the usual answer, not a failure to report. */
    req.absent_ok = 1;
    rc = pf__http_request(u->h, &req, &reply);
    if (rc == PF_OK && reply.status != 404 && reply.content_length == u->size) {
        pf__log(u->ctx, "upload: %s is already there with the same size: nothing "
                "uploaded", keyname);
    } else if (rc == PF_OK) {
        /* Absent, or a different size under the same hash (an interrupted
         * upload on a store that shows partial objects): send it. */
        if (reply.status == 404)
            pf__log(u->ctx, "upload: %s is not there yet: uploading it", keyname);
        else
            pf__log(u->ctx, "upload: %s is there with %lld bytes, not %lld: uploading "
                    "it again", keyname, (long long)reply.content_length,
                    (long long)u->size);
        pf__http_reply_free(&reply);
        p.method = "PUT";
        p.content_type = ct;
        if ((rc = pf__sigv4_presign(u->ctx, &creds, &p, &put_url)) != PF_OK ||
            (rc = pf__up_send(u, "PUT", put_url, ct, NULL, 0, &reply)) != PF_OK)
            goto out;
        u->result->info.attempts = reply.attempts;
        u->result->info.uploaded = 1;
        pf__log(u->ctx, "upload: %s uploaded (%lld bytes)", keyname, (long long)u->size);
    } else {
        goto out;               /* 403 and the like: said by the request */
    }
    p.method = "GET";
    p.content_type = NULL;
    p.expires = expires;
    if ((rc = pf__sigv4_presign(u->ctx, &creds, &p, &u->result->get_url)) != PF_OK)
        goto out;
    if (!(u->result->content_type = strdup(ct)))
        goto nomem;
    u->result->key = key;
    key = NULL;
    rc = PF_OK;
    goto out;
nomem:
    rc = pf__error(u->ctx, PF_ENOMEM, "out of memory");
out:
    pf__aws_creds_wipe(&creds);
    pf__http_reply_free(&reply);
    free(key);
    free(base);
    free(path);
    free(head_url);
    free(put_url);
    return rc;
}

static pf_err pf__up_inline(struct pf__up *u)
{
    const char *ct = u->opts->content_type ? u->opts->content_type : u->sniffed;
    int64_t cap = u->opts->inline_max
                      ? u->opts->inline_max
                      : strncmp(ct, "image/", 6) == 0 ? PF__UP_INLINE_IMAGE
                                                      : PF__UP_INLINE_OTHER;
    int64_t b64 = (u->size + 2) / 3 * 4;
    int64_t total = (int64_t)strlen("data:;base64,") + (int64_t)strlen(ct) + b64;
    unsigned char *raw = NULL;
    char *uri = NULL, size_text[32], cap_text[32];
    pf_err rc = PF_OK;
    int64_t off = 0;

    if (total > cap) {
        pf_format_size(size_text, sizeof size_text, total);
        pf_format_size(cap_text, sizeof cap_text, cap);
        return pf__error(u->ctx, PF_ELIMIT, "%s: as a data URI it would take %s, over "
                         "the %s limit for %s; upload it instead", u->path, size_text,
                         cap_text, ct);
    }
    if (!(raw = malloc((size_t)u->size + 1)) || !(uri = malloc((size_t)total + 1))) {
        rc = pf__error(u->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    while (off < u->size) {
        ssize_t got = pread(u->fd, raw + off, (size_t)(u->size - off), (off_t)off);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = pf__error(u->ctx, PF_EIO, "%s: %s", u->path,
                           got < 0 ? strerror(errno) : "the file shrank while it was read");
            goto out;
        }
        off += got;
    }
    {
        int n = sprintf(uri, "data:%s;base64,", ct);

        EVP_EncodeBlock((unsigned char *)uri + n, raw, (int)u->size);
    }
    {
        unsigned char digest[32];
        unsigned int dlen = 0;

        EVP_Digest(raw, (size_t)u->size, digest, &dlen, EVP_sha256(), NULL);
        pf__up_hex(digest, u->result->info.sha256);
    }
    if (!(u->result->content_type = strdup(ct))) {
        rc = pf__error(u->ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    u->result->get_url = uri;
    uri = NULL;
out:
    free(raw);
    free(uri);
    return rc;
}

/* ---- fal's CDN ------------------------------------------------------------ */

/* fal's storage as its own clients use it (fal-js libs/client/src/storage.ts):
 * POST {rest}/storage/upload/initiate?storage_type=fal-cdn-v3 with
 * {"file_name", "content_type"} and "Authorization: Key $FAL_KEY" gives
 * an upload_url (presigned: a secret) and the file_url the model fetches;
 * the bytes then go to upload_url in a PUT with that very content type. */
#define PF__UP_FAL_REST "https://rest.fal.ai"

/* The key: the first line of credentials_file, else $FAL_KEY; printable
 * and without spaces, since it goes into a header line. */
static pf_err pf__up_fal_key(struct pf__up *u, char **out)
{
    const char *file = u->opts->credentials_file, *env = getenv("FAL_KEY");

    *out = NULL;
    if (file)
        return pf__read_secret_file(u->ctx, file, "an API key", out);
    if (!env || !*env)
        return pf__error(u->ctx, PF_EAUTH, "fal: no API key to upload with: set FAL_KEY, "
                         "or give a credentials file");
    if (!pf__secret_ok(env))
        return pf__error(u->ctx, PF_EAUTH, "$FAL_KEY: not an API key (spaces or control "
                         "characters)");
    return (*out = strdup(env)) ? PF_OK : pf__error(u->ctx, PF_ENOMEM, "out of memory");
}

static pf_err pf__up_fal(struct pf__up *u)
{
    const pf_upload_options *o = u->opts;
    const char *rest = getenv("PREFLIGHT_FAL_REST_URL"), *ct, *base, *up_url, *file_url;
    struct pf__http_request req;
    struct pf__http_reply reply;
    char *key = NULL, *auth = NULL, *url = NULL, *body = NULL, name[1024];
    const char *headers[4];
    cJSON *req_doc = NULL, *doc = NULL;
    size_t n;
    pf_err rc;

    memset(&reply, 0, sizeof reply);
    if (!rest || !*rest)
        rest = PF__UP_FAL_REST;
    n = strlen(rest);
    while (n > 0 && rest[n - 1] == '/')
        n--;
    ct = o->content_type ? o->content_type : u->sniffed;
    base = strrchr(u->path, '/') ? strrchr(u->path, '/') + 1 : u->path;
    if ((rc = pf__up_fal_key(u, &key)))
        goto out;
    if (!(auth = pf__asprintf("Authorization: Key %s", key)) ||
        !(url = pf__asprintf("%.*s/storage/upload/initiate?storage_type=fal-cdn-v3",
                             (int)n, rest)) ||
        !(req_doc = cJSON_CreateObject()) ||
        !cJSON_AddStringToObject(req_doc, "file_name", *base ? base : "upload") ||
        !cJSON_AddStringToObject(req_doc, "content_type", ct) ||
        !(body = cJSON_PrintUnformatted(req_doc)))
        goto nomem;
    headers[0] = auth;
    headers[1] = "Content-Type: application/json";
    headers[2] = "Accept: application/json";
    headers[3] = NULL;
    pf__http_request_init(&req);
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.body = body;
    req.body_len = strlen(body);
    /* Asking for an upload slot costs nothing and writes nothing: safe to
     * ask again after any failure. */
    req.retries = 4;
    if ((rc = pf__http_request(u->h, &req, &reply)) != PF_OK)
        goto out;
    pf__redact_url(name, sizeof name, url);
    doc = reply.body ? cJSON_ParseWithLength(reply.body, reply.body_len) : NULL;
    up_url = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "upload_url"))
           ? cJSON_GetObjectItemCaseSensitive(doc, "upload_url")->valuestring : NULL;
    file_url = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "file_url"))
             ? cJSON_GetObjectItemCaseSensitive(doc, "file_url")->valuestring : NULL;
    if (!up_url || !file_url || !*up_url || !*file_url) {
        rc = pf__error(u->ctx, PF_EAPI, "%s: fal's answer has no %s", name,
                       !up_url || !*up_url ? "upload_url" : "file_url");
        goto out;
    }
    pf__http_reply_free(&reply);
    /* The key goes to fal's REST API only; the PUT carries the URL's own
     * signature, as fal's clients send it. */
    if ((rc = pf__up_send(u, "PUT", up_url, ct, NULL, 0, &reply)) != PF_OK)
        goto out;
    u->result->info.attempts = reply.attempts;
    u->result->info.uploaded = 1;
    if (!(u->result->content_type = strdup(ct)) ||
        !(u->result->get_url = strdup(file_url)))
        goto nomem;
    rc = PF_OK;
    goto out;
nomem:
    rc = pf__error(u->ctx, PF_ENOMEM, "out of memory");
out:
    pf__secret_wipe(auth);
    pf__secret_wipe(key);
    free(auth);
    free(key);
    free(url);
    free(body);
    cJSON_Delete(req_doc);
    cJSON_Delete(doc);
    pf__http_reply_free(&reply);
    return rc;
}

pf_err pf_upload_file(pf_ctx *ctx, const char *path, const pf_upload_options *opts,
                      pf_upload **out)
{
    struct pf__up u;
    pf_upload_options o;
    struct stat st;
    unsigned char head[16];
    ssize_t n;
    pf_err rc = PF_OK;

    *out = NULL;
    memset(&u, 0, sizeof u);
    u.ctx = ctx;
    u.path = path;
    u.opts = opts;
    u.fd = -1;
    if (!opts || !path)
        return pf__error(ctx, PF_EUSAGE, "upload: no file or no options");
    if ((rc = pf__struct_in(ctx, &o, sizeof o, opts, "pf_upload_options")))
        return rc;
    opts = u.opts = &o;
    if ((u.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = pf__error(ctx, errno == ENOENT ? PF_ENOENT : PF_EIO, "%s: %s", path,
                       strerror(errno));
        goto out;
    }
    if (fstat(u.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = pf__error(ctx, PF_EIO, "%s: not a regular file", path);
        goto out;
    }
    u.size = (int64_t)st.st_size;
    n = pread(u.fd, head, sizeof head, 0);
    pf__strlcpy(u.sniffed, pf__up_sniff(head, n > 0 ? (size_t)n : 0, path),
                sizeof u.sniffed);
    if (!(u.result = calloc(1, sizeof *u.result)) || !(u.result->file = strdup(path))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    u.progress.opts = opts;
    u.progress.size = u.size;
    if (opts->mode != PF_UPLOAD_INLINE && (rc = pf__http_new(ctx, &u.h)) != PF_OK)
        goto out;
    if ((opts->mode == PF_UPLOAD_PUT || opts->mode == PF_UPLOAD_POST ||
         opts->mode == PF_UPLOAD_FAL) && !opts->skip_sha256)
        pf__up_hash_start(&u);
    switch (opts->mode) {
    case PF_UPLOAD_PUT:
        rc = pf__up_put(&u);
        break;
    case PF_UPLOAD_POST:
        rc = pf__up_post(&u);
        break;
    case PF_UPLOAD_S3:
        rc = pf__up_s3(&u);
        break;
    case PF_UPLOAD_INLINE:
        rc = pf__up_inline(&u);
        break;
    case PF_UPLOAD_FAL:
        rc = pf__up_fal(&u);
        break;
    default:
        rc = pf__error(ctx, PF_EUSAGE, "upload: unknown mode %d", (int)opts->mode);
    }
    if (rc != PF_OK)
        goto out;
    if (opts->mode != PF_UPLOAD_INLINE) {
        if ((opts->mode == PF_UPLOAD_PUT || opts->mode == PF_UPLOAD_POST ||
             opts->mode == PF_UPLOAD_FAL) &&
            !opts->skip_sha256 && (rc = pf__up_hash_join(&u, 0)) != PF_OK)
            goto out;
        if ((rc = pf__up_verify(&u, u.result->get_url)) != PF_OK)
            goto out;
        u.result->info.verified = 1;
    }
    u.result->info.file = u.result->file;
    u.result->info.get_url = u.result->get_url;
    u.result->info.key = u.result->key;
    u.result->info.content_type = u.result->content_type;
    u.result->info.served_type = u.result->served_type;
    u.result->info.warning = u.result->warning;
    u.result->info.size = u.size;
    *out = u.result;
    u.result = NULL;
out:
    pf__up_hash_join(&u, 1);    /* a hash still running after a failure */
    if (u.fd >= 0)
        close(u.fd);
    pf__http_free(u.h);
    pf_upload_free(u.result);
    return rc;
}
