/*
 * preflight — check media and parameters against a generation API's input
 * schema before uploading or paying.
 *
 * This is the one public header of libpreflight. Handles are opaque; every
 * function that can fail returns a pf_err and leaves a one-line message that
 * names the file or URL and the reason in its context (pf_ctx_error()).
 * Callers propagate the code without adding text.
 */
#ifndef PREFLIGHT_H
#define PREFLIGHT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>    /* memset, for the pf_*_init() functions */

#ifdef __cplusplus
extern "C" {
#endif

/* PF_VERSION_MAJOR/MINOR/PATCH, PF_VERSION ("0.2.0") and PF_VERSION_NUM
 * (0xMMmmpp, comparable: PF_VERSION_NUM >= 0x000200), generated from the
 * one version in CMakeLists.txt's project(). pf_version() says which
 * library is actually loaded. */
#include "preflight_version.h"

/* Only the functions marked PF_EXTERN are exported from libpreflight.so;
 * the library is built with -fvisibility=hidden, so its internal pf__
 * symbols are not part of the ABI. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define PF_EXTERN __attribute__((visibility("default")))
#else
#define PF_EXTERN
#endif

/*
 * ABI. The soname (libpreflight.so.N, N = PF_SOVERSION in CMakeLists.txt)
 * changes when an exported function is removed or changes its signature,
 * an enum value or error code changes meaning, or a struct changes in any
 * way other than those below. Everything else is added without a new
 * soname:
 *  - functions are only ever added;
 *  - structs the library allocates and hands out by pointer (pf_violation,
 *    pf_fix_change, pf_upload_info, pf_job_output, the progress structs,
 *    and pf_media_info from pf_report_input) grow only at their end: an
 *    older program reads a prefix of them;
 *  - structs the caller allocates (pf_media_info given to pf_probe, and
 *    the pf_*_options structs) begin with a size_t size that the caller
 *    sets to its own sizeof, through the static inline pf_*_init()
 *    functions or the PF_*_INIT macros below, which are compiled into the
 *    caller. The library reads (and pf_probe writes) only the first size
 *    bytes: fields an older program does not know keep their defaults, and
 *    it never writes past the end of an older program's struct. A newer
 *    program's struct is accepted by an older library when the fields
 *    that library does not know are zero (the defaults), and refused with
 *    PF_EUSAGE otherwise, as Linux's openat2() and clone3() do. A size of
 *    0 (a struct zeroed but never initialised) is PF_EUSAGE too, so that
 *    no option is silently ignored.
 */

/* The version of the loaded library, "0.2.0". Compare with PF_VERSION to
 * detect a program built against another header. */
PF_EXTERN const char *pf_version(void);
/* The same as a number comparable with PF_VERSION_NUM. */
PF_EXTERN unsigned pf_version_num(void);

/*
 * Error codes. Append-only: a code never changes its number or its name,
 * because scripts match on the name in JSON output and on the exit code.
 * X(suffix, stable name, message)
 */
#define PF_ERRNO_MAP(X)                                                      \
    X(OK,        "ok",          "success")                                   \
    X(EUSAGE,    "usage",       "invalid usage")                             \
    X(ENOMEM,    "no_memory",   "out of memory")                             \
    X(ENOENT,    "not_found",   "no such file or URL")                       \
    X(EIO,       "io",          "read error")                                \
    X(EEMPTY,    "empty",       "empty file")                                \
    X(EFORMAT,   "format",      "not a recognised image or video")           \
    X(ECORRUPT,  "corrupt",     "corrupt or truncated media")                \
    X(ELIMIT,    "limit",       "exceeds a safety limit")                    \
    X(EJSON,     "json",        "malformed JSON")                            \
    X(ESCHEMA,   "schema",      "invalid schema")                            \
    X(ENOMODEL,  "no_model",    "unknown model")                             \
    X(ENET,      "network",     "network error")                             \
    X(EHTTP,     "http",        "HTTP error status")                         \
    X(EINTERNAL, "internal",    "internal error")                            \
    X(ENOSPC,    "no_space",    "no space left on device")                   \
    X(ECANNOT,   "cannot_fix",  "cannot be made to comply")                 \
    X(EINTR,     "interrupted", "interrupted")                               \
    X(EAUTH,     "auth",        "missing or rejected credentials")           \
    X(EAPI,      "api",         "the API reported an error")                 \
    X(ETIMEOUT,  "timeout",     "timed out")                                 \
    X(EJOB,      "job_failed",  "the job failed or was cancelled")           \
    X(EUNKNOWN,  "outcome_unknown", "the outcome of a submission is unknown") \
    X(EEXIST,    "exists",      "the file already exists")                 \
    X(EHELD,     "held",        "held by another worker")

typedef enum pf_err {
#define PF__ERR_ENUM(suffix, name, msg) PF_##suffix,
    PF_ERRNO_MAP(PF__ERR_ENUM)
#undef PF__ERR_ENUM
    PF__ERR_COUNT
} pf_err;

/* Static message and stable snake_case name of a code ("not_found"). */
PF_EXTERN const char *pf_strerror(pf_err err);
PF_EXTERN const char *pf_err_name(pf_err err);

/* Frees memory returned by this library (JSON strings). Accepts NULL. */
PF_EXTERN void pf_free(void *p);

/* A byte count as a person reads it, in decimal units and truncated, so a
 * size just under a limit never reads as the limit ("4.69 MB" for
 * 4,699,999 bytes). Always NUL-terminates buf. */
PF_EXTERN void pf_format_size(char *buf, size_t size, int64_t bytes);

/* ---- process-wide state ------------------------------------------------- */

/*
 * What the library does to the whole process, and how a program controls
 * it. Everything else lives in a pf_ctx.
 *
 *  - FFmpeg's log: libav* keep one log level and callback per process. On
 *    first use of FFmpeg (probing a video, fixing any media) the library
 *    sets the level to AV_LOG_QUIET and installs a callback that keeps the
 *    first error of the calling thread for its message ("moov atom not
 *    found") and passes other threads' lines to av_log_default_callback.
 *    With PF_GLOBAL_KEEP_AV_LOG it touches neither: the program's own
 *    policy stands, and messages lose FFmpeg's detail.
 *  - libcurl: curl_global_init(CURL_GLOBAL_DEFAULT) runs once, from
 *    pf_global_init() or else lazily before the first HTTP request. A
 *    program that uses libcurl itself on other threads should call
 *    pf_global_init() (or curl_global_init) first.
 *  - Environment: the documented variables (PREFLIGHT_RULES_DIR, the
 *    tokens and AWS_* of the job and upload functions, XDG_STATE_HOME and
 *    HOME) and two knobs the tests use, read when a context or a ledger is
 *    made: PREFLIGHT_RETRY_BASE_MS (the first retry's backoff),
 *    PREFLIGHT_POLL_MS (the first wait between status queries) and
 *    PREFLIGHT_STALL_MS (the tests shorten stall detection with it).
 *    PF_GLOBAL_IGNORE_ENV ignores the PREFLIGHT_* ones, so the program's
 *    user cannot change what the program chose.
 *  - Locale: the library formats and parses numbers in the C locale
 *    whatever setlocale() the program made (per thread, with uselocale),
 *    so messages, reports and JSON read "1.33", never "1,33". Text it hands
 *    back is UTF-8 ("6000×4000").
 *  - Signals: none are installed; pf_ctx_interrupt() is for the program's
 *    own SIGINT handler.
 */
enum {
    PF_GLOBAL_DEFAULT = 0,
    PF_GLOBAL_KEEP_AV_LOG = 1 << 0,     /* leave FFmpeg's log policy alone */
    PF_GLOBAL_IGNORE_ENV = 1 << 1       /* ignore the PREFLIGHT_* knobs */
};

/* Fixes the flags above and initialises libcurl. Optional: without it the
 * first use of any part fixes PF_GLOBAL_DEFAULT. Idempotent and safe from
 * any thread: the first call (or first use) fixes the flags, later calls
 * change nothing and return the first result. PF_EINTERNAL when libcurl
 * cannot initialise. Nothing needs undoing at exit. */
PF_EXTERN pf_err pf_global_init(unsigned flags);

/* ---- context ------------------------------------------------------------ */

typedef struct pf_ctx pf_ctx;

/* A context carries options and the last error message. Not thread-safe:
 * use one context per thread. Returns NULL only when out of memory. */
PF_EXTERN pf_ctx *pf_ctx_new(void);
/* Accepts NULL; safe to call once per context. */
PF_EXTERN void pf_ctx_free(pf_ctx *ctx);

/* The message of the last failure in this context: one line naming the file
 * or URL and the reason. Empty string when nothing failed. Valid until the
 * next call that fails in this context. */
PF_EXTERN const char *pf_ctx_error(const pf_ctx *ctx);

/* Where bundled model rules are searched first; NULL restores the default
 * ($PREFLIGHT_RULES_DIR, then share/preflight/rules beside the library's
 * own directory, as installed, then the configured install directory).
 * The string is copied. */
PF_EXTERN pf_err pf_ctx_set_rules_dir(pf_ctx *ctx, const char *dir);

/* Allow plain http:// URLs to be probed (local test servers). Without it an
 * http:// media URL is a violation, since the APIs fetch over HTTPS only. */
PF_EXTERN void pf_ctx_set_allow_http(pf_ctx *ctx, int allow);

/* Asks the long operations running with this context (a video transcode,
 * an upload, a wait for a job) to stop at their next check, clean up what
 * they wrote and return PF_EINTR. Async-signal-safe: call it from a SIGINT
 * handler. */
PF_EXTERN void pf_ctx_interrupt(pf_ctx *ctx);

/* Optional diagnostic sink for --verbose. Messages never contain secrets or
 * URL query strings. */
typedef void (*pf_log_fn)(void *userdata, const char *line);
PF_EXTERN void pf_ctx_set_log(pf_ctx *ctx, pf_log_fn fn, void *userdata);

/* The largest single block libpreflight lets FFmpeg allocate, so that no
 * input file or data URI can make it reserve more (a hostile MP4 header
 * claims a sample table of gigabytes). PROCESS-WIDE EFFECT: the first
 * probe or fix that uses FFmpeg calls av_max_alloc(PF_MAX_ALLOC) and
 * av_log_set_level(AV_LOG_QUIET) once, and these settings apply to every
 * user of FFmpeg in the process. A program that needs another ceiling
 * calls av_max_alloc() itself after its first pf_probe/pf_fix. A refusal
 * is PF_ELIMIT, with a message naming the file and the limit. */
#define PF_MAX_ALLOC ((size_t)256 << 20)

/* ---- probing ------------------------------------------------------------ */

typedef enum pf_media_kind {
    PF_MEDIA_UNKNOWN = 0,
    PF_MEDIA_IMAGE,
    PF_MEDIA_VIDEO,
    PF_MEDIA_AUDIO
} pf_media_kind;

typedef enum pf_source_kind {
    PF_SOURCE_FILE = 0,
    PF_SOURCE_URL,
    PF_SOURCE_DATA          /* a data: URI carried inline in the request */
} pf_source_kind;

/* Facts about one media file, as a server would see them. width and height
 * are as displayed: EXIF orientation, rotation metadata and sample aspect
 * ratio are applied; the stored size is in coded_width/coded_height.
 * Unknown numbers are -1 (0 for has_audio/has_video/has_alpha). */
typedef struct pf_media_info {
    size_t size;            /* sizeof(pf_media_info): set by pf_media_info_init() */
    pf_media_kind kind;
    pf_source_kind source;
    char format[32];        /* "jpeg", "png", "mp4", "webp", "matroska"... */
    char codec[32];         /* "jpeg", "png", "h264", "vp9"... */
    int width, height;      /* as displayed */
    int coded_width, coded_height;
    int rotation;           /* clockwise degrees applied: 0, 90, 180, 270 */
    int orientation;        /* EXIF orientation 1-8, 0 when absent */
    int has_video, has_audio, has_alpha;
    int progressive;        /* JPEG progressive / PNG interlaced */
    int bit_depth;
    int64_t file_size;      /* bytes */
    double duration;        /* seconds */
    double fps;
    int64_t frame_count;
    int64_t bit_rate;       /* bits per second, container-level */
    char audio_codec[32];
    int64_t bytes_read;     /* how many bytes the probe actually read */
    /* Appended (issue 9): bytes after the image's own end (JPEG EOI, PNG
     * IEND, WebP RIFF size): padding, a motion photo's video, a second
     * image. Counted in file_size, as a server counts them. 0 when none. */
    int64_t trailing_bytes;
} pf_media_info;

/* Sets every field to its default and size to this header's sizeof (see
 * "ABI" above); compiled into the caller. PF_MEDIA_INFO_INIT is the same as an
 * initialiser: "pf_media_info o = PF_MEDIA_INFO_INIT;". */
static inline void pf_media_info_init(pf_media_info *s)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
}
#define PF_MEDIA_INFO_INIT { .size = sizeof(pf_media_info) }

