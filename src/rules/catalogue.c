/*
 * The model catalogue: the bundled rules (pf__rules_dir) and the user's own
 * ($XDG_DATA_HOME/preflight/rules, ~/.local/share/preflight/rules by
 * default), both laid out as <provider>/<model path>.json. A model id is
 * "<provider>:<model path>", RunComfy's without the prefix.
 *
 * Bundled rules are never written. An import stores the document exactly
 * as it was given (the loader reads any dialect it knows), through a
 * temporary file renamed into place, so a failed import leaves nothing and
 * a reader never sees half a file. Its modification time is when it was
 * imported.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules_internal.h"

#define PF__CATALOGUE_MAX_BYTES (4 << 20)

struct model_list {
    struct pf__model_item {
        char *id, *provider, *title, *path;
        int imported;
        int64_t when;
    } *items;
    size_t count;
};

static void model_list_free(struct model_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].id);
        free(l->items[i].provider);
        free(l->items[i].title);
        free(l->items[i].path);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* A provider name or model path as it may appear in a file name below a
 * rules root: [A-Za-z0-9._/-], not absolute, no "..". */
static int valid_model_path(const char *p)
{
    if (!*p || *p == '/' || strstr(p, ".."))
        return 0;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("._/-", *p)))
            return 0;
    return 1;
}

pf_err pf__catalogue_dir(pf_ctx *ctx, char **out)
{
    return pf__xdg_dir(ctx, "XDG_DATA_HOME", ".local/share", "preflight/rules",
                       "the model catalogue", out);
}

/* Splits "provider:path" (RunComfy without a prefix). 0, or -1 when the id
 * cannot name a file below a rules root. */
static int split_id(const char *id, char *provider, size_t psize, const char **path)
{
    const char *colon = strchr(id, ':');

    *path = id;
    pf__strlcpy(provider, "runcomfy", psize);
    if (colon) {
        if (colon == id || (size_t)(colon - id) >= psize)
            return -1;
        memcpy(provider, id, (size_t)(colon - id));
        provider[colon - id] = '\0';
        *path = colon + 1;
    }
    return valid_model_path(provider) && !strchr(provider, '/') &&
           valid_model_path(*path) ? 0 : -1;
}

/* The id a model at provider/path has: RunComfy's without a prefix. */
static char *make_id(const char *provider, const char *path)
{
    return strcmp(provider, "runcomfy") == 0 ? strdup(path)
                                             : pf__asprintf("%s:%s", provider, path);
}

/* ROOT/provider/path.json, or NULL (no memory). */
static char *model_file(const char *root, const char *provider, const char *path)
{
    return pf__asprintf("%s/%s/%s.json", root, provider, path);
}

static int is_file(const char *path)
{
    struct stat st;

    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int find_item(const struct model_list *l, const char *id)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].id, id) == 0)
            return (int)i;
    return -1;
}

static pf_err add_item(pf_ctx *ctx, struct model_list *l, const char *file,
                       const char *provider, const char *id, int imported, int64_t when)
{
    struct pf__model_item *items, *it;
    pf_schema *s = NULL;
    int at = find_item(l, id);
    pf_err rc;

    if ((rc = pf_schema_load_file(ctx, file, id, &s)))
        return rc;
    if (at >= 0) {
        /* An imported copy of a bundled id (only --force makes one) is the
         * one --model loads, so it is the one listed. */
        it = &l->items[at];
        free(it->title);
        free(it->path);
    } else {
        if (!(items = realloc(l->items, (l->count + 1) * sizeof *items))) {
            pf_schema_free(s);
            return pf__error(ctx, PF_ENOMEM, "out of memory");
        }
        l->items = items;
        it = &l->items[l->count++];
        memset(it, 0, sizeof *it);
        it->id = strdup(id);
        it->provider = strdup(provider);
    }
    it->title = strdup(s->title ? s->title : "");
    it->path = strdup(file);
    it->imported = imported;
    it->when = when;
    pf_schema_free(s);
    if (!it->id || !it->provider || !it->title || !it->path)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
}

