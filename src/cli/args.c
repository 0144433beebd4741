/* Command-line arguments shared by the subcommands that take a request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Takes the value of "--opt VALUE" or "--opt=VALUE". */
int pf_cli_option_value(int argc, char **argv, int *i, const char *name,
                        const char **out)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        *out = NULL;
        return 1;
    }
    *out = argv[++*i];
    return 1;
}

char *pf_cli_url_arg(const char *arg, const char *opt, int *stdin_used, char *msg,
                     size_t msg_size)
{
    FILE *f;
    char *line = NULL, *url = NULL;
    size_t cap = 0;
    ssize_t n;

    if (strcmp(arg, "-") != 0 && arg[0] != '@') {
        if (!(url = strdup(arg)))
            snprintf(msg, msg_size, "out of memory");
        return url;
    }
    if (strcmp(arg, "-") == 0) {
        if ((*stdin_used)++) {
            snprintf(msg, msg_size, "%s -: only one option can read stdin", opt);
            return NULL;
        }
        f = stdin;
    } else if (!(f = fopen(arg + 1, "r"))) {
        snprintf(msg, msg_size, "%s: cannot read %s: %s", arg + 1, opt, strerror(errno));
        return NULL;
    }
    /* getline: a presigned URL with a session token runs to kilobytes. */
    n = getline(&line, &cap, f);
    if (f != stdin)
        fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (n <= 0) {
        snprintf(msg, msg_size, "%s: no URL for %s", arg[0] == '-' ? "stdin" : arg + 1, opt);
        free(line);
        return NULL;
    }
    return line;
}

/* FIELD=VALUE, FIELD:=JSON or FIELD=@PATH into the request. */
pf_err pf_cli_add_argument(pf_ctx *ctx, pf_request *req, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char field[256];
    size_t n;

    if (!eq || eq == arg)
        return PF_EUSAGE;
    n = (size_t)(eq - arg);
    if (eq[-1] == ':')
        n--;
    if (n == 0 || n >= sizeof field)
        return PF_EUSAGE;
    memcpy(field, arg, n);
    field[n] = '\0';
    if (eq[-1] == ':')
        return pf_request_add_json(ctx, req, field, eq + 1);
    if (eq[1] == '@')
        return pf_request_add_file(ctx, req, field, eq + 2);
    return pf_request_add_string(ctx, req, field, eq + 1);
}

pf_err pf_cli_load_request(pf_ctx *ctx, const char *command,
                           const struct pf_cli_request_args *a,
                           pf_schema **schema, pf_request *req,
                           char *msg, size_t msg_size)
{
    pf_err rc;

    *schema = NULL;
    pf_ctx_set_allow_http(ctx, a->allow_http);
    if (a->verbose)
        pf_ctx_set_log(ctx, pf_cli_log_stderr, NULL);
    rc = a->schema ? pf_schema_load_file(ctx, a->schema, a->model, schema)
                   : pf_schema_load_model(ctx, a->model, schema);
    if (!rc && a->input)
        rc = pf_request_load_file(ctx, req, a->input);
    if (rc) {
        snprintf(msg, msg_size, "%s", pf_cli_ctx_error(ctx, rc));
        return rc;
    }
    for (int i = 0; i < a->nfields; i++) {
        if (!(rc = pf_cli_add_argument(ctx, req, a->fields[i])))
            continue;
        if (rc == PF_EUSAGE && !*pf_ctx_error(ctx))
            snprintf(msg, msg_size, "%s: '%.200s' is not FIELD=VALUE, "
                     "FIELD:=JSON or FIELD=@PATH", command, a->fields[i]);
        else
            snprintf(msg, msg_size, "%s: %s", command, pf_cli_ctx_error(ctx, rc));
        return rc;
    }
    return PF_OK;
}

int pf_cli_parse_fit(const char *word, int *fit)
{
    if (strcmp(word, "crop") == 0)
        *fit = PF_FIT_CROP;
    else if (strcmp(word, "pad") == 0)
        *fit = PF_FIT_PAD;
    else if (strcmp(word, "none") == 0)
        *fit = PF_FIT_NONE;
    else
        return -1;
    return 0;
}