/* Probes a local path, an http(s) URL or a data: URI. Reads headers only:
 * no full decode, no allocation from a header's claimed size. info->size
 * must be set (pf_media_info_init): only that many bytes are written, so
 * an older program's shorter struct gets the fields it knows. On failure
 * returns the code, sets the context's message and leaves the fields of
 * *info zeroed (PF_EUSAGE, untouched, when info->size is not set). */
PF_EXTERN pf_err pf_probe(pf_ctx *ctx, const char *path_or_url, pf_media_info *info);

/* The facts as a JSON object text; caller frees with pf_free(). Reads the
 * first info->size bytes (fields past them are unknown). NULL when out of
 * memory or info->size is not set. */
PF_EXTERN char *pf_media_info_to_json(const pf_media_info *info);

PF_EXTERN const char *pf_media_kind_name(pf_media_kind kind);

/* ---- schemas ------------------------------------------------------------ */

typedef struct pf_schema pf_schema;

/* Loads a bundled model by its documented path. RunComfy is the default
 * provider ("runwayml/runway-aleph/video-to-video"); others are prefixed
 * ("cometapi:runwayml/v1/video_to_video"). A model imported into the
 * user's catalogue (pf_models_import_file) is found too; an imported copy
 * of a bundled id (PF_IMPORT_OVER_BUNDLED) is the one loaded. On failure
 * *out is NULL (PF_ENOMODEL names the nearest known id). */
