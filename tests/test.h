/*
 * A tiny test harness in the spirit of libuv's test/task.h: assertions that
 * print both values and where they failed, then abort the test program.
 * A test program runs its cases from main() with RUN(); ctest sees its exit.
 */
#ifndef PF_TEST_H
#define PF_TEST_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>


#define FAIL_AT(...)                                                         \
    do {                                                                     \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                      \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
        abort();                                                             \
    } while (0)

#define ASSERT(expr)                                                         \
    do {                                                                     \
        if (!(expr))                                                         \
            FAIL_AT("assertion failed: %s", #expr);                          \
    } while (0)

#define ASSERT_INT(a, op, b)                                                 \
    do {                                                                     \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                        \
        if (!(a_ op b_))                                                     \
            FAIL_AT("%s %s %s: %" PRId64 " vs %" PRId64, #a, #op, #b, a_, b_); \
    } while (0)

#define ASSERT_EQ(a, b) ASSERT_INT(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT(a, !=, b)

#define ASSERT_DBL_EQ(a, b, eps)                                             \
    do {                                                                     \
        double a_ = (a), b_ = (b);                                           \
        if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))                         \
            FAIL_AT("%s == %s: %.9g vs %.9g", #a, #b, a_, b_);               \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                  \
    do {                                                                     \
        const char *a_ = (a), *b_ = (b);                                     \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                               \
            FAIL_AT("%s == %s: \"%s\" vs \"%s\"", #a, #b,                    \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                 \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                         \
    do {                                                                     \
        const char *h_ = (hay), *n_ = (needle);                              \
        if (!h_ || !strstr(h_, n_))                                          \
            FAIL_AT("%s does not contain \"%s\": \"%s\"", #hay, n_,          \
                    h_ ? h_ : "(null)");                                     \
    } while (0)

#define RUN(fn)                                                              \
    do {                                                                     \
        fprintf(stderr, "-- %s\n", #fn);                                     \
        fn();                                                                \
    } while (0)

/* Path of a fixture: $PF_FIXTURES/name (generated) or $PF_CORRUPT/name. */
static inline const char *pf_test_path(const char *envvar, const char *name)
{
    static char buf[8][4096];
    static int slot;
    const char *dir = getenv(envvar);
    char *p = buf[slot++ % 8];

    if (!dir)
        FAIL_AT("%s is not set: run the tests through ctest", envvar);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}
#define FIXTURE(name) pf_test_path("PF_FIXTURES", name)
#define CORRUPT(name) pf_test_path("PF_CORRUPT", name)

/* A fresh directory under $TMPDIR named prefix-XXXXXX (one of 8 rotating
 * buffers), and the removal of it with the files in it. */
static inline char *pf_test_make_dir(const char *prefix)
{
    static char path[8][256];
    static int slot;
    char *p = path[slot++ % 8];
    const char *tmp = getenv("TMPDIR");

    snprintf(p, 256, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (!mkdtemp(p))
        FAIL_AT("mkdtemp %s failed", p);
    return p;
}

static inline void pf_test_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600];

    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

#endif
