/* preflight upload: host one local file for the API with pf_upload_file,
 * show progress on a terminal, print the URL to use. Presigned URLs are
 * secrets: they are read from argv, a file or stdin, and never printed
 * except as the result asked for. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char pf_cli_upload_usage[] =
    "usage: preflight upload FILE --put-url URL [--get-url URL]\n"
    "       preflight upload FILE --post-url URL --post-fields JSONFILE [--get-url URL]\n"
    "       preflight upload FILE --upload s3://BUCKET/PREFIX [--expires SECONDS]\n"
    "                             [--credentials-file FILE]\n"
    "       preflight upload FILE --upload fal [--credentials-file FILE]\n"
    "       preflight upload FILE --inline\n"
    "                [--content-type TYPE] [--json] [--verbose]\n"
    "\n"
    "Makes a local file reachable by the API's servers, then reads the URL back\n"
    "without credentials and checks that it serves the file's size before\n"
    "anything is submitted. Streams in constant memory with Content-Length,\n"
    "retries what HTTP allows, never an expired or rejected signature. Prints\n"
    "the URL to put in the request.\n"
    "\n"
    "A URL that serves the file as application/octet-stream (or with no type,\n"
    "or as another kind of media) gets a warning, not an error: Runway's API,\n"
    "and CometAPI's Runway-compatible one, fetches an input only when it is\n"
    "served with its media type, but the documents preflight checks against ask\n"
    "only for a public HTTPS URL, and Runway refuses such an input when the task\n"
    "is submitted, before anything is paid. Sending the type (--content-type; a\n"
    "presigned PUT URL must allow it) serves it right; --upload always sends it.\n"
    "\n"
    "  --put-url URL       PUT to this presigned URL; @FILE reads it from a file\n"
    "                      and - from stdin, keeping it out of the process list\n"
    "  --get-url URL       the URL the API will fetch (default: the PUT URL\n"
    "                      without its query, for a public bucket); @FILE, -\n"
    "  --post-url URL      an S3 presigned POST's form URL; @FILE, -\n"
    "  --post-fields FILE  its fields: a JSON object, or {\"url\", \"fields\"} as\n"
    "                      upload endpoints hand them out (\"-\": stdin)\n"
    "  --upload s3://BUCKET/PREFIX\n"
    "                      sign the PUT and a GET URL for your own bucket (AWS,\n"
    "                      R2, MinIO...); the key is PREFIX/<sha256><.ext>, and\n"
    "                      an object already there with the same size is not\n"
    "                      uploaded again. Credentials: AWS_ACCESS_KEY_ID,\n"
    "                      AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION\n"
    "                      (default us-east-1), AWS_ENDPOINT_URL (path style)\n"
    "  --upload fal        put it on fal's CDN as fal's clients do (FAL_KEY, or\n"
    "                      the key in --credentials-file's first line; the REST\n"
    "                      API at PREFLIGHT_FAL_REST_URL, default rest.fal.ai)\n"
    "  --expires SECONDS   how long the signed GET URL works (default 86400,\n"
    "                      at most 604800)\n"
    "  --credentials-file FILE\n"
    "                      read the AWS_* variables (or an AWS credentials\n"
    "                      file's [default] profile) from FILE, not the\n"
    "                      environment; with --upload fal, the fal key (its\n"
    "                      first line) instead of FAL_KEY\n"
    "  --inline            no upload: print a base64 data: URI, for APIs that\n"
    "                      take one (CometAPI's videoUri); refused above 5 MB\n"
    "                      for an image, 16 MB otherwise\n"
    "  --content-type TYPE the type to send (with --put-url: exactly the one the\n"
    "                      URL was signed with); default: sniffed from the bytes,\n"
    "                      or none for --put-url\n"
    "  --json              print one JSON object: {file, size, sha256, get_url,\n"
    "                      key, content_type, uploaded, skipped, verified,\n"
    "                      served_type, warning}\n"
    "  --verbose           log each request (never a query string), to stderr\n"
    "\n"
    "exit status: 0 uploaded (or already there) and verified, 2 it was not.\n";

struct bar {
    int on;
    struct timespec start;
    int drawn;
};

static double since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One line redrawn in place on stderr: percent, bytes, rate. */
static int draw_bar(void *ud, int64_t done, int64_t total)
{
    struct bar *b = ud;
    char d[32], t[32], r[32];
    double secs = since(&b->start);

    if (!b->on)
        return 0;
    pf_format_size(d, sizeof d, done);
    pf_format_size(t, sizeof t, total);
    pf_format_size(r, sizeof r, secs > 0 ? (int64_t)(done / secs) : 0);
    fprintf(stderr, "\rupload %3d%%  %s / %s  %s/s   ",
            total > 0 ? (int)(done * 100 / total) : 100, d, t, r);
    b->drawn = 1;
    return 0;
}