PF_EXTERN pf_err pf_schema_load_model(pf_ctx *ctx, const char *model_id,
                            pf_schema **out);

/* Loads a schema file: either a preflight rules file (as in rules/) or a
 * RunComfy input schema copied verbatim from a model's docs page. model_id
 * names it in reports (may be NULL). On failure *out is NULL. */
PF_EXTERN pf_err pf_schema_load_file(pf_ctx *ctx, const char *path,
                           const char *model_id, pf_schema **out);

/* Same, from a JSON text in memory (fuzzing, embedding). */
PF_EXTERN pf_err pf_schema_load_text(pf_ctx *ctx, const char *text, size_t len,
                           const char *name, pf_schema **out);

PF_EXTERN void pf_schema_free(pf_schema *schema);
PF_EXTERN const char *pf_schema_model(const pf_schema *schema);
PF_EXTERN const char *pf_schema_provider(const pf_schema *schema);

/* Calls fn once per known model (bundled and imported, as pf_models_list),
 * sorted by id. Returns the first error met while reading the rules
 * directory or the catalogue. */
typedef void (*pf_model_fn)(void *userdata, const char *id,
                            const char *provider, const char *title);
PF_EXTERN pf_err pf_models_foreach(pf_ctx *ctx, pf_model_fn fn, void *userdata);

/* ---- requests ----------------------------------------------------------- */

typedef struct pf_request pf_request;

PF_EXTERN pf_request *pf_request_new(void);
PF_EXTERN void pf_request_free(pf_request *req);

/* Reads a request JSON object from a file ("-" is stdin). Media values may
 * be URLs, data URIs or local paths. Fields already set are replaced. */
PF_EXTERN pf_err pf_request_load_file(pf_ctx *ctx, pf_request *req, const char *path);

/* FIELD=VALUE: a string. Setting a field again appends, turning it into an
 * array; a scalar given for an array field becomes a one-element array at
 * check time. */
PF_EXTERN pf_err pf_request_add_string(pf_ctx *ctx, pf_request *req, const char *field,
                             const char *value);
/* FIELD:=JSON: a raw JSON value. */
PF_EXTERN pf_err pf_request_add_json(pf_ctx *ctx, pf_request *req, const char *field,
                           const char *json);
/* FIELD=@PATH: a local media file. */
PF_EXTERN pf_err pf_request_add_file(pf_ctx *ctx, pf_request *req, const char *field,
                           const char *path);

/* The request as JSON (caller frees with pf_free). */
PF_EXTERN char *pf_request_to_json(const pf_request *req);

/* ---- checking ----------------------------------------------------------- */

typedef struct pf_report pf_report;

typedef struct pf_violation {
    const char *field;      /* "image_urls[0]" */
    const char *rule;       /* as written: "width_pixels<=", "required"... */
    const char *limit;      /* JSON text of the limit, or NULL */
    const char *actual;     /* JSON text of the measured value, or NULL */
    const char *message;    /* the schema's validation_error, or ours */
} pf_violation;

typedef struct pf_warning {
    const char *field;
    const char *message;
} pf_warning;

typedef struct pf_input_error {
    const char *field;
    pf_err code;
    const char *message;    /* names the file or URL and the reason */
} pf_input_error;

/* Checks a request against a schema: every parameter keyword, every media
 * input probed and every validation rule evaluated. Returns PF_OK when the
 * check was made (the report then says whether it passed); media that could
 * not be probed are recorded as input errors in the report and checking
 * goes on. Any other code means no report (*out NULL). */
PF_EXTERN pf_err pf_check(pf_ctx *ctx, const pf_schema *schema, const pf_request *req,
                pf_report **out);

PF_EXTERN void pf_report_free(pf_report *report);

/* 1 when there is no violation and no input error. */
PF_EXTERN int pf_report_ok(const pf_report *report);

PF_EXTERN size_t pf_report_violation_count(const pf_report *report);
PF_EXTERN const pf_violation *pf_report_violation(const pf_report *report, size_t i);
PF_EXTERN size_t pf_report_warning_count(const pf_report *report);
PF_EXTERN const pf_warning *pf_report_warning(const pf_report *report, size_t i);
PF_EXTERN size_t pf_report_error_count(const pf_report *report);
PF_EXTERN const pf_input_error *pf_report_error(const pf_report *report, size_t i);

/* Probed media inputs, by field path. */
PF_EXTERN size_t pf_report_input_count(const pf_report *report);
PF_EXTERN const pf_media_info *pf_report_input(const pf_report *report, size_t i,
                                     const char **field, const char **value);

/* Defaults the API will apply to absent optional fields, as a JSON object
 * text owned by the report. */
PF_EXTERN const char *pf_report_defaults_json(const pf_report *report);

/* The whole report as one JSON object: {"ok", "model", "violations",
 * "warnings", "errors", "defaults", "inputs"}. Caller frees with pf_free. */
PF_EXTERN char *pf_report_to_json(const pf_report *report);

/* Process exit status that follows from a report: 0 pass, 1 violations,
 * 2 when some input could not be checked. */
PF_EXTERN int pf_report_exit_code(const pf_report *report);

/* ---- fixing ------------------------------------------------------------- */

/* How a media input is brought to an aspect ratio: the one the request's
 * ratio field asks for, or inside the range its rules allow. */
enum {
    PF_FIT_CROP = 0,        /* centred crop: nothing added, edges lost */
    PF_FIT_PAD,             /* centred on a canvas: nothing lost */
    PF_FIT_NONE             /* ignore the requested ratio; a rule the aspect
                             * breaks still gets the smallest centred crop */
};

/* Where a long fix (a video transcode) has got to, passed to the
 * progress callback a few times a second and once when an encode ends.
 * Strings are borrowed for the duration of the call. */
typedef struct pf_fix_progress {
    const char *field;      /* "video_url" */
    const char *source;     /* the file being fixed */
    int attempt;            /* 1 for the first encode; a retry at another
                             * bit rate starts again from 0 frames */
    int64_t frames;         /* frames written by this attempt */
    int64_t total_frames;   /* expected in all, or -1 when unknown */
    double position;        /* seconds of output written */
    double duration;        /* seconds the output will last, or -1 */
    double elapsed;         /* wall seconds since this attempt began */
    double speed;           /* position / elapsed: 2.0 is twice real time */
    double eta;             /* seconds left in this attempt, or -1 */
    int done;               /* 1 on the last call of an attempt */
} pf_fix_progress;

