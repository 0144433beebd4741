/* Small string, file and time helpers shared by every module. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int64_t pf__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pf__sleep_ms(pf_ctx *ctx, int64_t ms)
{
    int64_t end = pf__now_ms() + ms;

    for (;;) {
        int64_t left = end - pf__now_ms();
        struct timespec ts;

        if (ctx->interrupted)
            return -1;
        if (left <= 0)
            return 0;
        if (left > 50)
            left = 50;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left * 1000000L;
        nanosleep(&ts, NULL);
    }
}

pf_err pf__mkdir_p(pf_ctx *ctx, const char *dir, unsigned mode, const char *what)
{
    char path[PATH_MAX];
    struct stat st;
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof path)
        return pf__error(ctx, PF_EUSAGE, "%s: not a usable %s", dir, what);
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;

            *p = '\0';
            if (mkdir(path, (mode_t)mode) != 0 && errno != EEXIST)
                return pf__error(ctx, errno == ENOSPC || errno == EDQUOT ? PF_ENOSPC : PF_EIO,
                                 "%s: cannot create the %s: %s", path, what,
                                 strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return pf__error(ctx, PF_EUSAGE, "%s: not a directory", dir);
    return PF_OK;
}

void pf__strlcpy(char *dst, const char *src, size_t size)
{
    size_t n;

    if (!size)
        return;
    n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

char *pf__asprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    void *locale = pf__c_locale_begin();

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = malloc((size_t)n + 1))) {
        s = NULL;
        goto out;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
out:
    pf__c_locale_end(locale);
    return s;
}

pf_err pf__read_text_file(pf_ctx *ctx, const char *path, size_t max_bytes,
                          char **out, size_t *out_len)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    pf_err rc = PF_OK;
    int is_stdin = strcmp(path, "-") == 0;

    *out = NULL;
    if (is_stdin) {
        f = stdin;
    } else if (!(f = fopen(path, "rb"))) {
        rc = pf__error(ctx, errno == ENOENT ? PF_ENOENT : PF_EIO, "%s: %s",
                       path, strerror(errno));
        goto out;
    }
    for (;;) {
        size_t n;

        if (len + 4096 + 1 > cap) {
            char *grown;

            cap = cap ? cap * 2 : 8192;
            if (!(grown = realloc(buf, cap))) {
                rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            buf = grown;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (len > max_bytes) {
            rc = pf__error(ctx, PF_ELIMIT, "%s: larger than %zu bytes", path,
                           max_bytes);
            goto out;
        }
        if (n == 0) {
            if (ferror(f)) {
                rc = pf__error(ctx, PF_EIO, "%s: read error", path);
                goto out;
            }
            break;
        }
    }
    buf[len] = '\0';
    *out = buf;
    if (out_len)
        *out_len = len;
    buf = NULL;
out:
    if (f && !is_stdin)
        fclose(f);
    free(buf);
    return rc;
}

long pf__utf8_length(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long count = 0;

    while (*p) {
        unsigned c = *p;
        int extra;
        unsigned cp;

        if (c < 0x80) {
            extra = 0;
            cp = c;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return -1;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (*p & 0x3F);
        }
        /* Overlong forms, surrogates and out-of-range points are not UTF-8. */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        count++;
    }
    return count;
}

void pf__format_number(char *buf, size_t size, double v)
{
    /* JSON's decimal point is '.', whatever the process's locale. */
    void *locale = pf__c_locale_begin();

    if (!isfinite(v)) {
        snprintf(buf, size, "null");
        goto out;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
        goto out;
    }
    /* Shortest %g precision that reads back the same double. */
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
out:
    pf__c_locale_end(locale);
}

void pf__redact_text(char *s, size_t size)
{
    char out[PF__ERRBUF * 2], url[2048], red[2048];
    const char *p = s, *q;
    size_t o = 0;

    if (!strstr(s, "://"))
        return;
    while (*p && o + 1 < sizeof out) {
        size_t n = 0, len;

        if (strncasecmp(p, "https://", 8) == 0)
            n = 8;
        else if (strncasecmp(p, "http://", 7) == 0)
            n = 7;
        if (!n) {
            out[o++] = *p++;
            continue;
        }
        /* A URL ends where the prose around it resumes. */
        len = n + strcspn(p + n, " \t\r\n\"'<>()[]{},;`");
        q = memchr(p, '?', len);
        if (q && strncmp(q, "?...", 4) == 0) {
            /* Redacted already (by the code that said it). */
            o += (size_t)snprintf(out + o, sizeof out - o, "%.*s", (int)len, p);
            if (o >= sizeof out)
                o = sizeof out - 1;
            p += len;
            continue;
        }
        while (len > n && strchr(".:!", p[len - 1]))
            len--;
        snprintf(url, sizeof url, "%.*s", (int)len, p);
        pf__redact_url(red, sizeof red, url);
        o += (size_t)snprintf(out + o, sizeof out - o, "%s", red);
        if (o >= sizeof out)
            o = sizeof out - 1;
        p += len;
    }
    out[o] = '\0';
    pf__strlcpy(s, out, size);
}

