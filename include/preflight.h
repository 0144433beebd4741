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

#ifdef __cplusplus
extern "C" {
#endif

#define PF_VERSION_MAJOR 0
#define PF_VERSION_MINOR 1
#define PF_VERSION_PATCH 0
#define PF_VERSION "0.1.0"

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
    X(EEXIST,    "exists",      "the file already exists")

typedef enum pf_err {
#define PF__ERR_ENUM(suffix, name, msg) PF_##suffix,
    PF_ERRNO_MAP(PF__ERR_ENUM)
#undef PF__ERR_ENUM
    PF__ERR_COUNT
} pf_err;

/* Static message and stable snake_case name of a code ("not_found"). */
const char *pf_strerror(pf_err err);
const char *pf_err_name(pf_err err);

/* Frees memory returned by this library (JSON strings). Accepts NULL. */
void pf_free(void *p);

/* A byte count as a person reads it, in decimal units and truncated, so a
 * size just under a limit never reads as the limit ("4.69 MB" for
 * 4,699,999 bytes). Always NUL-terminates buf. */
void pf_format_size(char *buf, size_t size, int64_t bytes);

/* ---- context ------------------------------------------------------------ */

typedef struct pf_ctx pf_ctx;

/* A context carries options and the last error message. Not thread-safe:
 * use one context per thread. Returns NULL only when out of memory. */
pf_ctx *pf_ctx_new(void);
/* Accepts NULL; safe to call once per context. */
void pf_ctx_free(pf_ctx *ctx);

/* The message of the last failure in this context: one line naming the file
 * or URL and the reason. Empty string when nothing failed. Valid until the
 * next call that fails in this context. */
const char *pf_ctx_error(const pf_ctx *ctx);

/* Where bundled model rules are searched first; NULL restores the default
 * ($PREFLIGHT_RULES_DIR, then the installed rules). The string is copied. */
pf_err pf_ctx_set_rules_dir(pf_ctx *ctx, const char *dir);

/* Allow plain http:// URLs to be probed (local test servers). Without it an
 * http:// media URL is a violation, since the APIs fetch over HTTPS only. */
void pf_ctx_set_allow_http(pf_ctx *ctx, int allow);

/* Asks the long operations running with this context (a video transcode,
 * an upload, a wait for a job) to stop at their next check, clean up what
 * they wrote and return PF_EINTR. Async-signal-safe: call it from a SIGINT
 * handler. */
void pf_ctx_interrupt(pf_ctx *ctx);

/* Optional diagnostic sink for --verbose. Messages never contain secrets or
 * URL query strings. */
typedef void (*pf_log_fn)(void *userdata, const char *line);
void pf_ctx_set_log(pf_ctx *ctx, pf_log_fn fn, void *userdata);

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
} pf_media_info;

/* Probes a local path, an http(s) URL or a data: URI. Reads headers only:
 * no full decode, no allocation from a header's claimed size. On failure
 * returns the code, sets the context's message and leaves *info zeroed. */
pf_err pf_probe(pf_ctx *ctx, const char *path_or_url, pf_media_info *info);

/* The facts as a JSON object text; caller frees with pf_free(). NULL when
 * out of memory. */
char *pf_media_info_to_json(const pf_media_info *info);

const char *pf_media_kind_name(pf_media_kind kind);

/* ---- schemas ------------------------------------------------------------ */

typedef struct pf_schema pf_schema;

/* Loads a bundled model by its documented path. RunComfy is the default
 * provider ("runwayml/runway-aleph/video-to-video"); others are prefixed
 * ("cometapi:runwayml/v1/video_to_video"). On failure *out is NULL. */
pf_err pf_schema_load_model(pf_ctx *ctx, const char *model_id,
                            pf_schema **out);

/* Loads a schema file: either a preflight rules file (as in rules/) or a
 * RunComfy input schema copied verbatim from a model's docs page. model_id
 * names it in reports (may be NULL). On failure *out is NULL. */
pf_err pf_schema_load_file(pf_ctx *ctx, const char *path,
                           const char *model_id, pf_schema **out);

/* Same, from a JSON text in memory (fuzzing, embedding). */
pf_err pf_schema_load_text(pf_ctx *ctx, const char *text, size_t len,
                           const char *name, pf_schema **out);

void pf_schema_free(pf_schema *schema);
const char *pf_schema_model(const pf_schema *schema);
const char *pf_schema_provider(const pf_schema *schema);

/* Calls fn once per bundled model, sorted by id. Returns the first error
 * met while reading the rules directory. */
