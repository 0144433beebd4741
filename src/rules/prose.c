/*
 * Limits stated only in prose. Many schemas say in a field's description
 * what no structured rule of theirs says ("1-3 videos", "between 2 and 10
 * seconds", "Max 5MB", ".mp4/.mov only", "resolution must be between
 * 128x128 and 5000x5000"). Reading such sentences as rules would be a
 * guess presented as a check, so they are only classified: which kinds of
 * limit a sentence states, so that a loader can keep the sentences that
 * state a kind no structured rule of the field covers and the check can
 * quote them as "not checked". Never a silent pass, never a guess.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_internal.h"

/* word occurs in lc (lower case) with no letter or digit either side. */
static int has_word(const char *lc, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = strstr(lc, word); p; p = strstr(p + 1, word)) {
        int before = p > lc && isalnum((unsigned char)p[-1]);
        int after = isalnum((unsigned char)p[n]);

        if (!before && !after)
            return 1;
    }
    return 0;
}

static int has(const char *lc, const char *part)
{
    return strstr(lc, part) != NULL;
}

/* A number directly followed (a space allowed) by one of units, the unit
 * ending the word: "5MB", "10 s", "720p". */
static int number_then(const char *lc, const char *const units[])
{
    for (const char *p = lc; *p; p++) {
        const char *q;

        if (!isdigit((unsigned char)*p) || (p > lc && isalpha((unsigned char)p[-1])))
            continue;
        q = p;
        while (isdigit((unsigned char)*q) || *q == '.')
            q++;
        if (*q == ' ')
            q++;
        for (size_t i = 0; units[i]; i++) {
            size_t n = strlen(units[i]);

            if (strncmp(q, units[i], n) == 0 && !isalpha((unsigned char)q[n]))
                return 1;
        }
        p = q - 1 > p ? q - 1 : p;
    }
    return 0;
}

static int is_count_word(const char *w, size_t n)
{
    static const char *const words[] = {
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        "ten", "single", "multiple",
    };
    int digits = n > 0;

    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)w[i]) && w[i] != '-' && (unsigned char)w[i] < 0x80)
            digits = 0;
    if (digits && isdigit((unsigned char)w[0]))
        return 1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && strncmp(words[i], w, n) == 0)
            return 1;
    return 0;
}

static int is_plural_noun(const char *w, size_t n)
{
    static const char *const nouns[] = {
        "images", "videos", "audios", "files", "clips", "photos", "references",
        "elements", "items", "urls", "tracks", "image", "video",
    };

    for (size_t i = 0; i < sizeof nouns / sizeof nouns[0]; i++)
        if (strlen(nouns[i]) == n && strncmp(nouns[i], w, n) == 0)
            return 1;
    return 0;
}

/* "1-3 videos", "1 to 4 images", "up to 4 images", "at least one image":
 * a count (a number or a number word) within three words of a noun for
 * files. "one image" alone is a count too: fal writes "at least one image
 * is required". */
static int states_count(const char *lc)
{
    const char *words[64];
    size_t lens[64], n = 0;

    for (const char *p = lc; *p && n < 64; ) {
        while (*p && !isalnum((unsigned char)*p) && (unsigned char)*p < 0x80)
            p++;
        if (!*p)
            break;
        words[n] = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '-' || (unsigned char)*p >= 0x80))
            p++;
        lens[n] = (size_t)(p - words[n]);
        /* "5%" and "10.0mb" are not counts */
        if (*p == '%' || *p == '.')
            lens[n] = 0;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        if (!lens[i] || !is_count_word(words[i], lens[i]))
            continue;
        for (size_t j = i + 1; j < n && j <= i + 3; j++)
            if (lens[j] && is_plural_noun(words[j], lens[j]) &&
                /* "one image" in "the image" sense is not a count unless
                 * the noun is plural or a bound says so */
                (words[j][lens[j] - 1] == 's' || has(lc, "at least") ||
                 has(lc, "at most") || has(lc, "only")))
                return 1;
    }
    return 0;
}

