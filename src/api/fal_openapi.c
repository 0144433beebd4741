/*
 * 'models import fal:ENDPOINT_ID': fal publishes one OpenAPI document per
 * endpoint at https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=ID
 * (shared/schemas/fal/README.md). It is fetched through the HTTP layer
 * (retries, redaction, the scheme policy) and handed to the catalogue,
 * which stores it only if it loads as that endpoint's schema.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "../rules/rules_internal.h"

#define PF__FAL_OPENAPI_URL "https://fal.ai/api/openapi/queue/openapi.json"
#define PF__FAL_OPENAPI_MAX (4u << 20)

/* An endpoint id: owner/app[/sub/path], segments of [A-Za-z0-9._-], none
 * of them "." or "..": it goes into a URL and a file path unescaped. */
int pf__fal_endpoint_ok(const char *id)
{
    const char *seg = id;
    int segments = 0;

    if (!id || !*id || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-_./") != strlen(id))
        return 0;
    for (const char *p = id; ; p++) {
        if (*p == '/' || !*p) {
            size_t n = (size_t)(p - seg);

            if (n == 0 || (n == 1 && seg[0] == '.') ||
                (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            segments++;
            if (!*p)
                return segments >= 2;
            seg = p + 1;
        }
    }
}

pf_err pf_models_import_fal(pf_ctx *ctx, const char *endpoint_id, unsigned flags,
                            char **id, char **stored)
{
    const char *base = getenv("PREFLIGHT_FAL_OPENAPI_URL");
    struct pf__http *h = NULL;
    struct pf__http_request req;
    struct pf__http_reply reply;
    char *url = NULL, *want = NULL, name[1024];
    size_t n;
    pf_err rc;

    memset(&reply, 0, sizeof reply);
    if (id)
        *id = NULL;
    if (stored)
        *stored = NULL;
    if (!pf__fal_endpoint_ok(endpoint_id))
        return pf__error(ctx, PF_EUSAGE, "'%s' is not a fal endpoint id "
                         "(owner/app[/path], e.g. fal-ai/flux/dev)",
                         endpoint_id ? endpoint_id : "");
    if (!base || !*base)
        base = PF__FAL_OPENAPI_URL;
    if (strncmp(base, "https://", 8) != 0 &&
        !(strncmp(base, "http://", 7) == 0 && ctx->allow_http)) {
        pf__redact_url(name, sizeof name, base);
        return pf__error(ctx, PF_EUSAGE, "%s: fal's OpenAPI documents are fetched over "
                         "https:// (plain http:// only to a loopback test server, when "
                         "plain HTTP is allowed)", name);
    }
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (!(url = pf__asprintf("%.*s%sendpoint_id=%s", (int)n, base,
                             memchr(base, '?', n) ? "&" : "?", endpoint_id)) ||
        !(want = pf__asprintf("fal:%s", endpoint_id))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = pf__http_new(ctx, &h)))
        goto out;
    pf__http_request_init(&req);
    req.url = url;
    req.headers = (const char *const[]){ "Accept: application/json", NULL };
    req.max_body = PF__FAL_OPENAPI_MAX;
    if ((rc = pf__http_request(h, &req, &reply)))
        goto out;
    pf__redact_url(name, sizeof name, url);
    rc = pf__catalogue_store(ctx, reply.body ? reply.body : "", reply.body_len, name,
                             NULL, want, flags, id, stored);
out:
    pf__http_reply_free(&reply);
    pf__http_free(h);
    free(url);
    free(want);
    return rc;
}
