/*
 * The rules module: schema loading (schema.c), requests (request.c), the
 * validation_rule interpreter (rule.c), the check itself (check.c) and its
 * report (report.c). Pure logic: the only I/O is reading schema files and
 * asking the probe module about media.
 */
#ifndef PF_RULES_INTERNAL_H
#define PF_RULES_INTERNAL_H

#include <cjson/cJSON.h>

#include "../core/internal.h"

/* A media input of a schema: where its values are in a request and what
 * kind of media the API expects there. path is a property name, optionally
 * followed by "[]" for array elements and ".name" for a member of each
 * element ("references[].uri"). */
struct pf__media_field {
    char *path;
    pf_media_kind kind;         /* PF_MEDIA_UNKNOWN: any media */
    const cJSON *validations;   /* borrowed: the schema's own, or NULL */
    const cJSON *extensions;    /* borrowed: documented extensions, or NULL */
};

struct pf_schema {
    char *model;
    char *provider;
    char *title;
    char *origin;               /* file the schema was read from */
    cJSON *doc;                 /* owns everything below */
    const cJSON *input;         /* the input schema, verbatim */
    struct pf__media_field *media;
    size_t media_count;
    char *ratio_field;          /* "ratio" or NULL */
    char **ratio_media;         /* fields whose aspect the ratio frames */
    size_t ratio_media_count;
};

struct pf_request {
    cJSON *root;                /* a JSON object */
    cJSON *added;               /* set of fields given as arguments */
};

/* ---- rule.c ---- */

enum pf__op { PF__OP_LT, PF__OP_LE, PF__OP_GT, PF__OP_GE, PF__OP_EQ, PF__OP_NE };

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

/* Evaluates one rule against a subject. On FAIL (and PASS) *actual is set
 * to a new cJSON of the measured value (caller deletes). UNKNOWN_METRIC:
 * the engine does not know the metric; BAD_VALUE: the limit's JSON type
 * does not suit the metric; NOT_MEASURED: the probe could not tell (a
 * duration rule on a still image, say). */
enum pf__verdict pf__rule_eval(const struct pf__rule *rule, const cJSON *limit,
                               const struct pf__subject *subject,
                               cJSON **actual);

/* The canonical name of a rule's metric, whatever alias it was written
 * with ("width" -> "width_pixels", "aspect_ratio" -> "width/height"), or
 * NULL when the engine does not know it. Lets the fix planner read limits
 * exactly as the check reads them. */
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
