/*
 * AWS Signature Version 4 (docs.aws.amazon.com, "Signature Version 4
 * signing process" and S3's "Authenticating Requests: Using Query
 * Parameters"): a canonical request, a string to sign, a key derived from
 * the secret by four HMACs, one HMAC of the string. Presigning puts the
 * authorisation in the query, so the URL alone authorises one method on
 * one object until it expires.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4.h"

#define PF__SIGV4_ALGO "AWS4-HMAC-SHA256"
#define PF__SIGV4_MAX_EXPIRES 604800   /* seven days: S3's limit */

static void pf__hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void pf__sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    pf__hex(md, 32, hex);
}

static void pf__hmac(const void *key, size_t keylen, const char *msg,
                     unsigned char out[32])
{
    unsigned int outlen = 32;

    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
         strlen(msg), out, &outlen);
}

char *pf__sigv4_encode(const char *s, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;

    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
            (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = digits[*p >> 4];
            *o++ = digits[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ---- a growable string -------------------------------------------------- */

struct pf__str {
    char *s;
    size_t len, cap;
    int nomem;
};

static void pf__str_add(struct pf__str *b, const char *s, size_t n)
{
    if (b->nomem)
        return;
    if (n >= SIZE_MAX / 4 - b->len) {   /* the doubling below must not wrap */
        b->nomem = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *grown;

        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(grown = realloc(b->s, cap))) {
            b->nomem = 1;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void pf__str_cat(struct pf__str *b, const char *s)
{
    pf__str_add(b, s, strlen(s));
}

/* ---- canonical parts ---------------------------------------------------- */

struct pf__kv {
    char *name, *value;
};

static int pf__kv_cmp(const void *a, const void *b)
{
    const struct pf__kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}

static void pf__kv_free(struct pf__kv *kv, size_t n)
{
    for (size_t i = 0; kv && i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

/* name=value pairs URI-encoded and sorted by name, then value (bytes). */
static char *pf__canonical_query(const struct pf__sigv4_param *q, size_t n)
{
    struct pf__kv *kv = calloc(n ? n : 1, sizeof *kv);
    struct pf__str b = {0};
    size_t i;

    if (!kv)
        return NULL;
    for (i = 0; i < n; i++) {
        kv[i].name = pf__sigv4_encode(q[i].name, 0);
        kv[i].value = pf__sigv4_encode(q[i].value ? q[i].value : "", 0);
        if (!kv[i].name || !kv[i].value)
            b.nomem = 1;
    }
    if (!b.nomem)
        qsort(kv, n, sizeof *kv, pf__kv_cmp);
    pf__str_cat(&b, "");
    for (i = 0; i < n && !b.nomem; i++) {
        if (i)
            pf__str_cat(&b, "&");
        pf__str_cat(&b, kv[i].name);
        pf__str_cat(&b, "=");
        pf__str_cat(&b, kv[i].value);
    }
    pf__kv_free(kv, n);
    if (b.nomem) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* Lower-case names; values trimmed with inner runs of spaces made one. */
static char *pf__header_value(const char *v)
{
    char *out = malloc(strlen(v) + 1), *o = out;

    if (!out)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v; v++) {
        if ((*v == ' ' || *v == '\t') && (v[1] == ' ' || v[1] == '\t' || !v[1]))
            continue;
        *o++ = *v == '\t' ? ' ' : *v;
    }
    *o = '\0';
    return out;
}

pf_err pf__sigv4_sign(pf_ctx *ctx, const struct pf__sigv4_input *in,
                      char signature[65], char **canonical_request,
                      char **string_to_sign)
{
    struct pf__kv *hdr = calloc(in->nheaders ? in->nheaders : 1, sizeof *hdr);
    struct pf__str creq = {0}, sts = {0}, key = {0};
    char *path = pf__sigv4_encode(in->path, 1);
    char *query = pf__canonical_query(in->query, in->nquery);
    char date8[9], hash[65];
    unsigned char k[32];
    pf_err rc = PF_OK;
    size_t i;

    signature[0] = '\0';
    if (!hdr || !path || !query)
        goto nomem;
    for (i = 0; i < in->nheaders; i++) {
        if (!(hdr[i].name = strdup(in->headers[i].name)) ||
            !(hdr[i].value = pf__header_value(in->headers[i].value)))
            goto nomem;
        for (char *c = hdr[i].name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    qsort(hdr, in->nheaders, sizeof *hdr, pf__kv_cmp);

    pf__str_cat(&creq, in->method);
    pf__str_cat(&creq, "\n");
    pf__str_cat(&creq, path);
    pf__str_cat(&creq, "\n");
    pf__str_cat(&creq, query);
    pf__str_cat(&creq, "\n");
    for (i = 0; i < in->nheaders; i++) {
        pf__str_cat(&creq, hdr[i].name);
        pf__str_cat(&creq, ":");
        pf__str_cat(&creq, hdr[i].value);
        pf__str_cat(&creq, "\n");
    }
    pf__str_cat(&creq, "\n");
    for (i = 0; i < in->nheaders; i++) {
        if (i)
            pf__str_cat(&creq, ";");
        pf__str_cat(&creq, hdr[i].name);
    }
    pf__str_cat(&creq, "\n");
    pf__str_cat(&creq, in->payload_hash);
    if (creq.nomem)
        goto nomem;

    memcpy(date8, in->amz_date, 8);
    date8[8] = '\0';
    pf__sha256_hex(creq.s, creq.len, hash);
    pf__str_cat(&sts, PF__SIGV4_ALGO "\n");
    pf__str_cat(&sts, in->amz_date);
    pf__str_cat(&sts, "\n");
    pf__str_cat(&sts, date8);
    pf__str_cat(&sts, "/");
    pf__str_cat(&sts, in->region);
    pf__str_cat(&sts, "/");
    pf__str_cat(&sts, in->service);
    pf__str_cat(&sts, "/aws4_request\n");
    pf__str_cat(&sts, hash);
    pf__str_cat(&key, "AWS4");
    pf__str_cat(&key, in->secret_key);
    if (sts.nomem || key.nomem)
        goto nomem;

    pf__hmac(key.s, key.len, date8, k);
    pf__hmac(k, 32, in->region, k);
    pf__hmac(k, 32, in->service, k);
    pf__hmac(k, 32, "aws4_request", k);
    pf__hmac(k, 32, sts.s, k);
    pf__hex(k, 32, signature);
    OPENSSL_cleanse(k, sizeof k);
    if (canonical_request) {
        *canonical_request = creq.s;
        creq.s = NULL;
    }
    if (string_to_sign) {
        *string_to_sign = sts.s;
        sts.s = NULL;
    }
    goto out;
nomem:
    rc = pf__error(ctx, PF_ENOMEM, "out of memory");
out:
    if (key.s)
        OPENSSL_cleanse(key.s, key.len);
    free(key.s);
    free(creq.s);
    free(sts.s);
    free(path);
    free(query);
    pf__kv_free(hdr, in->nheaders);
    return rc;
}

/* ---- presigning --------------------------------------------------------- */

pf_err pf__sigv4_presign(pf_ctx *ctx, const struct pf__aws_creds *c,
                         const struct pf__presign *p, char **url)
{
    struct pf__sigv4_param q[16], h[2];
    size_t nq = 0, nh = 0;
    const char *service = p->service ? p->service : "s3";
    const char *host, *prefix;
    char amz_date[17], expires[24], credential[512], signed_headers[32];
    char signature[65], hostbuf[512], *full_path = NULL, *path = NULL;
    char *query = NULL;
    struct tm tm;
    struct pf__sigv4_input in;
    struct pf__str u = {0};
    pf_err rc;

    *url = NULL;
    if (p->expires < 1 || p->expires > PF__SIGV4_MAX_EXPIRES) {
        rc = pf__error(ctx, PF_EUSAGE, "presigned URL expiry must be 1 to %d "
                       "seconds (seven days), not %lld", PF__SIGV4_MAX_EXPIRES,
                       (long long)p->expires);
        goto out;
    }
    if (p->nextra > sizeof q / sizeof q[0] - 6) {
        rc = pf__error(ctx, PF_EINTERNAL, "too many query parameters to sign");
        goto out;
    }
    host = strstr(p->base, "://");
    if (!host || !host[3] || host[3] == '/') {
        rc = pf__error(ctx, PF_EUSAGE, "%s: not an http(s) endpoint URL", p->base);
        goto out;
    }
    host += 3;
    prefix = host + strcspn(host, "/?#");
    if ((size_t)(prefix - host) >= sizeof hostbuf || *prefix == '?' || *prefix == '#') {
        rc = pf__error(ctx, PF_EUSAGE, "%s: not an http(s) endpoint URL", p->base);
        goto out;
    }
    memcpy(hostbuf, host, (size_t)(prefix - host));
    hostbuf[prefix - host] = '\0';
    /* An endpoint with a path ("https://gw.example/s3") signs it too. */
    if (!(full_path = pf__asprintf("%s%s", prefix, p->path)) ||
        !(path = pf__sigv4_encode(full_path, 1)))
        goto nomem;

    gmtime_r(&p->now, &tm);
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(credential, sizeof credential, "%s/%.8s/%s/%s/aws4_request",
             c->access_key, amz_date, c->region, service);
    snprintf(expires, sizeof expires, "%lld", (long long)p->expires);
    snprintf(signed_headers, sizeof signed_headers, "%s",
             p->content_type ? "content-type;host" : "host");
    q[nq++] = (struct pf__sigv4_param){"X-Amz-Algorithm", PF__SIGV4_ALGO};
    q[nq++] = (struct pf__sigv4_param){"X-Amz-Credential", credential};
    q[nq++] = (struct pf__sigv4_param){"X-Amz-Date", amz_date};
    q[nq++] = (struct pf__sigv4_param){"X-Amz-Expires", expires};
    /* S3 wants a session token inside the signed query, not added after. */
    if (c->session_token[0])
        q[nq++] = (struct pf__sigv4_param){"X-Amz-Security-Token", c->session_token};
    q[nq++] = (struct pf__sigv4_param){"X-Amz-SignedHeaders", signed_headers};
    for (size_t i = 0; i < p->nextra; i++)
        q[nq++] = p->extra[i];
    h[nh++] = (struct pf__sigv4_param){"host", hostbuf};
    if (p->content_type)
        h[nh++] = (struct pf__sigv4_param){"content-type", p->content_type};

    memset(&in, 0, sizeof in);
    in.method = p->method;
    in.path = full_path;
    in.query = q;
    in.nquery = nq;
    in.headers = h;
    in.nheaders = nh;
    in.payload_hash = "UNSIGNED-PAYLOAD";
    in.amz_date = amz_date;
    in.region = c->region;
    in.service = service;
    in.secret_key = c->secret_key;
    in.access_key = c->access_key;
    if ((rc = pf__sigv4_sign(ctx, &in, signature, NULL, NULL)) != PF_OK)
        goto out;

    /* The signature joins the query in sorted place: the URL then reads
     * exactly as the SDK's. */
    q[nq++] = (struct pf__sigv4_param){"X-Amz-Signature", signature};
    if (!(query = pf__canonical_query(q, nq)))
        goto nomem;
    pf__str_add(&u, p->base, strlen(p->base) - strlen(prefix));  /* scheme://host */
    pf__str_cat(&u, path);
    pf__str_cat(&u, "?");
    pf__str_cat(&u, query);
    if (u.nomem)
        goto nomem;
    *url = u.s;
    u.s = NULL;
    goto out;
nomem:
    rc = pf__error(ctx, PF_ENOMEM, "out of memory");
out:
    free(u.s);
    free(full_path);
    free(path);
    free(query);
    return rc;
}

/* A bucket name usable as a DNS label under a wildcard certificate. */
static int pf__dns_bucket(const char *b)
{
    size_t n = strlen(b);

    if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
        return 0;
    for (; *b; b++)
        if (!(islower((unsigned char)*b) || isdigit((unsigned char)*b) || *b == '-'))
            return 0;
    return 1;
}

pf_err pf__s3_locate(pf_ctx *ctx, const struct pf__aws_creds *c,
                     const char *bucket, const char *key, char **base,
                     char **path)
{
    *base = *path = NULL;
    if (c->endpoint[0]) {
        *base = strdup(c->endpoint);
        *path = pf__asprintf("/%s/%s", bucket, key);
    } else if (pf__dns_bucket(bucket)) {
        *base = pf__asprintf("https://%s.s3.%s.amazonaws.com", bucket, c->region);
        *path = pf__asprintf("/%s", key);
    } else {
        *base = pf__asprintf("https://s3.%s.amazonaws.com", c->region);
        *path = pf__asprintf("/%s/%s", bucket, key);
    }
    if (!*base || !*path) {
        free(*base);
        free(*path);
        *base = *path = NULL;
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    }
    return PF_OK;
}

/* ---- credentials -------------------------------------------------------- */

void pf__aws_creds_wipe(struct pf__aws_creds *c)
{
    if (c)
        OPENSSL_cleanse(c, sizeof *c);
}

static int pf__creds_set(struct pf__aws_creds *c, const char *name,
                         const char *value)
{
    static const struct {
        const char *env, *ini;
        size_t off, size;
    } keys[] = {
#define PF__K(env, ini, field) \
    {env, ini, offsetof(struct pf__aws_creds, field), sizeof ((struct pf__aws_creds *)0)->field}
        PF__K("AWS_ACCESS_KEY_ID", "aws_access_key_id", access_key),
        PF__K("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", secret_key),
        PF__K("AWS_SESSION_TOKEN", "aws_session_token", session_token),
        PF__K("AWS_REGION", "region", region),
        PF__K("AWS_ENDPOINT_URL_S3", "endpoint_url", endpoint),
        PF__K("AWS_ENDPOINT_URL", NULL, endpoint),
#undef PF__K
    };

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(name, keys[i].env) == 0 ||
            (keys[i].ini && strcasecmp(name, keys[i].ini) == 0)) {
            char *field = (char *)c + keys[i].off;

            if (strlen(value) >= keys[i].size)
                return -1;
            /* AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL. */
            if (strcmp(name, "AWS_ENDPOINT_URL") == 0 && field[0])
                return 1;
            pf__strlcpy(field, value, keys[i].size);
            return 1;
        }
    }
    return 0;
}

static void pf__trim(char **s)
{
    char *e;

    while (**s == ' ' || **s == '\t')
        (*s)++;
    e = *s + strlen(*s);
    while (e > *s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    /* Quotes of a shell env file. */
    if (e - *s >= 2 && (**s == '"' || **s == '\'') && e[-1] == **s) {
        e[-1] = '\0';
        (*s)++;
    }
}

static pf_err pf__creds_file(pf_ctx *ctx, const char *path, struct pf__aws_creds *c)
{
    char *text = NULL, *line, *save = NULL;
    size_t len;
    int section_ok = 1;
    pf_err rc;

    if ((rc = pf__read_text_file(ctx, path, 64 * 1024, &text, &len)) != PF_OK)
        return rc;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq, *name = line, *value;

        pf__trim(&name);
        if (!*name || *name == '#' || *name == ';')
            continue;
        if (*name == '[') {
            /* An AWS shared-credentials file: only [default] is read. */
            section_ok = strncmp(name, "[default]", 9) == 0;
            continue;
        }
        if (!section_ok || !(eq = strchr(name, '=')))
            continue;
        *eq = '\0';
        value = eq + 1;
        if (strncmp(name, "export ", 7) == 0)
            name += 7;
        pf__trim(&name);
        pf__trim(&value);
        if (pf__creds_set(c, name, value) < 0) {
            rc = pf__error(ctx, PF_EAUTH, "%s: the value of %s is too long", path, name);
            break;
        }
    }
    OPENSSL_cleanse(text, len);
    free(text);
    return rc;
}

pf_err pf__aws_creds_load(pf_ctx *ctx, const char *path, struct pf__aws_creds *c)
{
    static const char *const names[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_REGION", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL",
    };
    const char *where = path ? path : "the environment";
    pf_err rc = PF_OK;
    size_t n;

    memset(c, 0, sizeof *c);
    if (path && (rc = pf__creds_file(ctx, path, c)) != PF_OK)
        goto out;
    /* What a file leaves out (region, endpoint) comes from the
     * environment; credentials never mix the two. */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);

        if (!v || !*v || (path && i < 3))
            continue;
        if ((i == 3 && c->region[0]) || (i >= 4 && c->endpoint[0] && path))
            continue;
        if (pf__creds_set(c, names[i], v) < 0) {
            rc = pf__error(ctx, PF_EAUTH, "%s is too long", names[i]);
            goto out;
        }
    }
    if (!c->region[0]) {
        const char *v = getenv("AWS_DEFAULT_REGION");

        pf__strlcpy(c->region, v && *v ? v : "us-east-1", sizeof c->region);
    }
    if (!c->access_key[0] || !c->secret_key[0]) {
        rc = pf__error(ctx, PF_EAUTH, "no AWS credentials in %s: set "
                       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", where);
        goto out;
    }
    n = strlen(c->endpoint);
    while (n > 0 && c->endpoint[n - 1] == '/')
        c->endpoint[--n] = '\0';
    if (c->endpoint[0] && strncmp(c->endpoint, "https://", 8) != 0 &&
        strncmp(c->endpoint, "http://", 7) != 0) {
        rc = pf__error(ctx, PF_EUSAGE, "AWS_ENDPOINT_URL must be an http(s) URL");
        goto out;
    }
out:
    if (rc != PF_OK)
        pf__aws_creds_wipe(c);
    return rc;
}

/* ---- expiry of a presigned URL ------------------------------------------ */

/* The value of query parameter name (case-insensitive), copied. */
static int pf__query_param(const char *url, const char *name, char *out, size_t size)
{
    const char *q = strchr(url, '?');
    size_t n = strlen(name);

    if (!q)
        return 0;
    for (q++; *q;) {
        size_t len = strcspn(q, "&#");

        if (len > n && q[n] == '=' && strncasecmp(q, name, n) == 0) {
            size_t vlen = len - n - 1;

            if (vlen >= size)
                return 0;
            memcpy(out, q + n + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        q += len;
        if (*q != '&')
            break;
        q++;
    }
    return 0;
}

int64_t pf__presigned_expiry(const char *url)
{
    char date[32], exp[32];
    struct tm tm;
    char *end;
    long long e;

    if (pf__query_param(url, "X-Amz-Date", date, sizeof date) &&
        pf__query_param(url, "X-Amz-Expires", exp, sizeof exp)) {
        memset(&tm, 0, sizeof tm);
        e = strtoll(exp, &end, 10);
        if (*end || e < 0 || strlen(date) != 16 ||
            sscanf(date, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon,
                   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
            return -1;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return (int64_t)timegm(&tm) + e;
    }
    /* SigV2 and Google's: Expires is the Unix time itself. */
    if (pf__query_param(url, "Expires", exp, sizeof exp)) {
        e = strtoll(exp, &end, 10);
        return *end || e <= 0 ? -1 : (int64_t)e;
    }
    return -1;
}
