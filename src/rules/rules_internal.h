/*
 * The rules module: schema loading (schema.c), one loader per dialect
 * (dialect_runcomfy.c, dialect_fal.c) compiling into the typed model below,
 * prose-only limits (prose.c), requests (request.c), rule parsing and
 * evaluation (rule.c), the check itself (check.c) and its report
 * (report.c). Pure logic: the only I/O is reading schema files and asking
 * the probe module about media.
 */
#ifndef PF_RULES_INTERNAL_H
#define PF_RULES_INTERNAL_H

#include <cjson/cJSON.h>

#include "../core/internal.h"

/* ---- the compiled rule model ----
 *
 * Every dialect (RunComfy "validations", preflight's documented
 * extensions, fal's "x-fal") compiles at load into the same typed rules:
 * the check, the fixer and the job code read these and never the schema's
 * JSON. A new dialect is one new loader file (dialect_*.c). */

enum pf__op { PF__OP_LT, PF__OP_LE, PF__OP_GT, PF__OP_GE, PF__OP_EQ, PF__OP_NE };

/* What a rule measures, whatever name it was written with. */
enum pf__metric {
    PF__M_UNKNOWN = 0,
    PF__M_FILE_SIZE_MB, PF__M_FILE_SIZE_KB, PF__M_FILE_SIZE_BYTES, PF__M_FILE_SIZE_MIB,
    PF__M_WIDTH, PF__M_HEIGHT, PF__M_ASPECT, PF__M_INV_ASPECT, PF__M_SHORT_SIDE,
    PF__M_LONG_SIDE, PF__M_PIXELS, PF__M_MEGAPIXELS, PF__M_DURATION, PF__M_FPS,
    PF__M_FRAME_COUNT, PF__M_BITRATE_KBPS,
    PF__M_SHORT_LONG,           /* short side / long side: orientation-free */
    PF__M_LONG_SHORT,           /* long side / short side */
    PF__M_HAS_AUDIO, PF__M_FORMAT, PF__M_CODEC, PF__M_MEDIA_TYPE, PF__M_URL_SCHEME,
};

/* Why a rule cannot be evaluated, known at load and said at check time
 * (a rule the engine cannot read is a warning, never a silent pass). */
enum pf__rule_state {
    PF__RULE_OK,
    PF__RULE_UNPARSED,          /* not a metric followed by an operator */
    PF__RULE_UNKNOWN,           /* the engine does not know the metric */
    PF__RULE_BAD_VALUE,         /* the limit's type does not suit the metric */
};

enum pf__limit_kind { PF__LIMIT_NUMBER, PF__LIMIT_BOOL, PF__LIMIT_STRING,
                      PF__LIMIT_LIST, PF__LIMIT_OTHER };

/* One compiled media rule. */
struct pf__media_rule {
    char *key;                  /* as the schema writes it: "width_pixels<",
                                 * "max_width" (a violation's rule) */
    char metric[64];            /* the metric as written ("width") */
    enum pf__metric id;
    enum pf__op op;
    enum pf__rule_state state;
    enum pf__limit_kind kind;
    double number;              /* NUMBER */
    int boolean;                /* BOOL */
    char **strings;             /* STRING (one) or LIST */
    size_t string_count;
    char *message;              /* the schema's own words, or NULL */
};

/* A media input of a schema: where its values are in a request and what
 * kind of media the API expects there. path is a property name, optionally
 * followed by "[]" for array elements and ".name" for a member of each
 * element ("references[].uri", "elements[].reference_image_urls[]"). */
struct pf__media_field {
    char *path;
    pf_media_kind kind;         /* PF_MEDIA_UNKNOWN: any media */
    unsigned kinds;             /* several accepted: bits 1 << pf_media_kind;
                                 * 0 when kind says it all */
    int unprobed;               /* a file that is not media (a 3D model):
                                 * hosted as it is, with a warning */
    struct pf__media_rule *rules;   /* in the schema's order */
    size_t rule_count;
    char **prose;               /* sentences stating limits no rule of the
                                 * field covers: quoted as "not checked" */
    size_t prose_count;
};

/* A rule on a property that is not media: said to be unchecked when the
 * property is given. */
struct pf__unchecked_rule {
    char *field;
    char *key;
};

struct pf_schema {
    char *model;
    char *provider;
    char *title;
    char *origin;               /* file the schema was read from */
    char *endpoint;             /* the provider's endpoint id (fal), or NULL */
    const char *dialect;        /* "runcomfy", "preflight", "fal" */
    cJSON *doc;                 /* the document as read */
    cJSON *resolved;            /* the input schema with $ref, allOf and
                                 * null branches resolved (fal), or NULL */
    cJSON *output;              /* the output schema, resolved (fal), or NULL */
    const cJSON *input;         /* the input schema: parameters are checked
                                 * against its JSON Schema keywords */
    struct pf__media_field *media;
    size_t media_count;
    struct pf__unchecked_rule *unchecked;
    size_t unchecked_count;
    char *ratio_field;          /* "ratio" or NULL */
    char **ratio_media;         /* fields whose aspect the ratio frames */
    size_t ratio_media_count;
};