/* Walks root/provider recursively collecting its models. */
static pf_err scan_dir(pf_ctx *ctx, struct model_list *l, const char *root,
                       const char *provider, const char *rel, int imported)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    pf_err rc = PF_OK;

    snprintf(path, sizeof path, "%s/%s%s%s", root, provider, *rel ? "/" : "", rel);
    if (!(d = opendir(path)))
        return PF_OK;
    while ((e = readdir(d))) {
        char sub[2048], file[4096], *id;
        struct stat st;
        size_t n = strlen(e->d_name);

        /* Dot files include an import's temporary file. */
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "",
                     e->d_name) >= (int)sizeof sub ||
            snprintf(file, sizeof file, "%s/%s", path, e->d_name) >= (int)sizeof file ||
            stat(file, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if ((rc = scan_dir(ctx, l, root, provider, sub, imported)))
                break;
            continue;
        }
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        sub[strlen(sub) - 5] = '\0';
        if (!valid_model_path(sub))
            continue;
        if (!(id = make_id(provider, sub))) {
            rc = pf__error(ctx, PF_ENOMEM, "out of memory");
            break;
        }
        rc = add_item(ctx, l, file, provider, id, imported, (int64_t)st.st_mtime);
        free(id);
        if (rc)
            break;
    }
    closedir(d);
    return rc;
}

static pf_err scan_root(pf_ctx *ctx, struct model_list *l, const char *root, int imported)
{
    DIR *d;
    struct dirent *e;
    pf_err rc = PF_OK;

    if (!(d = opendir(root))) {
        /* No catalogue yet is the usual case; no bundled rules is not. */
        if (imported && errno == ENOENT)
            return PF_OK;
        return pf__error(ctx, PF_ENOENT, "%s: cannot read the %s: %s", root,
                         imported ? "model catalogue" : "rules directory",
                         strerror(errno));
    }
    while ((e = readdir(d)) && !rc)
        if (e->d_name[0] != '.' && valid_model_path(e->d_name))
            rc = scan_dir(ctx, l, root, e->d_name, "", imported);
    closedir(d);
    return rc;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct pf__model_item *)a)->id,
                  ((const struct pf__model_item *)b)->id);
}

static pf_err list_models(pf_ctx *ctx, struct model_list *l)
{
    char *user = NULL;
    pf_err rc;

    memset(l, 0, sizeof *l);
    if (!(rc = scan_root(ctx, l, pf__rules_dir(ctx), 0)) &&
        !(rc = pf__catalogue_dir(ctx, &user)))
        rc = scan_root(ctx, l, user, 1);
    free(user);
    if (l->count > 1)
        qsort(l->items, l->count, sizeof *l->items, by_id);
    return rc;
}

pf_err pf_models_foreach(pf_ctx *ctx, pf_model_fn fn, void *userdata)
{
    struct model_list l;
    pf_err rc = list_models(ctx, &l);

    if (!rc)
        for (size_t i = 0; i < l.count; i++)
            fn(userdata, l.items[i].id, l.items[i].provider, l.items[i].title);
    model_list_free(&l);
    return rc;
}

