/* preflight models: the bundled model ids. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

const char pf_cli_models_usage[] =
    "usage: preflight models [--json]\n"
    "\n"
    "Lists the bundled models: the ids --model accepts.\n"
    "\n"
    "  --json              one JSON array of {id, provider, title}\n";

struct listing {
    cJSON *array;               /* --json, or NULL */
};

static void print_model(void *userdata, const char *id, const char *provider,
                        const char *title)
{
    struct listing *l = userdata;

    if (l->array) {
        cJSON *o = cJSON_CreateObject();

        if (!o)
            return;
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "provider", provider);
        cJSON_AddStringToObject(o, "title", title);
        cJSON_AddItemToArray(l->array, o);
        return;
    }
    printf("%-52s %-9s %s\n", id, provider, title);
}

int pf_cli_models(int argc, char **argv)
{
    struct listing l = { NULL };
    pf_ctx *ctx = NULL;
    int json = 0, status = PF_EXIT_ERROR;
    pf_err rc;

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
    if ((rc = pf_models_foreach(ctx, print_model, &l))) {
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