/* Called on the thread running pf_fix; it must not call into the same
 * context. The library never writes to a terminal itself. */
typedef void (*pf_fix_progress_fn)(void *userdata, const pf_fix_progress *p);

/* An initialised struct (pf_fix_options_init) or NULL asks for the
 * defaults. Fields are only ever appended. */
typedef struct pf_fix_options {
    size_t size;            /* sizeof(pf_fix_options): set by pf_fix_options_init() */
    int fit;                /* PF_FIT_CROP, PF_FIT_PAD or PF_FIT_NONE */
    uint32_t pad_rgb;       /* 0xRRGGBB of the PF_FIT_PAD canvas, also what
                             * transparency is flattened onto in a JPEG;
                             * default black */
    int blur_fill;          /* PF_FIT_PAD: fill the canvas with a blurred,
                             * enlarged copy of the image instead */
    int64_t max_pixels;     /* refuse to decode a larger image, before
                             * allocating it; 0: 100,000,000 */
    int dry_run;            /* plan from the probed facts alone: nothing is
                             * decoded and nothing written */
    double max_duration;    /* video: keep at most this many seconds from
                             * the start (a fix in itself); 0: no limit
                             * beyond the rules' */
    pf_fix_progress_fn progress;    /* or NULL */
    void *progress_userdata;
} pf_fix_options;

/* Sets every field to its default and size to this header's sizeof (see
 * "ABI" above); compiled into the caller. PF_FIX_OPTIONS_INIT is the same as an
 * initialiser: "pf_fix_options o = PF_FIX_OPTIONS_INIT;". */
static inline void pf_fix_options_init(pf_fix_options *s)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
}
#define PF_FIX_OPTIONS_INIT { .size = sizeof(pf_fix_options) }

typedef enum pf_fix_status {
    PF_FIX_DONE = 0,        /* written and re-checked: it passes */
    PF_FIX_PLANNED,         /* dry run: what would be written */
    PF_FIX_FAILED           /* nothing written; code and message say why */
} pf_fix_status;

/* One media input that needed fixing. Strings are owned by the result. */
typedef struct pf_fix_change {
    const char *field;      /* "image_urls[0]" */
    const char *source;     /* the value the request gave */
    const char *output;     /* the new file (DONE), the name it would get
                             * (PLANNED), NULL (FAILED) */
    const char *summary;    /* one human line, e.g. "6000×4000 JPEG 11.2 MB →
                             * 4096×2731 JPEG q=91 4.6 MB (crop 0, 3 encodes)" */
    const char *warning;    /* a lossy choice worth a look (an enlargement),
                             * or NULL */
    pf_fix_status status;
    pf_err code;            /* PF_OK unless FAILED */
    const char *message;    /* FAILED: one line naming the file and why */
    const char *format;     /* "jpeg", "png", "mp4" or "mov"; NULL when
                             * FAILED */
    int width, height;      /* of the output as displayed; 0 when FAILED */
    int64_t file_size;      /* bytes written; -1 unless DONE */
    int quality;            /* JPEG quality chosen; 0 for PNG or unless DONE */
    int encodes;            /* encodes the size search took; 0 unless DONE
                             * (a video remux counts none) */
    double duration;        /* video: seconds of the output; -1 otherwise */
    double fps;             /* video: frames per second; -1 otherwise */
    int remuxed;            /* video: streams copied, not re-encoded */
} pf_fix_change;

typedef struct pf_fix_result pf_fix_result;

/* Makes a request's media inputs comply with the schema. pf_check runs
 * first; each local media file that breaks a rule of its field, or whose
 * aspect differs from the requested ratio (the check's advice, unless
 * PF_FIT_NONE), is planned for, decoded, transformed (orientation baked
 * in, metadata dropped, cropped or padded, resized, re-encoded at the
 * highest quality that fits), written to a temporary file in outdir,
 * checked again with the same rules and only then renamed into outdir.
 * Originals are never written to; files that need nothing are not copied;
 * a fix that fails leaves nothing in outdir. outdir is created (with its
 * parents) when the first file is written; a dry run writes nothing.
 *
 * Videos are decoded, turned upright by their rotation metadata, cropped
 * or padded, scaled, trimmed and reframed as the rules ask, and encoded as
 * H.264 and AAC in an MP4 with its index at the front, at the bit rate
 * that fills the size limit without passing it (re-encoded lower when an
 * attempt overshoots); when the streams already comply and only the
 * container or the index placement is wrong, they are copied, not
 * re-encoded.
 *
 * Returns PF_OK when the fix was attempted: the result then lists each
 * change and each failure (an outdir that cannot be made, a full disk, an
 * undecodable source), the request with its media fields pointing at the
 * new files, and the check of that request. Any other code (bad options,
 * no memory, PF_EINTR after pf_ctx_interrupt) means no result (*out NULL);
 * an interrupted fix removes the file it was writing, and files finished
 * before it stay. The request is not modified. */
PF_EXTERN pf_err pf_fix(pf_ctx *ctx, const pf_schema *schema, const pf_request *req,
              const char *outdir, const pf_fix_options *opts,
              pf_fix_result **out);

/* Accepts NULL. Files written stay where they are. */
PF_EXTERN void pf_fix_result_free(pf_fix_result *result);

PF_EXTERN size_t pf_fix_result_change_count(const pf_fix_result *result);
PF_EXTERN const pf_fix_change *pf_fix_result_change(const pf_fix_result *result,
                                          size_t i);

/* The request to send, as a JSON object text owned by the result: the
 * normalised request with each fixed media value replaced by its new
 * file's path (unchanged in a dry run). */
PF_EXTERN const char *pf_fix_result_request_json(const pf_fix_result *result);

/* The check of that request, owned by the result; in a dry run, the check
 * of the request as given. */
PF_EXTERN const pf_report *pf_fix_result_report(const pf_fix_result *result);

/* 0 when the request to send passes (a dry run: when every problem has a
 * planned fix), 1 when violations remain or a file cannot be made to
 * comply, 2 when an input could not be read, decoded or written. */
PF_EXTERN int pf_fix_result_exit_code(const pf_fix_result *result);

/* {"ok", "model", "dry_run", "changes": [{"field", "source", "output",
 * "status", "summary", "warning", "format", "width", "height", "file_size",
 * "quality", "encodes", videos also "duration", "fps", "remuxed", "error":
 * {"code", "message"}}], "request", "check":
 * {the report's JSON}}. Caller frees with pf_free; NULL when out of
 * memory. */
PF_EXTERN char *pf_fix_result_to_json(const pf_fix_result *result);

/* ---- upload: hosting local files for the API (src/net) ---------------- */