pf_err pf_models_list(pf_ctx *ctx, pf_model_entry_fn fn, void *userdata)
{
    struct model_list l;
    pf_err rc = list_models(ctx, &l);

    if (!rc)
        for (size_t i = 0; i < l.count; i++) {
            pf_model_entry e;

            memset(&e, 0, sizeof e);
            e.id = l.items[i].id;
            e.provider = l.items[i].provider;
            e.title = l.items[i].title;
            e.origin = l.items[i].imported ? "imported" : "bundled";
            e.imported = l.items[i].imported ? l.items[i].when : 0;
            e.path = l.items[i].path;
            fn(userdata, &e);
        }
    model_list_free(&l);
    return rc;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[256], cur[256];

    if (lb >= 255)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

pf_err pf_schema_load_model(pf_ctx *ctx, const char *model_id, pf_schema **out)
{
    char provider[64], *bundled = NULL, *user_root = NULL, *imported = NULL;
    const char *model_path, *best = NULL;
    struct model_list l;
    size_t best_d = (size_t)-1;
    pf_err rc;

    *out = NULL;
    memset(&l, 0, sizeof l);
    if (split_id(model_id, provider, sizeof provider, &model_path) != 0)
        return pf__error(ctx, PF_ENOMODEL, "unknown model '%s'", model_id);
    if (!(bundled = model_file(pf__rules_dir(ctx), provider, model_path))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    /* The user's copy of a bundled id exists only when imported with
     * --force, which asked for it to be used. A catalogue that cannot be
     * located (no home) leaves the bundled rules working. */
    if (pf__catalogue_dir(ctx, &user_root) == PF_OK &&
        !(imported = model_file(user_root, provider, model_path))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    pf__clear_error(ctx);
    if (is_file(imported)) {
        rc = pf_schema_load_file(ctx, imported, model_id, out);
        goto out;
    }
    if (is_file(bundled)) {
        rc = pf_schema_load_file(ctx, bundled, model_id, out);
        goto out;
    }
    /* Neither: suggest the nearest id (the CLI adds how to list, import or
     * give a schema file). */
    if (list_models(ctx, &l) == PF_OK) {
        for (size_t i = 0; i < l.count; i++) {
            size_t d = edit_distance(model_id, l.items[i].id);

            if (d < best_d) {
                best_d = d;
                best = l.items[i].id;
            }
        }
    }
    if (best && best_d <= strlen(model_id) / 3)
        rc = pf__error(ctx, PF_ENOMODEL,
                       "unknown model '%s': neither bundled nor imported (did you mean '%s'?)",
                       model_id, best);
    else
        rc = pf__error(ctx, PF_ENOMODEL,
                       "unknown model '%s': neither bundled nor imported", model_id);
out:
    model_list_free(&l);
    free(bundled);
    free(imported);
    free(user_root);
    return rc;
}

/* ---- importing ------------------------------------------------------------ */

/* Writes text to dir/name atomically: a temporary file beside it, flushed
 * to disk, then renamed over. On failure nothing is left behind. */
static pf_err write_atomic(pf_ctx *ctx, const char *file, const char *text, size_t len)
{
    const char *base = strrchr(file, '/');
    char *tmp;
    size_t off = 0;
    int fd = -1;
    pf_err rc = PF_OK;

    base = base ? base + 1 : file;
    if (!(tmp = pf__asprintf("%.*s.%s.XXXXXX", (int)(base - file), file, base)))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    if ((fd = mkstemp(tmp)) < 0) {
        rc = pf__error(ctx, errno == ENOSPC || errno == EDQUOT ? PF_ENOSPC : PF_EIO,
                       "%s: cannot write: %s", file, strerror(errno));
        free(tmp);
        return rc;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = pf__error(ctx, errno == ENOSPC || errno == EDQUOT ? PF_ENOSPC : PF_EIO,
                           "%s: cannot write: %s", file, strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    /* mkstemp makes it 0600; the catalogue is no secret, like rules/. */
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        rc = pf__error(ctx, PF_EIO, "%s: cannot write: %s", file, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = pf__error(ctx, PF_EIO, "%s: cannot write: %s", file, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, file) != 0)
        rc = pf__error(ctx, PF_EIO, "%s: cannot write: %s", file, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* The model path a schema names for itself, without a "provider:" prefix;
 * NULL when it names none (the loader then calls it by its origin). */
static const char *own_model(const pf_schema *s, const char *name)
{
    const char *m = pf_schema_model(s), *p = pf_schema_provider(s);
    size_t pn = p ? strlen(p) : 0;

    if (!m || !*m || (name && strcmp(m, name) == 0))
        return NULL;
    if (p && strncmp(m, p, pn) == 0 && m[pn] == ':')
        m += pn + 1;
    return valid_model_path(m) ? m : NULL;
}

pf_err pf__catalogue_store(pf_ctx *ctx, const char *text, size_t len, const char *name,
                           const char *as_id, const char *expect_id, unsigned flags,
                           char **id_out, char **path_out)
{
    pf_schema *s = NULL;
    char provider[64], *id = NULL, *root = NULL, *file = NULL, *bundled = NULL, *dir = NULL;
    const char *model_path = NULL, *own;
    pf_err rc;

    if (id_out)
        *id_out = NULL;
    if (path_out)
        *path_out = NULL;
    if ((rc = pf_schema_load_text(ctx, text, len, name, &s)))
        goto out;
    own = own_model(s, name);
    if (as_id) {
        if (split_id(as_id, provider, sizeof provider, &model_path) != 0) {
            rc = pf__error(ctx, PF_EUSAGE, "'%s' is not a model id PROVIDER:MODEL (letters, "
                           "digits, '.', '_', '-', '/' in the model path)", as_id);
            goto out;
        }
        /* The provider is where the job goes: a schema cannot be filed
         * under another one's name. */
        if (strcmp(provider, pf_schema_provider(s)) != 0) {
            rc = pf__error(ctx, PF_ESCHEMA, "%s: the schema is for provider '%s', not "
                           "'%s'", name, pf_schema_provider(s), provider);
            goto out;
        }
    } else {
        if (!own) {
            rc = pf__error(ctx, PF_ESCHEMA, "%s: the schema names no model id: give "
                           "the id to store it under", name);
            goto out;
        }
        pf__strlcpy(provider, pf_schema_provider(s), sizeof provider);
        model_path = own;
        if (!valid_model_path(provider) || strchr(provider, '/')) {
            rc = pf__error(ctx, PF_ESCHEMA, "%s: provider '%s' cannot name a catalogue "
                           "directory", name, pf_schema_provider(s));
            goto out;
        }
    }
    if (expect_id && strchr(expect_id, ':') &&
        (strncmp(expect_id, pf_schema_provider(s), strlen(pf_schema_provider(s))) != 0 ||
         expect_id[strlen(pf_schema_provider(s))] != ':')) {
        rc = pf__error(ctx, PF_ESCHEMA, "%s: a schema for provider '%s', not '%.*s': not "
                       "imported", name, pf_schema_provider(s),
                       (int)(strchr(expect_id, ':') - expect_id), expect_id);
        goto out;
    }
    if (!(id = make_id(provider, model_path)))
        goto nomem;
    if (expect_id && (strcmp(id, expect_id) != 0 || (own && !as_id &&
                                                     strcmp(own, model_path) != 0))) {
        rc = pf__error(ctx, PF_ESCHEMA, "%s: the document is for '%s', not '%s': not "
                       "imported", name, own ? own : "(no endpoint id)",
                       strchr(expect_id, ':') ? strchr(expect_id, ':') + 1 : expect_id);
        goto out;
    }
    if (!(bundled = model_file(pf__rules_dir(ctx), provider, model_path)))
        goto nomem;
    if (is_file(bundled) && !(flags & PF_IMPORT_OVER_BUNDLED)) {
        rc = pf__error(ctx, PF_EEXIST, "%s is a bundled model: not imported", id);
        goto out;
    }
    if ((rc = pf__catalogue_dir(ctx, &root)))
        goto out;
    if (!(file = model_file(root, provider, model_path)) || !(dir = strdup(file)))
        goto nomem;
    *strrchr(dir, '/') = '\0';
    if ((rc = pf__mkdir_p(ctx, dir, 0755, "model catalogue directory")) ||
        (rc = write_atomic(ctx, file, text, len)))
        goto out;
    pf__log(ctx, "imported %s into %s", id, file);
    if (id_out) {
        *id_out = id;
        id = NULL;
    }
    if (path_out) {
        *path_out = file;
        file = NULL;
    }
    goto out;
nomem:
    rc = pf__error(ctx, PF_ENOMEM, "out of memory");
out:
    pf_schema_free(s);
    free(id);
    free(root);
    free(file);
    free(bundled);
    free(dir);
    return rc;
}

pf_err pf_models_import_file(pf_ctx *ctx, const char *path, const char *as_id,
                             unsigned flags, char **id, char **stored)
{
    char *text = NULL;
    size_t len = 0;
    pf_err rc;

    if (id)
        *id = NULL;
    if (stored)
        *stored = NULL;
    if ((rc = pf__read_text_file(ctx, path, PF__CATALOGUE_MAX_BYTES, &text, &len)))
        return rc;
    rc = pf__catalogue_store(ctx, text, len, path, as_id, NULL, flags, id, stored);
    free(text);
    return rc;
}
