/* The context: options and the last error, one per thread. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

pf_ctx *pf_ctx_new(void)
{
    pf_ctx *ctx = calloc(1, sizeof *ctx);
    const char *env;

    if (!ctx)
        return NULL;
    /* Generous for real headers (a JPEG's EXIF thumbnail, an MP4's moov of
     * a long recording) yet bounded for hostile ones. */
    ctx->max_probe_bytes = 64 << 20;
    ctx->probe_timeout_ms = 20000;
    ctx->max_remote_head = 8 << 20;
    ctx->retry_base_ms = 1000;
    if ((env = pf__env_knob("PREFLIGHT_RETRY_BASE_MS")))
        ctx->retry_base_ms = atoi(env) > 0 ? atoi(env) : 1;
    return ctx;
}

void pf_ctx_free(pf_ctx *ctx)
{
    if (!ctx)
        return;
    free(ctx->rules_dir);
    free(ctx);
}

const char *pf_ctx_error(const pf_ctx *ctx)
{
    return ctx ? ctx->error : "";
}

pf_err pf_ctx_set_rules_dir(pf_ctx *ctx, const char *dir)
{
    char *copy = NULL;

    if (dir && !(copy = strdup(dir)))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    free(ctx->rules_dir);
    ctx->rules_dir = copy;
    return PF_OK;
}

void pf_ctx_set_allow_http(pf_ctx *ctx, int allow)
{
    ctx->allow_http = allow != 0;
}

void pf_ctx_set_log(pf_ctx *ctx, pf_log_fn fn, void *userdata)
{
    ctx->log_fn = fn;
    ctx->log_userdata = userdata;
}

void pf__log(pf_ctx *ctx, const char *fmt, ...)
{
    char line[PF__ERRBUF];
    va_list ap;

    if (!ctx || !ctx->log_fn)
        return;
    void *locale = pf__c_locale_begin();
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pf__c_locale_end(locale);
    ctx->log_fn(ctx->log_userdata, line);
}

void pf_free(void *p)
{
    free(p);
}

void pf_ctx_interrupt(pf_ctx *ctx)
{
    if (ctx)
        ctx->interrupted = 1;
}
