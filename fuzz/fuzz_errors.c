/*
 * Fuzz target for error bodies: what pf__http_body_error reads out of an
 * S3 XML <Error> (Code, Message, entities) or a JSON error in any of the
 * shapes the providers use, into the one-line message every failed call
 * shows. The output must stay a short, terminated line without control
 * characters, whatever the body: it goes straight into an error message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *s, size_t cap)
{
    size_t n = strlen(s);

    if (n >= cap)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Bodies arrive NUL-terminated at len (http.h), as here. */
    char *body = malloc(size + 1);
    char code[64], msg[300], tiny_code[2], tiny_msg[3];

    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    if (pf__http_body_error(body, size, code, sizeof code, msg, sizeof msg)) {
        if (!code[0] && !msg[0])
            abort();
    } else if (code[0] || msg[0]) {
        abort();
    }
    check_line(code, sizeof code);
    check_line(msg, sizeof msg);
    /* Buffers too small for anything but a character or two. */
    (void)pf__http_body_error(body, size, tiny_code, sizeof tiny_code,
                              tiny_msg, sizeof tiny_msg);
    check_line(tiny_code, sizeof tiny_code);
    check_line(tiny_msg, sizeof tiny_msg);
    free(body);
    return 0;
}
