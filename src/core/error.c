/* Error codes: names and messages generated from the one list in the
 * public header, so they can never drift apart (libuv's UV_ERRNO_MAP). */
#include <stdio.h>
#include <stdarg.h>

#include "internal.h"

static const char *const err_names[] = {
#define PF__ERR_NAME(suffix, name, msg) name,
    PF_ERRNO_MAP(PF__ERR_NAME)
#undef PF__ERR_NAME
};

static const char *const err_messages[] = {
#define PF__ERR_MSG(suffix, name, msg) msg,
    PF_ERRNO_MAP(PF__ERR_MSG)
#undef PF__ERR_MSG
};

const char *pf_err_name(pf_err err)
{
    if ((unsigned)err >= PF__ERR_COUNT)
        return "unknown";
    return err_names[err];
}

const char *pf_strerror(pf_err err)
{
    if ((unsigned)err >= PF__ERR_COUNT)
        return "unknown error";
    return err_messages[err];
}

pf_err pf__error(pf_ctx *ctx, pf_err err, const char *fmt, ...)
{
    va_list ap;

    if (!ctx)
        return err;
    void *locale = pf__c_locale_begin();
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    va_end(ap);
    pf__c_locale_end(locale);
    /* Every URL a message names is redacted where it is built; a server's
     * own words quoted in it may carry one that is not. */
    pf__redact_text(ctx->error, sizeof ctx->error);
    pf__log(ctx, "error: %s", ctx->error);
    return err;
}

void pf__clear_error(pf_ctx *ctx)
{
    if (ctx)
        ctx->error[0] = '\0';
}
