/* Human-readable output: reports and media descriptions. Colour only on a
 * terminal, and never when NO_COLOR is set (no-color.org). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define RED    "\033[31m"
#define YELLOW "\033[33m"
#define GREEN  "\033[32m"
#define DIM    "\033[2m"
#define BOLD   "\033[1m"
#define RESET  "\033[0m"

void pf_cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("preflight: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void pf_cli_json_error(pf_err code, const char *message)
{
    cJSON *root = cJSON_CreateObject(), *err;
    char *text;

    if (!root)
        return;
    cJSON_AddBoolToObject(root, "ok", 0);
    err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "code", pf_err_name(code));
    cJSON_AddStringToObject(err, "message", message);
    if ((text = cJSON_PrintUnformatted(root))) {
        puts(text);
        free(text);
    }
    cJSON_Delete(root);
}

int pf_cli_use_color(FILE *stream)
{
    const char *no = getenv("NO_COLOR");

    return isatty(fileno(stream)) && !(no && *no);
}

void pf_cli_log_stderr(void *userdata, const char *line)
{
    (void)userdata;
    fprintf(stderr, "preflight: %s\n", line);
}

void pf_cli_describe_media(char *buf, size_t size, const pf_media_info *in)
{
    char sz[32];
    size_t n;
    int mirrored;

    pf_format_size(sz, sizeof sz, in->file_size);
    n = (size_t)snprintf(buf, size, "%s %s", pf_media_kind_name(in->kind), in->format);
    if (n < size && in->codec[0] && strcmp(in->codec, in->format) != 0)
        n += (size_t)snprintf(buf + n, size - n, " %s", in->codec);
    if (n < size && in->width > 0)
        n += (size_t)snprintf(buf + n, size - n, " %d×%d", in->width, in->height);
    /* EXIF orientations 2, 4, 5 and 7 (and HEIF's imir) flip as well. */
    mirrored = in->orientation == 2 || in->orientation == 4 ||
               in->orientation == 5 || in->orientation == 7;
    if (n < size && in->rotation)
        n += (size_t)snprintf(buf + n, size - n, " (stored %d×%d, rotated %d°%s)",
                              in->coded_width, in->coded_height, in->rotation,
                              mirrored ? ", mirrored" : "");
    else if (n < size && mirrored)
        n += (size_t)snprintf(buf + n, size - n, " (stored %d×%d, mirrored)",
                              in->coded_width, in->coded_height);
    if (n < size && in->duration >= 0)
        n += (size_t)snprintf(buf + n, size - n, ", %.2f s", in->duration);
    if (n < size && in->fps > 0)
        n += (size_t)snprintf(buf + n, size - n, ", %.4g fps", in->fps);
    if (n < size && in->frame_count >= 0 && in->kind == PF_MEDIA_VIDEO)
        n += (size_t)snprintf(buf + n, size - n, ", %lld frames",
                              (long long)in->frame_count);
    if (n < size && in->has_audio)
        n += (size_t)snprintf(buf + n, size - n, ", audio %s", in->audio_codec);
    if (n < size && in->trailing_bytes > 0)
        n += (size_t)snprintf(buf + n, size - n, ", %lld bytes after its end",
                              (long long)in->trailing_bytes);
    if (n < size)
        snprintf(buf + n, size - n, ", %s", sz);
}

/* A limit or measured value as a person reads it: numbers to six
 * significant digits, strings without quotes. */