/* How a local file is made reachable by the API's servers. */
typedef enum pf_upload_mode {
    PF_UPLOAD_PUT = 0,      /* PUT to a presigned URL, then verify a GET URL */
    PF_UPLOAD_POST,         /* S3 presigned POST: form fields, then the file */
    PF_UPLOAD_S3,           /* sign PUT and GET for s3://BUCKET/PREFIX */
    PF_UPLOAD_INLINE,       /* no upload: a base64 data: URI */
    PF_UPLOAD_FAL           /* fal's CDN, as fal's clients upload: the key
                             * from credentials_file (its first line) or
                             * $FAL_KEY, the REST API at
                             * $PREFLIGHT_FAL_REST_URL or https://rest.fal.ai;
                             * get_url is the file_url fal returns */
} pf_upload_mode;

/* Called as the file goes out, about ten times a second and once at the
 * end; total is the file's size. Non-zero stops the upload (PF_EINTR). */
typedef int (*pf_progress_fn)(void *userdata, int64_t done, int64_t total);

/* An initialised struct (pf_upload_options_init) is a PUT with no URL
 * (PF_EUSAGE): set mode and its fields. Strings are only read during the call. URLs may carry secrets
 * (signatures): no message or log line ever shows their query. */
typedef struct pf_upload_options {
    size_t size;            /* sizeof(pf_upload_options): set by pf_upload_options_init() */
    pf_upload_mode mode;
    const char *put_url;        /* PUT: the presigned PUT URL */
    const char *post_url;       /* POST: the form's action URL, or NULL when
                                 * post_fields_json has a "url" */
    const char *post_fields_json;   /* POST: a JSON object of the form's
                                 * fields, or {"url", "fields": {...}} as
                                 * providers hand out; "${filename}" in the
                                 * key is replaced by the file's name */
    const char *get_url;        /* PUT, POST: the URL the API will fetch;
                                 * NULL: the PUT URL without its query, or
                                 * the POST's <Location> or url/key */
    const char *s3_url;         /* S3: "s3://BUCKET/PREFIX" */
    const char *credentials_file;   /* S3: NULL reads AWS_* from the
                                 * environment (see pf_upload_file) */
    int64_t expires;            /* S3: lifetime of the GET URL in seconds;
                                 * 0: 86400 (a day), at most 604800 */
    const char *content_type;   /* PUT: the type the URL was signed with;
                                 * S3, POST, INLINE: overrides the sniffed
                                 * type */
    int64_t inline_max;         /* INLINE: the largest data URI accepted, in
                                 * bytes; 0: 5,000,000 for an image and
                                 * 16,000,000 otherwise (Runway's documented
                                 * data URI limits, which CometAPI's
                                 * Runway-compatible videoUri follows) */
    pf_progress_fn progress;
    void *progress_userdata;
    int skip_sha256;            /* PUT, POST: leave sha256 "" instead of
                                 * hashing the file on a second core beside
                                 * the send (it costs throughput where cores
                                 * are few); S3 and INLINE always hash */
} pf_upload_options;

/* Sets every field to its default and size to this header's sizeof (see
 * "ABI" above); compiled into the caller. PF_UPLOAD_OPTIONS_INIT is the same as an
 * initialiser: "pf_upload_options o = PF_UPLOAD_OPTIONS_INIT;". */
static inline void pf_upload_options_init(pf_upload_options *s)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
}
#define PF_UPLOAD_OPTIONS_INIT { .size = sizeof(pf_upload_options) }

/* What was done. Strings are owned by the upload. */
typedef struct pf_upload_info {
    const char *file;           /* the path given */
    const char *get_url;        /* what to put in the request: a URL that
                                 * serves the file without credentials (a
                                 * presigned GET carries its signature: treat
                                 * it as a secret until the job is done), or
                                 * the data: URI */
    const char *key;            /* S3 or POST object key; NULL for PUT and
                                 * INLINE */
    const char *content_type;   /* sent with the file, or NULL for none */
    char sha256[65];            /* of the file's bytes, hex; "" when
                                 * skip_sha256 asked not to */
    int64_t size;
    int uploaded;               /* 0: the object was already there with the
                                 * same size (S3 mode), or INLINE */
    int verified;               /* the GET URL served size bytes */
    int attempts;               /* of the PUT or POST (1 + retries) */
    const char *served_type;    /* the Content-Type the GET URL served,
                                 * without parameters; NULL when it sent
                                 * none (and for INLINE) */
    const char *warning;        /* NULL, or a sentence: the GET URL serves
                                 * the file without its media type
                                 * (application/octet-stream, none, another
                                 * kind), which Runway's API refuses to
                                 * fetch. Not an error: see pf_upload_file */
} pf_upload_info;

typedef struct pf_upload pf_upload;

/*
 * Makes a local file reachable for the API, streaming it in constant
 * memory with Content-Length, retrying what HTTP allows (never an auth
 * error: an expired or tampered URL fails at once with PF_EAUTH), then
 * checking, before anything is submitted, that the GET URL serves the same
 * number of bytes without credentials (a Range request for byte 0, retried
 * like any GET) and with which Content-Type. A generic type
 * (application/octet-stream, binary/octet-stream, none) or one of another
 * kind than the file's is a warning in info->warning, not an error: Runway
 * (and CometAPI's Runway-compatible API) refuses such an input, but the
 * documents of the APIs preflight checks ask only for a public HTTPS URL,
 * and Runway refuses it at submission (nothing is created or paid).
 *
 * PF_UPLOAD_S3 signs both URLs itself (SigV4, query string) from
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION
 * (default us-east-1) and AWS_ENDPOINT_URL (path style, for R2, MinIO...;
 * without it virtual-host style on AWS), or from credentials_file. The key
 * is PREFIX/<sha256 of the bytes><extension>: an object already there with
 * the same size is not uploaded again.
 *
 * On success *out holds the result (free with pf_upload_free). On failure
 * returns the code with the message set, *out NULL; an upload that failed
 * part-way may leave a partial object behind the URL (S3 never shows a
 * partial PUT, other servers may).
 */
PF_EXTERN pf_err pf_upload_file(pf_ctx *ctx, const char *path,
                      const pf_upload_options *opts, pf_upload **out);

PF_EXTERN const pf_upload_info *pf_upload_get(const pf_upload *up);

/* {"file", "size", "sha256", "get_url", "key", "content_type", "uploaded",
 * "skipped", "verified", "served_type", "warning"}. Caller frees with
 * pf_free; NULL when out of memory. */
PF_EXTERN char *pf_upload_to_json(const pf_upload *up);

/* Accepts NULL. */
PF_EXTERN void pf_upload_free(pf_upload *up);

/* ---- jobs: submit, wait, download, the ledger (src/api, src/ledger) ---- */

