/* preflight models: the known model ids, bundled and imported; 'models
 * import' adds one to the user's catalogue. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"

const char pf_cli_models_usage[] =
    "usage: preflight models [--json]\n"
    "       preflight models import FILE | fal:ENDPOINT_ID [--as PROVIDER:MODEL]\n"
    "                              [--force] [--allow-http] [--json] [--verbose]\n"
    "\n"
    "Lists the models --model accepts: the bundled ones and those imported into\n"
    "your catalogue ($XDG_DATA_HOME/preflight/rules, ~/.local/share/preflight/rules\n"
    "by default), each with its origin.\n"
    "\n"
    "'models import FILE' stores a schema (a fal OpenAPI document, a RunComfy\n"
    "schema pasted from a docs page, a preflight rules file) in the catalogue\n"
    "under the model id it names; 'models import fal:ENDPOINT_ID' fetches fal's\n"
    "published OpenAPI document for that endpoint and stores it as\n"
    "fal:ENDPOINT_ID. A document that does not load, or names another model, is\n"
    "refused and nothing is stored.\n"
    "\n"
    "  --as PROVIDER:MODEL the id to store it under (needed for a schema that\n"
    "                      names none: a pasted RunComfy schema, a fal bundle of\n"
    "                      components); it is where jobs are sent, and its\n"
    "                      provider must be the schema's own\n"
    "  --force             import a model whose id is a bundled one's: the\n"
    "                      bundled file stays, your copy is the one used\n"
    "  --allow-http        fetch from a plain http:// PREFLIGHT_FAL_OPENAPI_URL\n"
    "                      (a loopback test server)\n"
    "  --json              one JSON array of {id, provider, title, origin,\n"
    "                      imported}; for import, one object {id, path}\n"
    "  --verbose           log the fetch to stderr\n";

struct listing {
    cJSON *array;               /* --json, or NULL */
};

static void print_model(void *userdata, const pf_model_entry *m)
{
    struct listing *l = userdata;
    char when[32] = "";

    if (m->imported) {
        struct tm tm;
        time_t t = (time_t)m->imported;

        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (l->array) {
        cJSON *o = cJSON_CreateObject();

        if (!o)
            return;
        cJSON_AddStringToObject(o, "id", m->id);
        cJSON_AddStringToObject(o, "provider", m->provider);
        cJSON_AddStringToObject(o, "title", m->title);
        cJSON_AddStringToObject(o, "origin", m->origin);
        if (m->imported)
            cJSON_AddStringToObject(o, "imported", when);
        else
            cJSON_AddNullToObject(o, "imported");
        cJSON_AddItemToArray(l->array, o);
        return;
    }
    if (m->imported)
        printf("%-52s %-9s %s (imported %s)\n", m->id, m->provider, m->title, when);
    else
        printf("%-52s %-9s %s\n", m->id, m->provider, m->title);
}

static int import(int argc, char **argv)
{
    const char *what = NULL, *as = NULL;
    int json = 0, force = 0, allow_http = 0, verbose = 0, status = PF_EXIT_ERROR;
    char *id = NULL, *stored = NULL, msg[300];
    pf_ctx *ctx = NULL;
    pf_err rc;

    for (int i = 2; i < argc; i++) {
        const char *v = NULL;

        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--force") == 0) {
            force = 1;
        } else if (strcmp(argv[i], "--allow-http") == 0) {
            allow_http = 1;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(pf_cli_usage("models"), stdout);
            return PF_EXIT_OK;
        } else if (pf_cli_option_value(argc, argv, &i, "--as", &v)) {
            if (!v || !*v)
                return pf_cli_fail(json, PF_EUSAGE, "models import: --as needs a value");
            as = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            snprintf(msg, sizeof msg, "models import: unknown option '%.200s'", argv[i]);
            return pf_cli_fail(json, PF_EUSAGE, msg);
        } else if (what) {
            return pf_cli_fail(json, PF_EUSAGE, "models import: one FILE or fal:ENDPOINT_ID "
                               "at a time");
        } else {
            what = argv[i];
        }
    }
    if (!what)
        return pf_cli_fail(json, PF_EUSAGE, "models import: give a FILE or fal:ENDPOINT_ID");
    if (!(ctx = pf_ctx_new())) {
        pf_cli_error("out of memory");
        return PF_EXIT_ERROR;
    }
    pf_ctx_set_allow_http(ctx, allow_http);
    if (verbose)
        pf_ctx_set_log(ctx, pf_cli_log_stderr, NULL);
    if (strncmp(what, "fal:", 4) == 0) {
        if (as) {
            pf_cli_fail(json, PF_EUSAGE, "models import: fal:ENDPOINT_ID is stored as "
                        "itself; --as goes with a FILE");
            goto out;
        }
        rc = pf_models_import_fal(ctx, what + 4, force ? PF_IMPORT_OVER_BUNDLED : 0,
                                  &id, &stored);
    } else {
        rc = pf_models_import_file(ctx, what, as, force ? PF_IMPORT_OVER_BUNDLED : 0,
                                   &id, &stored);
    }
    if (rc) {
        /* The library speaks of its flag; the tool names its option. */
        if (rc == PF_EEXIST) {
            snprintf(msg, sizeof msg, "%s (--force imports your copy over it: the "
                     "bundled file stays, yours is used)", pf_ctx_error(ctx));
            pf_cli_fail(json, rc, msg);
        } else {
            pf_cli_fail(json, rc, pf_cli_ctx_error(ctx, rc));
        }
        goto out;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        char *text;

        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "path", stored);
        if ((text = cJSON_PrintUnformatted(o)))
            puts(text);
        free(text);
        cJSON_Delete(o);
    } else {
        printf("imported %s into %s\n(use it with --model %s)\n", id, stored, id);
    }
    status = PF_EXIT_OK;
out:
    pf_free(id);
    pf_free(stored);
    pf_ctx_free(ctx);
    return status;
}

int pf_cli_models(int argc, char **argv)
{
    struct listing l = { NULL };
    pf_ctx *ctx = NULL;
    int json = 0, status = PF_EXIT_ERROR;
    pf_err rc;

    if (argc > 1 && strcmp(argv[1], "import") == 0)
        return import(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(pf_cli_usage("models"), stdout);
            return PF_EXIT_OK;
        } else {
            pf_cli_error("models: unknown option '%s'", argv[i]);
            return PF_EXIT_ERROR;
        }
    }
    if (!(ctx = pf_ctx_new()) || (json && !(l.array = cJSON_CreateArray()))) {
        pf_cli_error("out of memory");
        goto out;
    }
    if ((rc = pf_models_list(ctx, print_model, &l))) {
        pf_cli_fail(json, rc, pf_cli_ctx_error(ctx, rc));
        goto out;
    }
    if (l.array) {
        char *text = cJSON_PrintUnformatted(l.array);

        if (text)
            puts(text);
        free(text);
    }
    status = PF_EXIT_OK;
out:
    cJSON_Delete(l.array);
    pf_ctx_free(ctx);
    return status;
}