typedef void (*pf_model_fn)(void *userdata, const char *id,
                            const char *provider, const char *title);
pf_err pf_models_foreach(pf_ctx *ctx, pf_model_fn fn, void *userdata);

/* ---- requests ----------------------------------------------------------- */

typedef struct pf_request pf_request;

pf_request *pf_request_new(void);
void pf_request_free(pf_request *req);

/* Reads a request JSON object from a file ("-" is stdin). Media values may
 * be URLs, data URIs or local paths. Fields already set are replaced. */
pf_err pf_request_load_file(pf_ctx *ctx, pf_request *req, const char *path);

/* FIELD=VALUE: a string. Setting a field again appends, turning it into an
 * array; a scalar given for an array field becomes a one-element array at
 * check time. */
pf_err pf_request_add_string(pf_ctx *ctx, pf_request *req, const char *field,
                             const char *value);
/* FIELD:=JSON: a raw JSON value. */
pf_err pf_request_add_json(pf_ctx *ctx, pf_request *req, const char *field,
                           const char *json);
/* FIELD=@PATH: a local media file. */
pf_err pf_request_add_file(pf_ctx *ctx, pf_request *req, const char *field,
                           const char *path);

/* The request as JSON (caller frees with pf_free). */
char *pf_request_to_json(const pf_request *req);

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
pf_err pf_check(pf_ctx *ctx, const pf_schema *schema, const pf_request *req,
                pf_report **out);

void pf_report_free(pf_report *report);

/* 1 when there is no violation and no input error. */
int pf_report_ok(const pf_report *report);

size_t pf_report_violation_count(const pf_report *report);
const pf_violation *pf_report_violation(const pf_report *report, size_t i);
size_t pf_report_warning_count(const pf_report *report);
const pf_warning *pf_report_warning(const pf_report *report, size_t i);
size_t pf_report_error_count(const pf_report *report);
const pf_input_error *pf_report_error(const pf_report *report, size_t i);

/* Probed media inputs, by field path. */
size_t pf_report_input_count(const pf_report *report);
const pf_media_info *pf_report_input(const pf_report *report, size_t i,
                                     const char **field, const char **value);

/* Defaults the API will apply to absent optional fields, as a JSON object
 * text owned by the report. */
const char *pf_report_defaults_json(const pf_report *report);

/* The whole report as one JSON object: {"ok", "model", "violations",
 * "warnings", "errors", "defaults", "inputs"}. Caller frees with pf_free. */
char *pf_report_to_json(const pf_report *report);

/* Process exit status that follows from a report: 0 pass, 1 violations,
 * 2 when some input could not be checked. */
int pf_report_exit_code(const pf_report *report);

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

/* A zeroed struct (or NULL) asks for the defaults. Fields are only ever
 * appended. */
typedef struct pf_fix_options {
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
pf_err pf_fix(pf_ctx *ctx, const pf_schema *schema, const pf_request *req,
              const char *outdir, const pf_fix_options *opts,
              pf_fix_result **out);

/* Accepts NULL. Files written stay where they are. */
void pf_fix_result_free(pf_fix_result *result);

size_t pf_fix_result_change_count(const pf_fix_result *result);
const pf_fix_change *pf_fix_result_change(const pf_fix_result *result,
                                          size_t i);

/* The request to send, as a JSON object text owned by the result: the
 * normalised request with each fixed media value replaced by its new
 * file's path (unchanged in a dry run). */
const char *pf_fix_result_request_json(const pf_fix_result *result);

/* The check of that request, owned by the result; in a dry run, the check
 * of the request as given. */
const pf_report *pf_fix_result_report(const pf_fix_result *result);

/* 0 when the request to send passes (a dry run: when every problem has a
 * planned fix), 1 when violations remain or a file cannot be made to
 * comply, 2 when an input could not be read, decoded or written. */
int pf_fix_result_exit_code(const pf_fix_result *result);

/* {"ok", "model", "dry_run", "changes": [{"field", "source", "output",
 * "status", "summary", "warning", "format", "width", "height", "file_size",
 * "quality", "encodes", videos also "duration", "fps", "remuxed", "error":
 * {"code", "message"}}], "request", "check":
 * {the report's JSON}}. Caller frees with pf_free; NULL when out of
 * memory. */
char *pf_fix_result_to_json(const pf_fix_result *result);

/* ---- upload: hosting local files for the API (src/net) ---------------- */

/* ---- jobs: submit, wait, download, the ledger (src/api, src/ledger) ---- */

#ifdef __cplusplus
}
#endif
#endif /* PREFLIGHT_H */