/*
 * A job is one paid submission to a provider's API. Every job is recorded
 * in a ledger (an SQLite file shared safely by concurrent preflight
 * processes, or a PostgreSQL database shared by workers on several
 * machines: pf_jobs_open_ledger) *before* its POST is sent, then after it (the API's request
 * id), at each change of state and for each output downloaded. The same
 * request submitted again returns the recorded job instead of paying
 * again; a process killed at any point leaves enough behind for another to
 * carry on, and a submission whose answer was never read is reported as
 * having an unknown outcome, never silently sent twice. A POST the API
 * turned away (429, 503, a refused connection: nothing was created) is
 * recorded as such before preflight waits to send it again, so a process
 * killed in that wait leaves a job that the next submission of the same
 * request, or pf_jobs_wait, sends once. The ledger keeps a request's media
 * as references (a hosted or inlined file by its path, a data URI by its
 * hash and length, a signed URL redacted), not their bytes or signatures.
 *
 * Tokens come from the environment (RUNCOMFY_API_TOKEN or YOUR_API_TOKEN
 * for RunComfy, COMETAPI_KEY for CometAPI) or a token file; they are never
 * logged, never put in a message and never written to the ledger.
 */

typedef struct pf_jobs pf_jobs;    /* the ledger and the provider clients */
typedef struct pf_job pf_job;      /* one job as the ledger holds it */

typedef enum pf_job_state {
    PF_JOB_SUBMITTING = 0,  /* recorded; the POST's answer not read (yet) */
    PF_JOB_QUEUED,          /* "in_queue" */
    PF_JOB_RUNNING,         /* "in_progress" */
    PF_JOB_COMPLETED,
    PF_JOB_FAILED,
    PF_JOB_CANCELLED,
    PF_JOB_UNKNOWN,         /* the POST may or may not have created a job */
    PF_JOB_REJECTED         /* the API refused the POST: nothing was created */
} pf_job_state;

/* "submitting", "in_queue", "in_progress", "completed", "failed",
 * "cancelled", "outcome_unknown", "rejected". */
PF_EXTERN const char *pf_job_state_name(pf_job_state state);

/* 1 for the states a job never leaves: completed, failed, cancelled,
 * outcome unknown and rejected. */
PF_EXTERN int pf_job_state_is_final(pf_job_state state);

/* An initialised struct (pf_jobs_options_init) or NULL asks for the
 * defaults. Strings are copied. */
typedef struct pf_jobs_options {
    size_t size;            /* sizeof(pf_jobs_options): set by pf_jobs_options_init() */
    const char *state_dir;  /* the ledger's directory; NULL:
                             * $XDG_STATE_HOME/preflight, else
                             * ~/.local/state/preflight. Made 0700. */
    const char *base_url;   /* send every API call here instead of the
                             * provider's documented host (and instead of
                             * the one a job was submitted to) */
    const char *token_file; /* read the API token from this file (its first
                             * line) instead of the environment */
    int poll_ms;            /* first wait between status queries; 0:
                             * $PREFLIGHT_POLL_MS, else 1000 */
    int poll_max_ms;        /* the cap it grows to; 0: 15 times poll_ms,
                             * at most 15000 */
} pf_jobs_options;

/* Sets every field to its default and size to this header's sizeof (see
 * "ABI" above); compiled into the caller. PF_JOBS_OPTIONS_INIT is the same as an
 * initialiser: "pf_jobs_options o = PF_JOBS_OPTIONS_INIT;". */
static inline void pf_jobs_options_init(pf_jobs_options *s)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
}
#define PF_JOBS_OPTIONS_INIT { .size = sizeof(pf_jobs_options) }

/* Opens (creating it if needed) the ledger jobs.db in the state directory.
 * No network access and no token is needed until a call talks to an API.
 * On failure *out is NULL and the message names the file and the reason. */
PF_EXTERN pf_err pf_jobs_open(pf_ctx *ctx, const pf_jobs_options *opts, pf_jobs **out);

/* As pf_jobs_open, with the ledger at a URL: "sqlite:PATH" (the file
 * pf_jobs_open keeps in the state directory is "sqlite:DIR/jobs.db") or
 * "postgresql://HOST[:PORT]/DB[?PARAMS]" (libpq's URL; "postgres://" too),
 * which workers on several machines share. NULL: $PREFLIGHT_LEDGER, else
 * the state directory's SQLite file. A URL carrying a password is refused
 * (PF_EUSAGE): libpq takes it from PGPASSWORD, ~/.pgpass or a service
 * file. The schema is created or migrated on opening; one newer than this
 * library's is refused (PF_EUSAGE) and left untouched. */
PF_EXTERN pf_err pf_jobs_open_ledger(pf_ctx *ctx, const pf_jobs_options *opts,
                           const char *ledger, pf_jobs **out);

/* Accepts NULL. Jobs obtained from it must be freed before or after; they
 * do not refer back to it. Leases it holds are released. */
PF_EXTERN void pf_jobs_close(pf_jobs *jobs);

/* The ledger file's path, or its URL, owned by jobs. */
PF_EXTERN const char *pf_jobs_ledger_path(const pf_jobs *jobs);

/* What the ledger holds, as one JSON object (pf_free): {"ledger",
 * "backend" ("sqlite", "postgresql"), "schema", "lease_s", "worker",
 * "jobs", "states": {STATE: N}, "outputs", "downloaded", "leases" (live
 * ones; null on SQLite, whose locks end with their process)}. */
PF_EXTERN pf_err pf_jobs_ledger_status(pf_jobs *jobs, char **json);

/* Sets how long a worker's lease on a job lasts without renewal (the
 * ledger's lease_s setting, 300 s when made; 5 to 86400): how soon resume
 * elsewhere may take over a dead worker's job. PREFLIGHT_LEASE_S overrides
 * it for one process. */
PF_EXTERN pf_err pf_jobs_ledger_set_lease(pf_jobs *jobs, int seconds);

/* Copies every job of the ledger at from_url (its outputs and what was
 * downloaded) into this one, each once: running it again imports nothing
 * more. A request both ledgers hold stays claimed by this one's job. */
PF_EXTERN pf_err pf_jobs_import(pf_jobs *jobs, const char *from_url, size_t *imported,
                      size_t *skipped);

/* Takes the job's lease for this pf_jobs until it is closed: the job is
 * being carried on here. PF_EHELD when another live worker holds it (the
 * message names it and when its lease ends); on PostgreSQL a worker that
 * died loses its leases once they expire, on SQLite at once. A submission
 * holds its new job's lease already. */
PF_EXTERN pf_err pf_jobs_hold(pf_jobs *jobs, pf_job *job);

/* Hosts one local media file for the API (an upload) and returns the URL
 * the API should fetch, malloc'ed, in *url. Called by pf_jobs_submit for
 * each local file of the request, after the ledger was searched (a
 * recorded job uploads nothing) and before anything is sent to the API.
 * Returns PF_OK, or a code with ctx's message set. */
typedef pf_err (*pf_host_fn)(void *userdata, pf_ctx *ctx, const char *field,
                             const char *path, char **url);

/* An initialised struct (pf_submit_options_init) or NULL asks for the
 * defaults. */
