/*
 * A request: the JSON object that will be sent to the API, built from a
 * request file and FIELD=VALUE arguments. Media values stay as the user
 * gave them (URL, data URI or local path) until check time.
 */
#include <stdlib.h>
#include <string.h>

#include "rules_internal.h"

#define MAX_REQUEST_BYTES (64 << 20)    /* data URIs can be large */

pf_request *pf_request_new(void)
{
    pf_request *req = calloc(1, sizeof *req);

    if (req && (!(req->root = cJSON_CreateObject()) ||
                !(req->added = cJSON_CreateObject()))) {
        pf_request_free(req);
        req = NULL;
    }
    return req;
}

void pf_request_free(pf_request *req)
{
    if (!req)
        return;
    cJSON_Delete(req->root);
    cJSON_Delete(req->added);
    free(req);
}

pf_err pf_request_load_file(pf_ctx *ctx, pf_request *req, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *doc = NULL, *item;
    pf_err rc;

    if ((rc = pf__read_text_file(ctx, path, MAX_REQUEST_BYTES, &text, &len)))
        goto out;
    if (!(doc = cJSON_ParseWithLength(text, len))) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
        rc = pf__error(ctx, PF_EJSON, "%s: malformed JSON near byte %ld", path, off);
        goto out;
    }
    if (!cJSON_IsObject(doc)) {
        rc = pf__error(ctx, PF_EJSON, "%s: a request must be a JSON object", path);
        goto out;
    }
    /* Move each member into the request, replacing what was there. */
    while ((item = doc->child)) {
        cJSON_DetachItemViaPointer(doc, item);
        if (cJSON_GetObjectItemCaseSensitive(req->root, item->string))
            cJSON_DeleteItemFromObjectCaseSensitive(req->root, item->string);
        cJSON_AddItemToObject(req->root, item->string, item);
    }
out:
    cJSON_Delete(doc);
    free(text);
    return rc;
}

/* Adds value under field; a field given twice becomes an array (repeating
 * image_urls=@a.jpg image_urls=@b.jpg lists both), while a field that came
 * from a request file is replaced: arguments override the file. Takes
 * value. */
static pf_err add_value(pf_ctx *ctx, pf_request *req, const char *field,
                        cJSON *value)
{
    cJSON *old;

    if (!value)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    if (!field || !*field) {
        cJSON_Delete(value);
        return pf__error(ctx, PF_EUSAGE, "empty field name");
    }
    old = cJSON_GetObjectItemCaseSensitive(req->root, field);
    if (!cJSON_GetObjectItemCaseSensitive(req->added, field)) {
        if (!cJSON_AddTrueToObject(req->added, field)) {
            cJSON_Delete(value);
            return pf__error(ctx, PF_ENOMEM, "out of memory");
        }
        if (old) {
            /* In place, so the request keeps the file's field order. */
            cJSON_ReplaceItemInObjectCaseSensitive(req->root, field, value);
            return PF_OK;
        }
    }
    if (!old) {
        cJSON_AddItemToObject(req->root, field, value);
        return PF_OK;
    }
    if (!cJSON_IsArray(old) || cJSON_IsArray(value)) {
        cJSON *array = cJSON_CreateArray();

        if (!array) {
            cJSON_Delete(value);
            return pf__error(ctx, PF_ENOMEM, "out of memory");
        }
        cJSON_DetachItemViaPointer(req->root, old);
        cJSON_AddItemToArray(array, old);
        cJSON_AddItemToObject(req->root, field, array);
        old = array;
    }
    cJSON_AddItemToArray(old, value);
    return PF_OK;
}

pf_err pf_request_add_string(pf_ctx *ctx, pf_request *req, const char *field,
                             const char *value)
{
    return add_value(ctx, req, field, cJSON_CreateString(value));
}

pf_err pf_request_add_json(pf_ctx *ctx, pf_request *req, const char *field,
                           const char *json)
{
    cJSON *value = cJSON_Parse(json);

    if (!value)
        return pf__error(ctx, PF_EJSON, "%s:=%s: not a JSON value", field, json);
    return add_value(ctx, req, field, value);
}

pf_err pf_request_add_file(pf_ctx *ctx, pf_request *req, const char *field,
                           const char *path)
{
    if (!*path)
        return pf__error(ctx, PF_EUSAGE, "%s=@: empty path", field);
    return add_value(ctx, req, field, cJSON_CreateString(path));
}

char *pf_request_to_json(const pf_request *req)
{
    return cJSON_PrintUnformatted(req->root);
}