static void readable(char *buf, size_t size, const char *json)
{
    cJSON *v = json ? cJSON_Parse(json) : NULL;

    if (!v)
        snprintf(buf, size, "%s", json ? json : "");
    else if (cJSON_IsNumber(v))
        snprintf(buf, size, "%.6g", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(buf, size, "%s", v->valuestring);
    else
        snprintf(buf, size, "%s", json);
    cJSON_Delete(v);
}

void pf_cli_print_report(FILE *out, const pf_report *r, int color)
{
    const char *red = color ? RED : "", *yellow = color ? YELLOW : "";
    const char *green = color ? GREEN : "", *dim = color ? DIM : "";
    const char *bold = color ? BOLD : "", *reset = color ? RESET : "";
    size_t nv = pf_report_violation_count(r), nw = pf_report_warning_count(r);
    size_t ne = pf_report_error_count(r);
    const char *defaults = pf_report_defaults_json(r);

    for (size_t i = 0; i < pf_report_input_count(r); i++) {
        const char *field, *value;
        const pf_media_info *info = pf_report_input(r, i, &field, &value);
        char desc[512];

        pf_cli_describe_media(desc, sizeof desc, info);
        fprintf(out, "  %s%-16s%s %s: %s\n", dim, field, reset, value, desc);
    }
    for (size_t i = 0; i < ne; i++) {
        const pf_input_error *e = pf_report_error(r, i);

        fprintf(out, "%s✗ %-16s%s %s %s[%s]%s\n", red, e->field, reset, e->message,
                dim, pf_err_name(e->code), reset);
    }
    for (size_t i = 0; i < nv; i++) {
        const pf_violation *v = pf_report_violation(r, i);
        char lim[128], act[128];

        readable(lim, sizeof lim, v->limit);
        readable(act, sizeof act, v->actual);
        fprintf(out, "%s✗ %-16s%s %s", red, v->field, reset, v->message);
        if (v->limit || v->actual)
            fprintf(out, " %s(%s %s; got %s)%s", dim, v->rule, lim,
                    v->actual ? act : "-", reset);
        else
            fprintf(out, " %s(%s)%s", dim, v->rule, reset);
        fputc('\n', out);
    }
    for (size_t i = 0; i < nw; i++) {
        const pf_warning *w = pf_report_warning(r, i);

        /* The library's advice, and the command that follows it. */
        fprintf(out, "%s! %-16s%s %s%s\n", yellow, w->field, reset, w->message,
                strstr(w->message, "a fix can crop or pad it") ? " ('preflight fix')" : "");
    }
    if (strcmp(defaults, "{}") != 0)
        fprintf(out, "  %sdefaults applied by the API: %s%s\n", dim, defaults, reset);
    if (ne)
        fprintf(out, "%s%sERROR%s: %zu input%s could not be checked, %zu violation%s\n",
                bold, red, reset, ne, ne == 1 ? "" : "s", nv, nv == 1 ? "" : "s");
    else if (nv)
        fprintf(out, "%s%sFAIL%s: %zu violation%s, %zu warning%s\n", bold, red, reset,
                nv, nv == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
    else
        fprintf(out, "%s%sPASS%s%s\n", bold, green, reset,
                nw ? (nw == 1 ? " with 1 warning" : " with warnings") : "");
}

static const char *pf_cli_command = "";

void pf_cli_set_command(const char *command)
{
    pf_cli_command = command ? command : "";
}

/* Which option stands behind a library message, by error code: the
 * subcommands it applies to (NULL: all) and, where one code covers several
 * causes, words of the library's message that pick one (NULL: any). */
#define PF_CLI_ANY_CODE (-1)
static const struct pf_cli_hint_row {
    int code;                   /* a pf_err, or PF_CLI_ANY_CODE */
    const char *commands;       /* space-separated, or NULL */
    const char *needle;         /* in the library's message, or NULL */
    const char *hint;           /* with JOB: one %s, the job's id */
    int job;
} pf_cli_hints[] = {
    {PF_ENOMODEL, NULL, NULL,
     "'preflight models' lists them; 'preflight models import' adds one; "
     "--schema FILE checks any other model", 0},
    {PF_EEXIST, "wait resume run", NULL, "--force replaces it", 0},
    {PF_EUNKNOWN, "submit run", "again, forced", "--force", 0},
    {PF_EAUTH, NULL, "no API token", "--token-file FILE", 0},
    {PF_EAUTH, NULL, "no API key", "--token-file FILE", 0},
    {PF_ESCHEMA, "models", "names no model id", "--as PROVIDER:MODEL", 0},
    {PF_EUSAGE, NULL, "when plain HTTP is allowed", "--allow-http", 0},
    {PF_EUSAGE, "submit run", "names no model", "--model", 0},
    {PF_EUSAGE, "submit", "host it first", "'preflight run --upload' or 'preflight upload'", 0},
    {PF_EUSAGE, "run", "host it first", "--upload", 0},
    {PF_EUSAGE, "run", "can be hosted",
     "one presigned URL pair hosts one file: use --upload s3://BUCKET/PREFIX", 0},
    {PF_EUSAGE, "upload run", "signed for a Content-Type", "--content-type TYPE", 0},
    {PF_EUSAGE, "upload", "no POST URL", "--post-url URL", 0},
    {PF_ENOENT, "status wait result cancel", "in the ledger", "'preflight jobs' lists them", 0},
    /* The job commands' interruptions and time-outs: how to pick it up. */
    {PF_EINTR, NULL, "again picks it up", "'preflight wait %s' or 'preflight resume'", 1},
    {PF_EINTR, NULL, "again resumes the download", "'preflight wait %s'", 1},
    {PF_EINTR, NULL, "may still be queued", "'preflight cancel %s'", 1},
    {PF_ETIMEOUT, NULL, "again picks it up", "'preflight wait %s'", 1},
    {PF_EHELD, NULL, "resuming it takes it over", "'preflight resume'", 0},
    {PF_CLI_ANY_CODE, NULL, "is recorded: waiting for", "'preflight wait %s'", 1},
};

static int command_in(const char *list)
{
    size_t n = strlen(pf_cli_command);

    if (!list)
        return 1;
    for (const char *p = list; n && (p = strstr(p, pf_cli_command)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static const struct pf_cli_hint_row *find_hint(pf_err code, const char *message, int job)
{
    for (size_t i = 0; i < sizeof pf_cli_hints / sizeof pf_cli_hints[0]; i++) {
        const struct pf_cli_hint_row *h = &pf_cli_hints[i];

        if ((h->code == (int)code || h->code == PF_CLI_ANY_CODE) && h->job <= job &&
            command_in(h->commands) && (!h->needle || (message && strstr(message, h->needle))))
            return h;
    }
    return NULL;
}

const char *pf_cli_hint(pf_err code, const char *message)
{
    const struct pf_cli_hint_row *h = find_hint(code, message, 0);

    return h ? h->hint : NULL;
}

const char *pf_cli_job_error(pf_ctx *ctx, pf_err code, const pf_job *job)
{
    static _Thread_local char buf[1600];
    const char *msg = pf_ctx_error(ctx);
    const struct pf_cli_hint_row *h = find_hint(code, msg, job != NULL);
    char id[64], hint[256];

    if (!h) {
        snprintf(buf, sizeof buf, "%s", msg);
        return buf;
    }
    if (h->job) {
        if (pf_job_request_id(job))
            snprintf(id, sizeof id, "%.60s", pf_job_request_id(job));
        else
            snprintf(id, sizeof id, "%lld", (long long)pf_job_number(job));
        /* The table's own format, one %s. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(hint, sizeof hint, h->hint, id);
#pragma GCC diagnostic pop
    } else {
        snprintf(hint, sizeof hint, "%s", h->hint);
    }
    snprintf(buf, sizeof buf, "%s (%s)", msg, hint);
    return buf;
}

const char *pf_cli_ctx_error(pf_ctx *ctx, pf_err code)
{
    return pf_cli_job_error(ctx, code, NULL);
}

int pf_cli_fail(int json, pf_err code, const char *message)
{
    pf_cli_error("%s", message);
    if (json)
        pf_cli_json_error(code, message);
    return PF_EXIT_ERROR;
}