static char *read_text(const char *path, int *stdin_used)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (f == stdin && (*stdin_used)++) {
        pf_cli_error("upload: only one option can read stdin");
        return NULL;
    }
    if (!f) {
        pf_cli_error("%s: cannot read the POST fields", path);
        return NULL;
    }
    for (;;) {
        size_t got;

        if (len + 4096 + 1 > cap) {
            char *grown = realloc(buf, cap = cap ? cap * 2 : 8192);

            if (!grown || cap > (1 << 20)) {
                free(grown ? grown : buf);
                pf_cli_error("%s: the POST fields are too large", path);
                buf = NULL;
                break;
            }
            buf = grown;
        }
        got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    if (buf)
        buf[len] = '\0';
    if (f != stdin)
        fclose(f);
    return buf;
}

int pf_cli_upload(int argc, char **argv)
{
    pf_upload_options o;
    pf_upload *up = NULL;
    pf_ctx *ctx = NULL;
    const char *file = NULL, *v, *put = NULL, *get = NULL, *post = NULL;
    const char *fields = NULL, *expires = NULL;
    char *put_url = NULL, *get_url = NULL, *post_url = NULL, *fields_text = NULL;
    int json = 0, verbose = 0, inline_mode = 0, modes, stdin_used = 0;
    int status = PF_EXIT_ERROR;
    struct bar bar;
    char msg[600];
    pf_err rc;

    pf_upload_options_init(&o);
    memset(&bar, 0, sizeof bar);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(pf_cli_upload_usage, stdout);
            return PF_EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "--inline") == 0) {
            inline_mode = 1;
        } else if (pf_cli_option_value(argc, argv, &i, "--put-url", &v)) {
            if (!(put = v))
                goto missing;
        } else if (pf_cli_option_value(argc, argv, &i, "--get-url", &v)) {
            if (!(get = v))
                goto missing;
        } else if (pf_cli_option_value(argc, argv, &i, "--post-url", &v)) {
            if (!(post = v))
                goto missing;
        } else if (pf_cli_option_value(argc, argv, &i, "--post-fields", &v)) {
            if (!(fields = v))
                goto missing;
        } else if (pf_cli_option_value(argc, argv, &i, "--upload", &v)) {
            if (!(o.s3_url = v))
                goto missing;
        } else if (pf_cli_option_value(argc, argv, &i, "--expires", &v)) {
            if (!(expires = v))
                goto missing;
        } else if (pf_cli_option_value(argc, argv, &i, "--credentials-file", &v)) {
            if (!(o.credentials_file = v))
                goto missing;
        } else if (pf_cli_option_value(argc, argv, &i, "--content-type", &v)) {
            if (!(o.content_type = v))
                goto missing;
        } else if (a[0] == '-' && a[1]) {
            pf_cli_error("upload: unknown option %s (see 'preflight help upload')", a);
            return PF_EXIT_ERROR;
        } else if (!file) {
            file = a;
        } else {
            pf_cli_error("upload: one FILE at a time");
            return PF_EXIT_ERROR;
        }
        continue;
    missing:
        pf_cli_error("upload: %s needs a value", a);
        return PF_EXIT_ERROR;
    }
    modes = (put != NULL) + (post != NULL || fields != NULL) + (o.s3_url != NULL) +
            inline_mode;
    if (!file || modes != 1) {
        pf_cli_error("upload: give FILE and one of --put-url, --post-url/--post-fields, "
                     "--upload, --inline (see 'preflight help upload')");
        return PF_EXIT_ERROR;
    }
    if (expires) {
        char *end;
        long long e = strtoll(expires, &end, 10);

        if (*end || e < 1 || e > 604800 || !o.s3_url) {
            pf_cli_error("upload: --expires takes 1 to 604800 seconds, with --upload");
            return PF_EXIT_ERROR;
        }
        o.expires = e;
    }
    if (get && (o.s3_url || inline_mode)) {
        pf_cli_error("upload: --get-url goes with --put-url or --post-url");
        return PF_EXIT_ERROR;
    }
    if (!fields && post) {
        pf_cli_error("upload: --post-url needs --post-fields");
        return PF_EXIT_ERROR;
    }
    if ((put && !(put_url = pf_cli_url_arg(put, "--put-url", &stdin_used, msg,
                                           sizeof msg))) ||
        (get && !(get_url = pf_cli_url_arg(get, "--get-url", &stdin_used, msg,
                                           sizeof msg))) ||
        (post && !(post_url = pf_cli_url_arg(post, "--post-url", &stdin_used, msg,
                                             sizeof msg)))) {
        pf_cli_error("upload: %s", msg);
        goto out;
    }
    if (fields && !(fields_text = read_text(fields, &stdin_used)))
        goto out;
    o.mode = put ? PF_UPLOAD_PUT : fields ? PF_UPLOAD_POST
             : o.s3_url ? PF_UPLOAD_S3 : PF_UPLOAD_INLINE;
    /* "--upload fal": fal's CDN, the key from FAL_KEY or --credentials-file. */
    if (o.s3_url && strcmp(o.s3_url, "fal") == 0) {
        o.mode = PF_UPLOAD_FAL;
        o.s3_url = NULL;
    }
    o.put_url = put_url;
    o.get_url = get_url;
    o.post_url = post_url;
    o.post_fields_json = fields_text;
    /* The hash is part of the JSON; the plain output is the URL alone, so
     * it needs no second core busy hashing beside the send. */
    o.skip_sha256 = !json;

    if (!(ctx = pf_ctx_new())) {
        pf_cli_error("out of memory");
        goto out;
    }
    if (verbose)
        pf_ctx_set_log(ctx, pf_cli_log_stderr, NULL);
    bar.on = !json && !verbose && isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &bar.start);
    o.progress = draw_bar;
    o.progress_userdata = &bar;
    /* Ctrl-C stops the transfer cleanly instead of killing it mid-write. */
    pf_cli_catch_interrupt(ctx, 2);
    rc = pf_upload_file(ctx, file, &o, &up);
    pf_cli_release_interrupt();
    if (bar.drawn)
        fputc('\n', stderr);
    if (rc != PF_OK) {
        pf_cli_fail(json, rc, pf_cli_ctx_error(ctx, rc));
        goto out;
    }
    /* Said, not fatal: see pf_upload_file. */
    if (pf_upload_get(up)->warning)
        pf_cli_error("warning: %s (--content-type TYPE)", pf_upload_get(up)->warning);
    if (json) {
        char *text = pf_upload_to_json(up);

        if (!text) {
            pf_cli_error("out of memory");
            goto out;
        }
        puts(text);
        pf_free(text);
    } else {
        puts(pf_upload_get(up)->get_url);
    }
    status = PF_EXIT_OK;
out:
    pf_upload_free(up);
    pf_ctx_free(ctx);
    free(put_url);
    free(get_url);
    free(post_url);
    free(fields_text);
    return status;
}