struct pf_request {
    cJSON *root;                /* a JSON object */
    cJSON *added;               /* set of fields given as arguments */
};

/* ---- rule.c ---- */

/* A validation_rule split into metric and operator: "width/height<" is
 * metric "width/height", operator "<". Returns 0, or -1 when the text has
 * no trailing operator or an empty metric. */
struct pf__rule {
    char metric[64];
    enum pf__op op;
};
int pf__rule_parse(const char *text, struct pf__rule *rule);

/* What one input looks like to a rule: its probed facts plus how the value
 * was given. */
struct pf__subject {
    const pf_media_info *info;  /* NULL when not probed (URL scheme rules) */
    const char *scheme;         /* "https", "http", "data", "file" */
};

enum pf__verdict { PF__PASS, PF__FAIL, PF__UNKNOWN_METRIC, PF__BAD_VALUE,
                   PF__NOT_MEASURED };

/* Compiles one rule: key as written, the metric name and operator it
 * means, the limit (copied into typed fields; NULL is a bad value) and the
 * schema's message (copied; may be NULL). An unknown metric or a limit of
 * the wrong type is recorded in rule->state, not refused. Returns PF_OK or
 * PF_ENOMEM (rule then holds nothing to free). */
pf_err pf__media_rule_init(struct pf__media_rule *rule, const char *key,
                           const char *metric, enum pf__op op,
                           const cJSON *limit, const char *message);
/* The same from a validation_rule text ("width_pixels<"): a text that does
 * not parse gives a rule in state PF__RULE_UNPARSED. */
pf_err pf__media_rule_from_text(struct pf__media_rule *rule, const char *text,
                                const cJSON *limit, const char *message);
/* Frees what a rule holds and zeroes it; safe twice. */
void pf__media_rule_free(struct pf__media_rule *rule);

/* Evaluates a compiled rule against a subject. On FAIL (and PASS) *actual
 * is set to a new cJSON of the measured value (caller deletes).
 * UNKNOWN_METRIC: the engine does not know the metric; BAD_VALUE: the
 * limit's type does not suit it; NOT_MEASURED: the probe could not tell (a
 * duration rule on a still image, say). */
enum pf__verdict pf__media_rule_eval(const struct pf__media_rule *rule,
                                     const struct pf__subject *subject,
                                     cJSON **actual);

/* The rule's limit as a new JSON value for reports; NULL when out of
 * memory or when the limit was not a value the rule could use. */
cJSON *pf__media_rule_limit(const struct pf__media_rule *rule);

/* Evaluates a parsed rule with a JSON limit: compiles it, then evaluates
 * it as above (for tests and the fuzzer; the engine compiles at load). */
enum pf__verdict pf__rule_eval(const struct pf__rule *rule, const cJSON *limit,
                               const struct pf__subject *subject,
                               cJSON **actual);

/* The metric a name means ("width" and "width_pixels" are PF__M_WIDTH),
 * PF__M_UNKNOWN when the engine does not know it; and the canonical name
 * of a metric ("width_pixels"). */
enum pf__metric pf__metric_of(const char *name);
const char *pf__metric_name(enum pf__metric id);

/* The canonical name of a rule's metric, whatever alias it was written
 * with ("width" -> "width_pixels", "aspect_ratio" -> "width/height"), or
 * NULL when the engine does not know it. */
const char *pf__rule_metric_name(const struct pf__rule *rule);

/* 1 when the metric needs probed media facts, 0 when the URL is enough. */
int pf__rule_needs_probe(const struct pf__rule *rule);

/* ---- check.c ---- */

/* A media input whose aspect differs from the requested output ratio by
 * more than this fraction gets the check's advice (and the fixer's crop). */
#define PF__RATIO_TOLERANCE 0.02

/* The media field of the schema that a value's path belongs to:
 * "image_urls[0]" to "image_urls[]", "references[1].uri" to
 * "references[].uri". NULL when none does. */
const struct pf__media_field *pf__schema_media_at(const pf_schema *schema,
                                                  const char *path);

/* The output ratio a request asks for, as text ("1280:768") and as a
 * width/height value, when the schema has a ratio field that frames the
 * media at path: 1, or 0 when there is none or it cannot be read. request
 * is the request object (given or normalised); an absent field falls back
 * to the schema's default. */
int pf__requested_ratio(const pf_schema *schema, const cJSON *request,
                        const char *path, const char **text, double *want);

/* Checks one media value (a path, URL or data URI) as pf_check checks it
 * at path: location, kind and every rule of the field. Used by the fixer
 * to hold its own output to the same rules. Returns PF_OK with a new report
 * in *out (it may hold violations or an input error); any other code means
 * no report. */
pf_err pf__check_media(pf_ctx *ctx, const pf_schema *schema, const char *path,
                       const char *value, pf_report **out);

/* ---- report.c ---- */

