/*
 * Byte sources for the probers: a local file read with pread() and a block
 * of memory. Reads are positional and counted, so a probe can report how
 * little of a large file it really touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe_internal.h"

/* The source, its state and a copy of its name in one allocation, so
 * closing is a single free() whatever happened before. */
struct pf__file_source {
    struct pf__source base;
    int fd;
    char name[];
};

struct pf__memory_source {
    struct pf__source base;
    const uint8_t *data;
    size_t len;
    char name[];
};

static pf_err pf__file_read_at(struct pf__source *src, int64_t off, void *buf,
                               size_t len, size_t *got)
{
    struct pf__file_source *fs = (struct pf__file_source *)src;
    ssize_t n;

    *got = 0;
    if (off < 0)
        return pf__error(src->ctx, PF_EINTERNAL, "%s: read at negative offset",
                         src->name);
    /* Reading past the end is not an error: callers learn the end from
     * *got == 0, as with read(2). */
    if (src->size >= 0 && off >= src->size)
        return PF_OK;
    do {
        n = pread(fs->fd, buf, len, (off_t)off);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return pf__error(src->ctx, PF_EIO, "%s: %s", src->name,
                         strerror(errno));
    src->bytes_read += (uint64_t)n;
    *got = (size_t)n;
    return PF_OK;
}

static void pf__file_close(struct pf__source *src)
{
    struct pf__file_source *fs = (struct pf__file_source *)src;

    if (fs->fd >= 0)
        close(fs->fd);
    free(fs);
}

pf_err pf__source_open_file(pf_ctx *ctx, const char *path,
                            struct pf__source **out)
{
    struct pf__file_source *fs = NULL;
    size_t name_len = strlen(path);
    struct stat st;
    pf_err rc = PF_OK;

    *out = NULL;
    if (!(fs = calloc(1, sizeof *fs + name_len + 1))) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    memcpy(fs->name, path, name_len + 1);
    fs->base.name = fs->name;
    fs->base.kind = PF_SOURCE_FILE;
    fs->base.read_at = pf__file_read_at;
    fs->base.close = pf__file_close;
    fs->base.ctx = ctx;
    fs->base.impl = fs;
    fs->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fs->fd < 0) {
        int e = errno;

        rc = pf__error(ctx, e == ENOENT || e == ENOTDIR ? PF_ENOENT : PF_EIO,
                       "%s: %s", path, strerror(e));
        goto out;
    }
    if (fstat(fs->fd, &st) != 0) {
        rc = pf__error(ctx, PF_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* Opening a directory read-only succeeds; reading it does not. Pipes
     * and devices have no size and cannot be read at an offset, which
     * every prober relies on. */
    if (S_ISDIR(st.st_mode)) {
        rc = pf__error(ctx, PF_EIO, "%s: is a directory", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = pf__error(ctx, PF_EIO, "%s: not a regular file", path);
        goto out;
    }
    fs->base.size = (int64_t)st.st_size;
    *out = &fs->base;
    fs = NULL;
out:
    if (fs)
        pf__file_close(&fs->base);
    return rc;
}

static pf_err pf__memory_read_at(struct pf__source *src, int64_t off,
                                 void *buf, size_t len, size_t *got)
{
    struct pf__memory_source *ms = (struct pf__memory_source *)src;
    size_t n;

    *got = 0;
    if (off < 0)
        return pf__error(src->ctx, PF_EINTERNAL, "%s: read at negative offset",
                         src->name);
    if ((uint64_t)off >= ms->len)
        return PF_OK;
    n = ms->len - (size_t)off;
    if (n > len)
        n = len;
    memcpy(buf, ms->data + off, n);
    src->bytes_read += n;
    *got = n;
    return PF_OK;
}

static void pf__memory_close(struct pf__source *src)
{
    free(src);
}

pf_err pf__source_open_memory(pf_ctx *ctx, const char *name, const void *data,
                              size_t len, struct pf__source **out)
{
    struct pf__memory_source *ms;
    size_t name_len = strlen(name);

    *out = NULL;
    if (!(ms = calloc(1, sizeof *ms + name_len + 1)))
        return pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
    memcpy(ms->name, name, name_len + 1);
    ms->base.name = ms->name;
    ms->base.kind = PF_SOURCE_DATA;
    ms->base.size = (int64_t)len;
    ms->base.read_at = pf__memory_read_at;
    ms->base.close = pf__memory_close;
    ms->base.ctx = ctx;
    ms->base.impl = ms;
    ms->data = data;
    ms->len = len;
    *out = &ms->base;
    return PF_OK;
}

void pf__source_close(struct pf__source *src)
{
    if (src && src->close)
        src->close(src);
}

pf_err pf__source_read_full(struct pf__source *src, int64_t off, void *buf,
                            size_t len, size_t *got)
{
    size_t done = 0;
    pf_err rc = PF_OK;

    while (done < len) {
        size_t n = 0;

        if ((rc = src->read_at(src, off + (int64_t)done, (uint8_t *)buf + done,
                               len - done, &n)) != PF_OK)
            break;
        if (n == 0)
            break;
        done += n;
    }
    *got = done;
    return rc;
}