typedef struct pf_submit_options {
    size_t size;            /* sizeof(pf_submit_options): set by pf_submit_options_init() */
    int force;              /* submit even when the ledger holds a job for
                             * the same request (paying again), and even
                             * when an earlier submission's outcome is
                             * unknown */
    const char *outdir;     /* recorded with the job: where pf_jobs_wait
                             * and 'preflight resume' download its outputs
                             * when not told otherwise */
    pf_host_fn host;        /* NULL: a local file in the request is an
                             * error (PF_EUSAGE) */
    void *host_userdata;
    size_t host_limit;      /* > 0: a request with more local files than
                             * this is refused (PF_EUSAGE) before any is
                             * hosted, e.g. 1 for one presigned URL pair */
} pf_submit_options;

/* Sets every field to its default and size to this header's sizeof (see
 * "ABI" above); compiled into the caller. PF_SUBMIT_OPTIONS_INIT is the same as an
 * initialiser: "pf_submit_options o = PF_SUBMIT_OPTIONS_INIT;". */
static inline void pf_submit_options_init(pf_submit_options *s)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
}
#define PF_SUBMIT_OPTIONS_INIT { .size = sizeof(pf_submit_options) }

/*
 * Submits the request a check passed, to the provider and model of its
 * schema, unless the ledger already holds a job for it.
 *
 * The request is identified by a SHA-256 of the provider, the base URL,
 * the model, its parameters in canonical form and the content of its media
 * (a local file or data URI by its bytes, a URL by its text without
 * signing parameters). Under a lock on that key held across processes:
 * the newest recorded job with that key that did not fail, was not
 * cancelled and was not rejected is returned as it is (pf_job_reused() is
 * 1; nothing is uploaded or sent), unless opts->force. Otherwise local
 * files are hosted through opts->host, the job is recorded as submitting,
 * the POST is sent (never retried once it may have reached the API) and
 * its answer recorded.
 *
 * Returns PF_OK with the job in *out. PF_EUSAGE when the report does not
 * pass (a request that fails its check is never submitted) or a local file
 * has no host. PF_EUNKNOWN when this or an earlier submission of the same
 * request may or may not have created a job (a connection lost after
 * sending, a server error, an unreadable answer, a process killed before
 * it recorded the answer): the job stays in the ledger as outcome unknown
 * and the message says what to check; only opts->force submits again.
 * PF_EAUTH, PF_EAPI, PF_EHTTP when the API refused it (recorded as
 * rejected). On failure *out is NULL.
 */
PF_EXTERN pf_err pf_jobs_submit(pf_jobs *jobs, const pf_schema *schema,
                      const pf_report *checked, const pf_submit_options *opts,
                      pf_job **out);

/* Finds a recorded job by the API's request id or by the ledger's job
 * number ("12"). PF_ENOENT when there is none. No network access. */
PF_EXTERN pf_err pf_jobs_get(pf_jobs *jobs, const char *id, pf_job **out);

/* Lists recorded jobs, newest first: all of them, or only those a
 * 'preflight resume' would continue (submitting, queued, running, and
 * completed with outputs not yet downloaded to a recorded directory).
 * limit 0 means no limit. *out is an array of count jobs, freed with
 * pf_job_list_free; on failure it is NULL and count 0. */
PF_EXTERN pf_err pf_jobs_list(pf_jobs *jobs, int unfinished_only, size_t limit,
                    pf_job ***out, size_t *count);

/* Asks the API for the job's state once and records it; a completed job's
 * outputs are fetched and recorded too. A job in a final state is left as
 * it is, without a query. A job still marked submitting whose process is
 * gone becomes outcome unknown. On failure the job is unchanged. */
PF_EXTERN pf_err pf_jobs_refresh(pf_jobs *jobs, pf_job *job);

/* Cancels a queued job and records it. PF_EJOB when the API refuses
 * because the job is already running (it goes on) or finished; PF_EAPI when
 * the provider documents no way to cancel. */
PF_EXTERN pf_err pf_jobs_cancel(pf_jobs *jobs, pf_job *job);

/* What a wait reports as it goes: after each status query and, during a
 * download, about ten times a second. */
typedef struct pf_job_progress {
    pf_job_state state;
    int queue_position;     /* -1 when the API did not say */
    double elapsed;         /* seconds since the wait began */
    int downloading;        /* 1 during a download: the fields below */
    size_t output;          /* index of the output being downloaded */
    size_t outputs;         /* how many there are */
    int64_t bytes, total;   /* of this output; total -1 when unknown */
} pf_job_progress;
typedef void (*pf_job_progress_fn)(void *userdata, const pf_job *job,
                                   const pf_job_progress *progress);

/* An initialised struct (pf_wait_options_init) or NULL asks for the
 * defaults. */
typedef struct pf_wait_options {
    size_t size;            /* sizeof(pf_wait_options): set by pf_wait_options_init() */
    int64_t timeout_ms;     /* stop waiting after this long (PF_ETIMEOUT;
                             * the job goes on and stays recorded); 0: never */
    int keep_on_interrupt;  /* on pf_ctx_interrupt, leave a queued job in
                             * the queue instead of cancelling it */
    const char *outdir;     /* download the outputs here; NULL: the job's
                             * recorded directory; no directory at all:
                             * nothing is downloaded */
    int force;              /* replace existing files of the same names */
    pf_job_progress_fn progress;
    void *progress_userdata;
} pf_wait_options;

/* Sets every field to its default and size to this header's sizeof (see
 * "ABI" above); compiled into the caller. PF_WAIT_OPTIONS_INIT is the same as an
 * initialiser: "pf_wait_options o = PF_WAIT_OPTIONS_INIT;". */
static inline void pf_wait_options_init(pf_wait_options *s)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
}
#define PF_WAIT_OPTIONS_INIT { .size = sizeof(pf_wait_options) }

/*
 * Polls the job until it reaches a final state (backing off from the poll
 * interval to its cap, with jitter; a failing query is retried a few times
 * before it is reported) and then downloads every output not downloaded
 * yet. Each download streams into a temporary file in the directory
 * (".preflight-JOB-N.part"), resumed with a Range request when an earlier
 * transfer was cut, is probed (an output that is not the media the API
 * says it is, or is truncated, is an error and is removed) and is then
 * renamed to a name derived from its URL: its last path segment with
 * anything but letters, digits, '.', '-' and '_' replaced, never starting
 * with a dot, made unique among the job's outputs and given the extension
 * of its format when it has none. An existing file of that name is an
 * error (PF_EEXIST) unless opts->force, or unless the ledger records it as
 * this very output. An output URL refused the way an expired presigned URL
 * is (401, 403, 404, 410, an expired signature) makes it read the job's
 * result once more, record the fresh URLs of the outputs not downloaded
 * yet and try again; once per call.
 *
 * Returns PF_OK when the job completed and its outputs are downloaded (or
 * recorded, without a directory). PF_EJOB when it failed or was cancelled
 * (the message carries the API's reason). PF_ETIMEOUT after
 * opts->timeout_ms. PF_EINTR after pf_ctx_interrupt(): a queued job is
 * cancelled first unless opts->keep_on_interrupt, a running one goes on;
 * the message says which and how to resume. PF_EUNKNOWN for a job whose
 * submission has an unknown outcome. Every state seen is recorded, so any
 * failure can be resumed by waiting again.
 */
