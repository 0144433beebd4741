/*
 * What libpreflight does to the whole process, in one place: the version,
 * pf_global_init() and the flags it fixes, the environment knobs, the C
 * locale the library formats numbers in, and where an installed library
 * finds its rules. See "process-wide state" in include/preflight.h.
 */
#define _GNU_SOURCE             /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "net/http.h"

const char *pf_version(void)
{
    return PF_VERSION;
}

unsigned pf_version_num(void)
{
    return PF_VERSION_NUM;
}

/* A mutex rather than pthread_once: the first caller's flags must reach
 * the initialisation, and pthread_once passes nothing. */
static pthread_mutex_t pf__global_lock = PTHREAD_MUTEX_INITIALIZER;
static int pf__global_fixed;
static unsigned pf__global_flags_value;

static unsigned fix_flags(unsigned flags)
{
    unsigned v;

    pthread_mutex_lock(&pf__global_lock);
    if (!pf__global_fixed) {
        pf__global_flags_value = flags;
        pf__global_fixed = 1;
    }
    v = pf__global_flags_value;
    pthread_mutex_unlock(&pf__global_lock);
    return v;
}

pf_err pf_global_init(unsigned flags)
{
    fix_flags(flags);
    /* libcurl's own initialisation, once per process (http.c keeps the
     * pthread_once that the lazy path shares). */
    return pf__http_global_init(NULL);
}

unsigned pf__global_flags(void)
{
    return fix_flags(PF_GLOBAL_DEFAULT);
}

const char *pf__env_knob(const char *name)
{
    const char *v;

    if (pf__global_flags() & PF_GLOBAL_IGNORE_ENV)
        return NULL;
    v = getenv(name);
    return v && *v ? v : NULL;
}

/* ---- the C locale ---- */

static pthread_once_t pf__c_locale_once = PTHREAD_ONCE_INIT;
static locale_t pf__c_locale;

static void make_c_locale(void)
{
    pf__c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

void *pf__c_locale_begin(void)
{
    pthread_once(&pf__c_locale_once, make_c_locale);
    if (pf__c_locale == (locale_t)0)
        return NULL;
    return (void *)uselocale(pf__c_locale);
}

void pf__c_locale_end(void *previous)
{
    if (previous)
        uselocale((locale_t)previous);
}

double pf__strtod(const char *s, char **end)
{
    void *old = pf__c_locale_begin();
    double v = strtod(s, end);

    pf__c_locale_end(old);
    return v;
}

/* ---- caller-allocated structs ---- */

pf_err pf__struct_in(pf_ctx *ctx, void *dst, size_t dst_size, const void *src,
                     const char *type)
{
    size_t size;

    memset(dst, 0, dst_size);
    *(size_t *)dst = dst_size;
    if (!src)
        return PF_OK;
    memcpy(&size, src, sizeof size);
    if (size < sizeof size)
        return pf__error(ctx, PF_EUSAGE, "%s: size is %zu: initialise it with "
                         "%s_init() or its _INIT macro", type, size, type);
    /* A newer program's struct: what this library does not know must be
     * left at its default (zero), or the call would silently do less than
     * asked. */
    for (size_t i = dst_size; i < size; i++)
        if (((const unsigned char *)src)[i])
            return pf__error(ctx, PF_EUSAGE, "%s: sets a field that libpreflight %s "
                             "does not know (the program was built against a "
                             "newer preflight.h)", type, PF_VERSION);
    memcpy((char *)dst + sizeof size, (const char *)src + sizeof size,
           (size < dst_size ? size : dst_size) - sizeof size);
    return PF_OK;
}

/* ---- where the rules are ---- */

static pthread_once_t pf__rules_once = PTHREAD_ONCE_INIT;
static char pf__rules_dir_buf[PATH_MAX];

static void find_rules(void)
{
    Dl_info dl;
    struct stat st;
    char *slash;
    int n;

    pf__strlcpy(pf__rules_dir_buf, PF_RULES_INSTALL_DIR, sizeof pf__rules_dir_buf);
    /* The file this function was loaded from: libpreflight.so, or the
     * program it is linked into statically (where the relative path finds
     * nothing, and the installed directory stands). */
    if (!dladdr((void *)&find_rules, &dl) || !dl.dli_fname || dl.dli_fname[0] != '/')
        return;
    n = snprintf(pf__rules_dir_buf, sizeof pf__rules_dir_buf, "%s", dl.dli_fname);
    if (n < 0 || (size_t)n >= sizeof pf__rules_dir_buf ||
        !(slash = strrchr(pf__rules_dir_buf, '/')))
        goto installed;
    n = snprintf(slash + 1, sizeof pf__rules_dir_buf - (size_t)(slash + 1 - pf__rules_dir_buf),
                 "%s", PF_RULES_FROM_LIBDIR);
    if (n < 0 || (size_t)n >= sizeof pf__rules_dir_buf - (size_t)(slash + 1 - pf__rules_dir_buf) ||
        stat(pf__rules_dir_buf, &st) != 0 || !S_ISDIR(st.st_mode))
        goto installed;
    return;
installed:
    pf__strlcpy(pf__rules_dir_buf, PF_RULES_INSTALL_DIR, sizeof pf__rules_dir_buf);
}

const char *pf__installed_rules_dir(void)
{
    pthread_once(&pf__rules_once, find_rules);
    return pf__rules_dir_buf;
}