unsigned pf__prose_kinds(const char *sentence, const char *const *others)
{
    static const char *const size_units[] = { "kb", "mb", "gb", "mib", "kib", "gib",
                                              "bytes", NULL };
    static const char *const time_units[] = { "s", "sec", "secs", "seconds", "second",
                                              "min", "minutes", "ms", NULL };
    static const char *const res_units[] = { "px", "p", NULL };
    static const char *const formats[] = {
        "mp4", "mov", "webm", "avi", "mkv", "jpg", "jpeg", "png", "webp", "gif", "bmp",
        "tiff", "avif", "heif", "heic", "wav", "mp3", "m4a", "aac", "ogg", "opus", "flac",
    };
    char *lc = strdup(sentence ? sentence : "");
    unsigned k = 0;

    if (!lc)
        return PF__PROSE_CROSS;     /* cannot read it: keep it, say it */
    for (char *p = lc; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* fal's "Timeout: 20.0s" is the server's download timeout. */
    for (char *t = strstr(lc, "timeout:"); t; t = strstr(t, "timeout:")) {
        char *e = t + 8;

        while (*e && *e != ',' && *e != '.')
            e++;
        if (*e == '.' && isdigit((unsigned char)e[1])) {
            e++;
            while (isdigit((unsigned char)*e) || isalpha((unsigned char)*e))
                e++;
        }
        memset(t, ' ', (size_t)(e - t));
    }
    if (has(lc, "format"))
        k |= PF__PROSE_FORMAT;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (has_word(lc, formats[i]))
            k |= PF__PROSE_FORMAT;
    if (has(lc, "file size") || number_then(lc, size_units))
        k |= PF__PROSE_SIZE;
    if (has(lc, "duration") || has_word(lc, "seconds") || has_word(lc, "second") ||
        number_then(lc, time_units))
        k |= PF__PROSE_DURATION;
    if (has(lc, "resolution") || has_word(lc, "width") || has_word(lc, "height") ||
        has(lc, "pixel") || has_word(lc, "4k") || number_then(lc, res_units))
        k |= PF__PROSE_DIMENSIONS;
    for (const char *p = lc; *p; p++)
        if (isdigit((unsigned char)p[0]) && (p[1] == 'x' || p[1] == '*') &&
            isdigit((unsigned char)p[2]))
            k |= PF__PROSE_DIMENSIONS;
    if (has(lc, "aspect"))
        k |= PF__PROSE_ASPECT;
    for (const char *p = lc; *p; p++)
        if (isdigit((unsigned char)p[0]) && p[1] == ':' && isdigit((unsigned char)p[2]))
            k |= PF__PROSE_ASPECT;
    if (has_word(lc, "fps") || has(lc, "frame rate") || has(lc, "frames per second"))
        k |= PF__PROSE_FPS;
    else if (has_word(lc, "frames"))
        k |= PF__PROSE_FRAMES;
    if (states_count(lc))
        k |= PF__PROSE_COUNT;
    if (has_word(lc, "total") || has_word(lc, "combined") || has(lc, "depends on") ||
        has(lc, "depending on"))
        k |= PF__PROSE_CROSS;
    for (size_t i = 0; others && others[i]; i++) {
        char name[128];

        pf__strlcpy(name, others[i], sizeof name);
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (has_word(lc, name))
            k |= PF__PROSE_CROSS;
    }
    free(lc);
    return k;
}

unsigned pf__prose_covered(const struct pf__media_field *m, int has_count)
{
    unsigned k = has_count ? PF__PROSE_COUNT : 0;

    for (size_t i = 0; i < m->rule_count; i++) {
        if (m->rules[i].state != PF__RULE_OK)
            continue;
        switch (m->rules[i].id) {
        case PF__M_FORMAT: case PF__M_CODEC:
            k |= PF__PROSE_FORMAT;
            break;
        case PF__M_FILE_SIZE_MB: case PF__M_FILE_SIZE_KB: case PF__M_FILE_SIZE_BYTES:
        case PF__M_FILE_SIZE_MIB:
            k |= PF__PROSE_SIZE;
            break;
        case PF__M_DURATION:
            k |= PF__PROSE_DURATION;
            break;
        case PF__M_FRAME_COUNT:
            k |= PF__PROSE_FRAMES | PF__PROSE_DURATION;
            break;
        case PF__M_WIDTH: case PF__M_HEIGHT: case PF__M_SHORT_SIDE: case PF__M_LONG_SIDE:
        case PF__M_PIXELS: case PF__M_MEGAPIXELS:
            k |= PF__PROSE_DIMENSIONS;
            break;
        case PF__M_ASPECT: case PF__M_INV_ASPECT: case PF__M_SHORT_LONG:
        case PF__M_LONG_SHORT:
            k |= PF__PROSE_ASPECT;
            break;
        case PF__M_FPS:
            k |= PF__PROSE_FPS;
            break;
        default:
            break;
        }
    }
    return k;
}

void pf__prose_sentences(const char *text,
                         void (*fn)(void *ud, const char *s, size_t len), void *ud)
{
    const char *p = text, *start = text;

    for (;; p++) {
        int end = *p == '\0' || (*p == ';' && p[1] == ' ');
        size_t cut = 0;

        /* A line break ends a sentence when a paragraph or a list item
         * follows or the line ended one; otherwise it only wraps the line
         * (fal's descriptions are wrapped at 80 columns). */
        if (*p == '\n') {
            const char *q = p + 1, *r = p;

            while (*q == ' ' || *q == '\t')
                q++;
            while (r > text && (r[-1] == ' ' || r[-1] == '\t'))
                r--;
            end = *q == '\n' || *q == '-' || *q == '*' || *q == '\0' || r == text ||
                  r[-1] == '.' || r[-1] == ':' || r[-1] == '\n';
        }

        /* ". " ends a sentence, and so does ".X" (fal writes "16 FPS.Reference"),
         * but not "10.0MB" or ".mp4". */
        if (*p == '.' && (p[1] == ' ' || p[1] == '\0' || p[1] == '\n' ||
                          (isupper((unsigned char)p[1]) && p > text &&
                           isalpha((unsigned char)p[-1]))))
            end = 1, cut = 1;
        if (end) {
            const char *a = start, *b = p + cut;

            while (a < b && (isspace((unsigned char)*a) || *a == '-' || *a == '*'))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            if (b > a) {
                /* One line, blanks collapsed: it is quoted in a report. */
                char buf[1024];
                size_t n = 0;

                for (; a < b && n < sizeof buf - 1; a++)
                    if (!isspace((unsigned char)*a))
                        buf[n++] = *a;
                    else if (n && buf[n - 1] != ' ')
                        buf[n++] = ' ';
                buf[n] = '\0';
                fn(ud, buf, n);
            }
            start = p + 1;
        }
        if (!*p)
            break;
    }
}
