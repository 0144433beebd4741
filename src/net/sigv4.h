/*
 * AWS Signature Version 4 for S3 and S3-compatible stores (R2, MinIO...):
 * the signing core, checked against AWS's published test suite, and
 * query-string presigning (a URL that carries its own authorisation, good
 * until it expires), checked against the AWS SDK's presigner.
 *
 * SHA-256 and HMAC come from OpenSSL's libcrypto, which libcurl links
 * already. Secrets never leave the credentials struct except as HMAC keys;
 * nothing here logs.
 */
#ifndef PF_NET_SIGV4_H
#define PF_NET_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/internal.h"

struct pf__aws_creds {
    char access_key[128];
    char secret_key[128];
    char session_token[4096];   /* "" without one */
    char region[64];            /* "us-east-1" unless AWS_REGION says */
    char endpoint[512];         /* AWS_ENDPOINT_URL(_S3), no trailing '/';
                                 * "" for AWS itself */
};

/*
 * Fills c from a file when path is not NULL, else from the environment:
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION
 * (then AWS_DEFAULT_REGION, then us-east-1), AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL. The file holds the same names as KEY=VALUE lines (a
 * shell env file, "export " allowed) or an AWS shared-credentials file's
 * [default] profile (aws_access_key_id = ...); region and endpoint not in
 * the file still come from the environment. PF_EAUTH naming what is
 * missing; the file's path in any message, never a value.
 */
pf_err pf__aws_creds_load(pf_ctx *ctx, const char *path, struct pf__aws_creds *c);

/* Overwrites the secrets (explicit_bzero). */
void pf__aws_creds_wipe(struct pf__aws_creds *c);

/* A query parameter or a header, unencoded. */
struct pf__sigv4_param {
    const char *name, *value;
};

/* Everything a SigV4 signature covers. */
struct pf__sigv4_input {
    const char *method;
    const char *path;           /* unencoded, from '/'; each segment is
                                 * URI-encoded once (as S3 wants) */
    const struct pf__sigv4_param *query;
    size_t nquery;
    const struct pf__sigv4_param *headers;   /* host included; names in */
    size_t nheaders;                         /* any case */
    const char *payload_hash;   /* hex SHA-256 or "UNSIGNED-PAYLOAD" */
    const char *amz_date;       /* "20150830T123600Z" */
    const char *region, *service;
    const char *secret_key;
    const char *access_key;
};

/* The signature (64 hex digits and a NUL) of in, and when the pointers
 * are not NULL the canonical request and the string to sign (malloc'ed,
 * for tests and debugging). PF_ENOMEM is the only failure. */
pf_err pf__sigv4_sign(pf_ctx *ctx, const struct pf__sigv4_input *in,
                      char signature[65], char **canonical_request,
                      char **string_to_sign);

/* Hex SHA-256 of a buffer. */
void pf__sha256_hex(const void *data, size_t len, char hex[65]);

/* S3 URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper
 * case), '/' kept when keep_slash. malloc'ed; NULL when out of memory. */
char *pf__sigv4_encode(const char *s, int keep_slash);

struct pf__presign {
    const char *method;         /* "PUT", "GET", "HEAD" */
    const char *base;           /* "https://host[:port]" or an endpoint
                                 * with a path prefix, no trailing '/' */
    const char *path;           /* unencoded: "/bucket/key" or "/key" */
    const char *content_type;   /* signed as a header when not NULL: the
                                 * request must send exactly it */
    int64_t expires;            /* seconds, 1..604800 */
    time_t now;                 /* the signing time */
    const char *service;        /* NULL: "s3" */
    /* More query parameters to sign (the SDK adds x-id=PutObject...). */
    const struct pf__sigv4_param *extra;
    size_t nextra;
};

/* A presigned URL (malloc'ed, *url), its query sorted as the canonical
 * query with X-Amz-Signature in its place, as the AWS SDK writes it. On
 * failure *url is NULL and the message says why (a bad base URL or
 * expiry: PF_EUSAGE). */
pf_err pf__sigv4_presign(pf_ctx *ctx, const struct pf__aws_creds *c,
                         const struct pf__presign *p, char **url);

/* The base URL and path of bucket/key under c's endpoint rules: with an
 * endpoint, path style (endpoint/bucket/key: MinIO, R2, s3rver); for AWS,
 * virtual-host style https://bucket.s3.region.amazonaws.com/key, or path
 * style on s3.region.amazonaws.com for bucket names that are not DNS
 * labels (dots would break the certificate's wildcard). Both malloc'ed. */
pf_err pf__s3_locate(pf_ctx *ctx, const struct pf__aws_creds *c,
                     const char *bucket, const char *key, char **base,
                     char **path);

/* From a presigned URL's X-Amz-Date and X-Amz-Expires (or a SigV2
 * Expires): when it stops working, as a Unix time; -1 when the URL does
 * not say. Reads the query only; nothing is verified. */
int64_t pf__presigned_expiry(const char *url);

#endif