pf_report *pf__report_new(const char *model);
/* Each adder copies its strings and returns PF_ENOMEM on failure. limit
 * and actual are JSON values (copied); either may be NULL. */
pf_err pf__report_violation(pf_report *r, const char *field, const char *rule,
                            const cJSON *limit, const cJSON *actual,
                            const char *message);
pf_err pf__report_warning(pf_report *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
pf_err pf__report_error(pf_report *r, const char *field, pf_err code,
                        const char *message);
pf_err pf__report_input(pf_report *r, const char *field, const char *value,
                        const pf_media_info *info);
pf_err pf__report_default(pf_report *r, const char *field,
                          const cJSON *value);
/* Takes ownership of the normalised request sent to the API. */
void pf__report_set_request(pf_report *r, cJSON *request);
/* The normalised request, owned by the report; NULL when not set. */
const cJSON *pf__report_request(const pf_report *r);

/* ---- schema.c ---- */

/* The directory bundled rules are read from, for this context. */
const char *pf__rules_dir(pf_ctx *ctx);

/* Adds a media field (path copied, no rules yet); the new field in *out.
 * PF_ENOMEM on failure. */
pf_err pf__schema_add_media(pf_schema *s, const char *path, pf_media_kind kind,
                            struct pf__media_field **out);
/* Appends a compiled rule to a field (taking what rule holds). */
pf_err pf__media_add_rule(struct pf__media_field *m, struct pf__media_rule *rule);
/* Appends a copy of a prose sentence to a field. */
pf_err pf__media_add_prose(struct pf__media_field *m, const char *sentence);
/* Records a rule on a property that is not media. */
pf_err pf__schema_add_unchecked(pf_schema *s, const char *field, const char *key);

/* The endpoint id of a schema (fal's "fal-ai/kling-video/v2.6/pro/..."):
 * the id the provider's API is addressed with, without preflight's
 * "provider:" prefix; NULL for schemas that do not name one. Owned by the
 * schema. */
const char *pf__schema_endpoint(const pf_schema *s);
/* The output schema of a fal document (the COMPLETED result's, $ref
 * resolved), or NULL. Owned by the schema. */
const cJSON *pf__schema_output(const pf_schema *s);

/* ---- dialect_runcomfy.c ---- */

/* Compiles a preflight rules file or a RunComfy input schema pasted from
 * a docs page (s->doc) into s. model_id names the schema when the document
 * does not. The error is said in the context, naming s->origin. */
pf_err pf__dialect_runcomfy(pf_ctx *ctx, pf_schema *s, const char *model_id);

/* ---- dialect_fal.c ---- */

/* 1 when a parsed document is a fal OpenAPI document (or a catalogue
 * bundle holding only components.schemas). */
int pf__dialect_fal_detect(const cJSON *doc);
/* Compiles a fal OpenAPI document (s->doc) into s. name is the caller's
 * name for it (a file name such as "fal-ai__reve__edit.json" or an endpoint
 * id), used for the endpoint id when the document has none. */
pf_err pf__dialect_fal(pf_ctx *ctx, pf_schema *s, const char *name);

/* ---- prose.c ---- */

/* Kinds of limit a sentence can state, as bits. */
enum {
    PF__PROSE_FORMAT = 1, PF__PROSE_SIZE = 2, PF__PROSE_DURATION = 4,
    PF__PROSE_DIMENSIONS = 8, PF__PROSE_ASPECT = 16, PF__PROSE_FPS = 32,
    PF__PROSE_FRAMES = 64, PF__PROSE_COUNT = 128, PF__PROSE_CROSS = 256,
};

/* The kinds of limit a sentence states (0: none). others lists the
 * schema's other property names (NULL-terminated, may be NULL): naming
 * one makes the limit cross-field. */
unsigned pf__prose_kinds(const char *sentence, const char *const *others);
/* The kinds of limit a field's compiled rules cover (count: covered by
 * the array's own minItems/maxItems, said by has_count). */
unsigned pf__prose_covered(const struct pf__media_field *m, int has_count);
/* Calls fn for each sentence of text (split at ". ", newlines and "; "),
 * trimmed, with its length. */
void pf__prose_sentences(const char *text,
                         void (*fn)(void *ud, const char *s, size_t len), void *ud);

/* ---- catalogue.c ---- */

/* The user's model catalogue root ($XDG_DATA_HOME/preflight/rules, else
 * ~/.local/share/preflight/rules), malloc'ed; it may not exist yet. */
pf_err pf__catalogue_dir(pf_ctx *ctx, char **out);

/* Stores a schema text in the user's catalogue after loading it: under
 * as_id, or the model id it names. expect_id (or NULL): the id the text
 * must be for (a document fetched for an endpoint). name labels messages.
 * On success *id_out and *path_out (either may be NULL) are malloc'ed; on
 * failure nothing is written and the message is set. */
pf_err pf__catalogue_store(pf_ctx *ctx, const char *text, size_t len, const char *name,
                           const char *as_id, const char *expect_id, unsigned flags,
                           char **id_out, char **path_out);

#endif
