/* readhead: the I/O floor for bench-probe.sh.
 *
 * For each path on argv: open, pread() the first 64 KiB, close. This is the
 * least any header prober has to do per file (one open, one read, one close),
 * so the time it takes over a corpus is the "floor" preflight is compared
 * with. Nothing is parsed. Exit status 1 if any file could not be read.
 *
 * Build: cc -O2 -o readhead readhead.c
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#define HEAD (64 * 1024)

int main(int argc, char **argv)
{
    static unsigned char buf[HEAD];
    unsigned long long total = 0;
    int failures = 0;

    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        ssize_t got;

        if (fd < 0) {
            fprintf(stderr, "readhead: %s: %s\n", argv[i], strerror(errno));
            failures = 1;
            continue;
        }
        got = pread(fd, buf, sizeof buf, 0);
        if (got < 0) {
            fprintf(stderr, "readhead: %s: %s\n", argv[i], strerror(errno));
            failures = 1;
        } else {
            total += (unsigned long long)got;
        }
        close(fd);
    }
    /* One line per call, so the work cannot be optimised away and the
     * caller can see how much was read. */
    printf("%d files, %llu bytes\n", argc - 1, total);
    return failures;
}