void pf__redact_url(char *dst, size_t size, const char *url)
{
    const char *first_query = strpbrk(url, "?#");
    /* A "://" after the first '?' or '#' is inside the query (a redirect
     * target, a hostile string): it names no scheme, and what follows the
     * '?' must still go (found by fuzz_url). */
    const char *scheme_end = first_query && strstr(url, "://") > first_query
                           ? NULL : strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    const char *path = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(path - host));
    const char *query = strpbrk(path, "?#");
    char tmp[2048];

    if (strncmp(url, "data:", 5) == 0) {
        /* Never echo a data URI's payload: it can be megabytes. */
        const char *comma = strchr(url, ',');
        size_t n = comma ? (size_t)(comma - url) : strlen(url);
        if (n > 64)
            n = 64;
        snprintf(dst, size, "%.*s,...", (int)n, url);
        return;
    }
    if (at)
        snprintf(tmp, sizeof tmp, "%.*s***@%.*s", (int)(host - url), url,
                 query ? (int)(query - at - 1) : (int)strlen(at + 1), at + 1);
    else
        snprintf(tmp, sizeof tmp, "%.*s",
                 query ? (int)(query - url) : (int)strlen(url), url);
    if (query && *query == '?')
        snprintf(dst, size, "%s?...", tmp);
    else
        pf__strlcpy(dst, tmp, size);
}

/* Decimal units, truncated rather than rounded: a file just under a
 * "< 4.7 MB" limit reads 4.69 MB, never 4.70 MB. */
void pf_format_size(char *buf, size_t size, int64_t bytes)
{
    void *locale = pf__c_locale_begin();

    if (bytes < 0)
        snprintf(buf, size, "? bytes");
    else if (bytes < 1000)
        snprintf(buf, size, "%lld bytes", (long long)bytes);
    else if (bytes < 1000000)
        snprintf(buf, size, "%.1f kB", (double)(bytes / 100) / 10);
    else if (bytes < 1000000000)
        snprintf(buf, size, "%.2f MB", (double)(bytes / 10000) / 100);
    else
        snprintf(buf, size, "%.2f GB", (double)(bytes / 10000000) / 100);
    pf__c_locale_end(locale);
}

pf_err pf__xdg_dir(pf_ctx *ctx, const char *env, const char *fallback,
                   const char *sub, const char *what, char **out)
{
    const char *xdg = getenv(env), *home = getenv("HOME");

    *out = NULL;
    if (xdg && xdg[0] == '/') {
        *out = pf__asprintf("%s/%s", xdg, sub);
    } else {
        if (!home || home[0] != '/') {
            struct passwd *pw = getpwuid(getuid());

            home = pw ? pw->pw_dir : NULL;
        }
        if (!home)
            return pf__error(ctx, PF_EUSAGE, "no home directory for %s: set %s", what, env);
        *out = pf__asprintf("%s/%s/%s", home, fallback, sub);
    }
    return *out ? PF_OK : pf__error(ctx, PF_ENOMEM, "out of memory");
}

int pf__secret_ok(const char *s)
{
    if (!*s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return 0;
    return 1;
}

void pf__secret_wipe(char *s)
{
    volatile char *p = s;

    while (p && *p)
        *p++ = '\0';
}

pf_err pf__read_secret_file(pf_ctx *ctx, const char *path, const char *what, char **out)
{
    char *text = NULL;
    size_t len = 0, n;
    pf_err rc;

    *out = NULL;
    if ((rc = pf__read_text_file(ctx, path, 65536, &text, &len)))
        return rc;
    n = strcspn(text, "\r\n");
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    text[n] = '\0';
    if (!pf__secret_ok(text)) {
        pf__secret_wipe(text);
        free(text);
        return pf__error(ctx, PF_EAUTH, "%s: the first line is not %s (empty, or with "
                         "spaces or control characters)", path, what);
    }
    *out = text;
    return PF_OK;
}
