/*
 * Internal declarations shared by the library's modules. Nothing here is
 * public: the CLI and tests outside the library use include/preflight.h.
 */
#ifndef PF_CORE_INTERNAL_H
#define PF_CORE_INTERNAL_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "preflight.h"

#define PF__ERRBUF 1024

struct pf_ctx {
    char error[PF__ERRBUF];
    char *rules_dir;            /* override, or NULL */
    int allow_http;
    pf_log_fn log_fn;
    void *log_userdata;
    /* Safety limits, on by default (libvips' fail_on spirit): a probe never
     * reads more than max_probe_bytes of one input nor takes longer than
     * probe_timeout_ms, whatever the file claims. */
    int64_t max_probe_bytes;
    int probe_timeout_ms;
    int64_t max_remote_head;    /* bytes kept when a server ignores Range */
    /* The first retry's backoff; the tests shorten it through the
     * environment ($PREFLIGHT_RETRY_BASE_MS) so retries stay quick. */
    int retry_base_ms;
    /* Set from a signal handler (Ctrl-C): long operations (a transcode,
     * an upload, waiting for a job) stop at the next check with PF_EINTR
     * and clean up. pf_ctx_interrupt() sets it. */
    volatile sig_atomic_t interrupted;
};

/* Sets the context's one-line error and returns err, so a detection site
 * reads `return pf__error(ctx, PF_ECORRUPT, "%s: truncated PNG", path);`.
 * Quietly truncates messages that do not fit. */
pf_err pf__error(pf_ctx *ctx, pf_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pf__clear_error(pf_ctx *ctx);

/* Applies the process-wide libav settings (silence, av_max_alloc at
 * PF_MAX_ALLOC) once; every module that calls libav (the probe, the image
 * and video fixers) calls it first. Defined in probe/probe_av.c. */
void pf__av_global_init(void);

/* --verbose diagnostics; a no-op without a log sink. */
void pf__log(pf_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies src into a fixed buffer, always terminated. */
void pf__strlcpy(char *dst, const char *src, size_t size);

/* malloc'd printf; NULL when out of memory. */
char *pf__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads a whole small file (schemas, requests) into a NUL-terminated buffer,
 * refusing anything larger than max_bytes. "-" reads stdin. */
pf_err pf__read_text_file(pf_ctx *ctx, const char *path, size_t max_bytes,
                          char **out, size_t *out_len);

/* Secrets (API tokens and keys) go into a header line: printable ASCII
 * without spaces, or a stray newline in a file would smuggle a header in.
 * pf__secret_ok says whether s is one; pf__secret_wipe overwrites s (NULL
 * is fine) so no copy outlives its use; pf__read_secret_file reads the
 * first line of path (trailing blanks cut, at most 64 KiB read) into a
 * malloc'd *out, or fails with PF_EAUTH naming path and what it is not
 * ("an API token"), nothing left in memory. */
int pf__secret_ok(const char *s);
void pf__secret_wipe(char *s);
pf_err pf__read_secret_file(pf_ctx *ctx, const char *path, const char *what, char **out);

/* Number of Unicode code points in a UTF-8 string, or -1 when it is not
 * valid UTF-8 (JSON Schema's maxLength counts characters, not bytes). */
long pf__utf8_length(const char *s);

/* Formats a double the way JSON would: integers without a fraction, others
 * with the shortest representation that reads back the same. */
void pf__format_number(char *buf, size_t size, double v);

/* Milliseconds on CLOCK_MONOTONIC: for intervals and deadlines, never for
 * dates. */
int64_t pf__now_ms(void);

/* Sleeps ms milliseconds in slices of at most 50 ms, so that Ctrl-C
 * (ctx->interrupted) ends the wait at once: 0, or -1 when interrupted.
 * Says nothing: the caller knows what the wait was for. */
int pf__sleep_ms(pf_ctx *ctx, int64_t ms);

/* mkdir -p: creates dir and its missing parents with mode, and checks that
 * dir is a directory. what names it in a message ("output directory"). */
pf_err pf__mkdir_p(pf_ctx *ctx, const char *dir, unsigned mode, const char *what);

/* An XDG base directory with sub appended, malloc'ed in *out: $env when it
 * is absolute (the spec ignores a relative one), else ~/fallback (the
 * home from $HOME, else the password database). PF_EUSAGE, naming what
 * the directory is for and env, when there is no home. */
pf_err pf__xdg_dir(pf_ctx *ctx, const char *env, const char *fallback,
                   const char *sub, const char *what, char **out);

/* Redacts, in place, every http(s) URL inside a text (a server's error
 * message, a job's failure reason) as pf__redact_url does: an API that
 * echoes the presigned URL it could not fetch must not put its signature in
 * a message, a log line or the ledger. */
void pf__redact_text(char *s, size_t size);

/* Redacts the query string and userinfo of a URL for messages and logs:
 * presigned signatures must never reach a terminal or a log file. */
void pf__redact_url(char *dst, size_t size, const char *url);

/* pf_probe and pf_media_info_to_json on the library's own full-size
 * struct (probe.c, media_info.c): the public ones (probe_abi.c) check the
 * caller's size and copy. pf__probe sets info->size. */
pf_err pf__probe(pf_ctx *ctx, const char *path_or_url, pf_media_info *info);
char *pf__media_info_to_json(const pf_media_info *info);

/* ---- process-wide state (global.c) ---- */

/* The flags pf_global_init() was called with; the first use without an
 * explicit call fixes them at PF_GLOBAL_DEFAULT. */
unsigned pf__global_flags(void);

/* getenv() for the test knobs (PREFLIGHT_RETRY_BASE_MS, PREFLIGHT_POLL_MS,
 * PREFLIGHT_RULES_DIR): NULL when PF_GLOBAL_IGNORE_ENV asked to ignore
 * them, or when unset or empty. */
const char *pf__env_knob(const char *name);

/* The library formats and parses numbers in the C locale whatever the
 * process's locale (a report reads "1.33", never "1,33"): bracket the
 * snprintf/strtod calls with these. pf__c_locale_begin returns the
 * thread's previous locale, to give back to pf__c_locale_end; both are
 * no-ops when the C locale cannot be made. */
void *pf__c_locale_begin(void);
void pf__c_locale_end(void *previous);

/* strtod in the C locale. */
double pf__strtod(const char *s, char **end);

/* A caller's options struct (its first member a size_t size) copied into
 * the library's own, dst of dst_size bytes: zero-filled, then the prefix
 * the caller's size covers; src NULL gives the defaults. PF_EUSAGE, with
 * the message naming type, for a size 0 or smaller than size_t, or for
 * fields this library does not know set to non-zero (see "ABI" in
 * preflight.h). dst->size is dst_size on success. */
pf_err pf__struct_in(pf_ctx *ctx, void *dst, size_t dst_size, const void *src,
                     const char *type);

/* The bundled rules beside the library's own file (dladdr), as installed:
 * <libdir>/PF_RULES_FROM_LIBDIR; else PF_RULES_INSTALL_DIR. */
const char *pf__installed_rules_dir(void);

#endif