PF_EXTERN pf_err pf_jobs_wait(pf_jobs *jobs, pf_job *job, const pf_wait_options *opts);

/* Accessors. Strings are owned by the job and live as long as it. */
PF_EXTERN int64_t pf_job_number(const pf_job *job);           /* the ledger's id */
PF_EXTERN const char *pf_job_request_id(const pf_job *job);   /* NULL until known */
PF_EXTERN const char *pf_job_provider(const pf_job *job);     /* "runcomfy" */
PF_EXTERN const char *pf_job_model(const pf_job *job);
PF_EXTERN pf_job_state pf_job_get_state(const pf_job *job);
PF_EXTERN int pf_job_queue_position(const pf_job *job);       /* -1: not known */
/* The API's reason for a failure, or why the outcome is unknown; NULL. */
PF_EXTERN const char *pf_job_error(const pf_job *job);
PF_EXTERN const char *pf_job_outdir(const pf_job *job);       /* NULL: none recorded */
PF_EXTERN int64_t pf_job_created(const pf_job *job);          /* Unix seconds */
PF_EXTERN int64_t pf_job_updated(const pf_job *job);
/* 1 when pf_jobs_submit returned a recorded job instead of submitting. */
PF_EXTERN int pf_job_reused(const pf_job *job);

/* One output of a completed job. */
typedef struct pf_job_output {
    const char *url;        /* without its query string: a presigned
                             * signature is never shown */
    pf_media_kind kind;     /* what the API says it is; UNKNOWN when it does
                             * not say */
    const char *path;       /* the downloaded file, or NULL */
    int64_t size;           /* its size in bytes, or -1 */
    const char *sha256;     /* its SHA-256 in hex, or NULL */
} pf_job_output;

PF_EXTERN size_t pf_job_output_count(const pf_job *job);
PF_EXTERN const pf_job_output *pf_job_output_at(const pf_job *job, size_t i);
/* Where output i was in the API's result as a JSON path ("images[1]",
 * "video"), for providers whose results hold file objects anywhere (fal);
 * malloc'ed (pf_free), NULL when the provider does not say or i is out of
 * range. Also "json_path" in pf_job_to_json. */
PF_EXTERN char *pf_job_output_json_path(const pf_job *job, size_t i);

/* The job as one JSON object: {"job", "request_id", "provider", "model",
 * "state", "queue_position", "reason" (pf_job_error), "outdir", "created",
 * "updated", "reused", "outputs": [{"url", "kind", "path", "size",
 * "sha256", "json_path", "worker", "media"}]}; "json_path" is where the
 * API's result held it; "worker" is who downloaded it (NULL until then);
 * "media" holds the facts pf_probe reads from a downloaded
 * file, with probe_media set (NULL otherwise). Caller frees with pf_free;
 * NULL when out of memory. */
PF_EXTERN char *pf_job_to_json(pf_ctx *ctx, const pf_job *job, int probe_media);

/* Accept NULL. */
PF_EXTERN void pf_job_free(pf_job *job);
PF_EXTERN void pf_job_list_free(pf_job **jobs, size_t count);

/* ---- the model catalogue: bundled and imported models (src/rules) ------ */

/* One model as pf_models_list reports it. Owned by the library and valid
 * only during the callback; fields may be appended. */
typedef struct pf_model_entry {
    const char *id;         /* what --model takes: "fal:fal-ai/flux/dev" */
    const char *provider;   /* "runcomfy", "cometapi", "fal" */
    const char *title;      /* "" when the schema has none */
    const char *origin;     /* "bundled" or "imported" */
    int64_t imported;       /* when it was imported (Unix seconds); 0 for
                             * bundled */
    const char *path;       /* the file it is loaded from */
} pf_model_entry;
typedef void (*pf_model_entry_fn)(void *userdata, const pf_model_entry *model);

/* Calls fn once per known model, sorted by id: the bundled rules and the
 * user's catalogue ($XDG_DATA_HOME/preflight/rules, else
 * ~/.local/share/preflight/rules). A model in both (imported over a bundled
 * one) is listed once, as imported: pf_schema_load_model loads that copy.
 * Returns the first error (a file that does not load names itself); fn
 * has then been called for none. pf_models_foreach lists the same ids. */
PF_EXTERN pf_err pf_models_list(pf_ctx *ctx, pf_model_entry_fn fn, void *userdata);

/* Import flags. */
#define PF_IMPORT_OVER_BUNDLED 1u   /* store a model whose id is a bundled
                                     * one's (the bundled file is never
                                     * touched; the imported copy is used) */

/*
 * Adds a schema file to the user's catalogue as
 * <catalogue>/<provider>/<model path>.json, stored exactly as given, so
 * that pf_schema_load_model (and --model) finds it from then on. Any
 * dialect pf_schema_load_file accepts is accepted. The id is as_id
 * ("PROVIDER:MODEL"; without a prefix, RunComfy; it is where jobs are
 * sent), whose provider must be the schema's own, or else the model id the
 * schema names.
 *
 * PF_ESCHEMA (or the loader's code) when the file is not a schema or names
 * no model and as_id is NULL; PF_EEXIST when the id is a bundled model's
 * and flags lacks PF_IMPORT_OVER_BUNDLED. The file is written to a
 * temporary name and renamed, so on any failure the catalogue is as it
 * was; an earlier import of the same id is replaced only on success. On
 * success *id and *stored (either may be NULL) receive the id and the
 * stored file's path, freed with pf_free.
 */
PF_EXTERN pf_err pf_models_import_file(pf_ctx *ctx, const char *path, const char *as_id,
                             unsigned flags, char **id, char **stored);

/*
 * Fetches fal's published OpenAPI document for one endpoint
 * ("fal-ai/kling-video/v2.6/pro/image-to-video") from
 * https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=ID, or from
 * $PREFLIGHT_FAL_OPENAPI_URL?endpoint_id=ID (plain http:// only to a
 * loopback host and only with pf_ctx_set_allow_http), and stores it as
 * pf_models_import_file does under "fal:ID". The document must load as a
 * schema of provider "fal" naming that very endpoint (PF_ESCHEMA
 * otherwise). PF_ENET, PF_EHTTP for a failed fetch (retried as any GET).
 * Nothing is stored on any failure.
 */
PF_EXTERN pf_err pf_models_import_fal(pf_ctx *ctx, const char *endpoint_id, unsigned flags,
                            char **id, char **stored);

#ifdef __cplusplus
}
#endif
#endif /* PREFLIGHT_H */
