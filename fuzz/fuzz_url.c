/*
 * Fuzz target for URLs and data URIs as they come from users and servers:
 * the data-URI decoder and prober (pf_probe on "data:..."), the redaction
 * every message and the ledger apply to a URL (pf__redact_url,
 * pf__redact_text), the scheme policy (pf__http_check_url), the output
 * file name made from a server's URL (pf__output_name) and the request-id
 * check that guards URL paths (pf__api_id_ok).
 *
 * Properties beyond memory safety: a redacted URL keeps no query string
 * and no userinfo; an output name is a safe file name; an id that passes
 * is safe in a path. probe_url.c's ranged reader needs a server and is
 * covered by tests/test_url.c instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PROBE_BYTES (1 << 20)
#define FUZZ_PROBE_TIMEOUT_MS 2000

static void check_redacted(const char *url, const char *red)
{
    const char *q = strchr(red, '?');
    const char *scheme = strstr(url, "://");
    const char *first_query = strpbrk(url, "?#");

    /* A "://" inside the query is no scheme; userinfo there is cut with
     * the query. */
    if (scheme && first_query && first_query < scheme)
        scheme = NULL;

    /* Whatever followed the first '?' or '#' of the URL is gone. */
    if (strncmp(url, "data:", 5) != 0 && q && strcmp(q, "?...") != 0)
        abort();
    /* "user:pass@" becomes "***@" (only the part before the path). */
    if (scheme && strncmp(url, "data:", 5) != 0) {
        const char *host = scheme + 3;
        size_t hl = strcspn(host, "/?#");
        const char *at = memchr(host, '@', hl);

        if (at && at > host && strstr(red, "***@") == NULL &&
            strlen(red) + 1 < 2048)
            abort();
    }
}

static void check_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 100 || name[0] == '.' || name[0] == '-')
        abort();
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._-", name[i]))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_ctx *ctx = pf_ctx_new();
    char *url = malloc(size + 1), red[2048], text[PF__ERRBUF], name[128];
    pf_media_info info = PF_MEDIA_INFO_INIT;

    if (!ctx || !url)
        goto out;
    memcpy(url, data, size);
    url[size] = '\0';           /* a C string: cut at the first NUL */
    ctx->max_probe_bytes = FUZZ_MAX_PROBE_BYTES;
    ctx->probe_timeout_ms = FUZZ_PROBE_TIMEOUT_MS;

    pf__redact_url(red, sizeof red, url);
    check_redacted(url, red);
    pf__strlcpy(text, url, sizeof text);
    pf__redact_text(text, sizeof text);
    (void)pf__http_check_url(ctx, url);
    pf__output_name(url, name, sizeof name);
    check_name(name);
    if (pf__api_id_ok(url) &&
        (strchr(url, '/') || strcmp(url, ".") == 0 || strcmp(url, "..") == 0))
        abort();
    /* Only data URIs are probed: anything else would open a file or a
     * connection. */
    if (strncmp(url, "data:", 5) == 0 || strncmp(url, "DATA:", 5) == 0)
        (void)pf_probe(ctx, url, &info);
out:
    free(url);
    pf_ctx_free(ctx);
    return 0;
}
