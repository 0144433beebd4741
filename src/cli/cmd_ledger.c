/* preflight ledger init|status|import: where the job ledger is, what it
 * holds, and moving a local one into a shared one. A few calls to the
 * ledger section of include/preflight.h. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

const char pf_cli_ledger_usage[] =
    "usage: preflight ledger init [--lease SECONDS] [--ledger URL] [--state-dir DIR] [--json]\n"
    "       preflight ledger status [--ledger URL] [--state-dir DIR] [--json]\n"
    "       preflight ledger import sqlite:PATH [--ledger URL] [--json]\n"
    "\n"
    "init creates the ledger (or migrates an older one) and says where it is;\n"
    "status shows what it holds: the jobs by state, the outputs downloaded, the\n"
    "leases live (PostgreSQL). import copies every job of a local SQLite ledger\n"
    "into this one, with its outputs and what was downloaded, each job once:\n"
    "running it again imports nothing more. A ledger whose schema is newer than\n"
    "this preflight's is refused and left untouched.\n"
    "\n"
    "  --lease SECONDS     (init) how long a worker's lease on a job lasts unrenewed:\n"
    "                      how soon resume elsewhere takes a dead worker's job over\n"
    "                      (stored in the ledger; 300 when it is made)\n"
    "  --ledger URL        the ledger: sqlite:PATH or postgresql://HOST/DB (default\n"
    "                      $PREFLIGHT_LEDGER, else the state directory's jobs.db);\n"
    "                      the password from PGPASSWORD, ~/.pgpass or a service\n"
    "                      file, never the URL\n"
    "  --state-dir DIR     the job ledger's directory\n"
    "  --json              print exactly one JSON object on stdout\n"
    "\n"
    "exit status: 0, or 2 when the ledger cannot be opened or read.\n";

static void print_status(const cJSON *doc)
{
    const cJSON *states = cJSON_GetObjectItemCaseSensitive(doc, "states"), *s;
    const cJSON *leases = cJSON_GetObjectItemCaseSensitive(doc, "leases");

    printf("ledger   %s (%s, schema %d)\n",
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "ledger")),
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "backend")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "schema")));
    printf("worker   %s (lease %d s)\n",
           cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "worker")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "lease_s")));
    printf("jobs     %d", (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "jobs")));
    cJSON_ArrayForEach(s, states)
        printf("%s %s %d", s == states->child ? ":" : ",", s->string,
               (int)cJSON_GetNumberValue(s));
    printf("\noutputs  %d, %d downloaded\n",
           (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "outputs")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "downloaded")));
    if (cJSON_IsNumber(leases))
        printf("leases   %d live\n", (int)cJSON_GetNumberValue(leases));
}

int pf_cli_ledger(int argc, char **argv)
{
    struct pf_cli_job_args a;
    const char *action = NULL, *from = NULL, *v = NULL;
    long lease = 0;
    pf_ctx *ctx = pf_ctx_new();
    pf_jobs *jobs = NULL;
    cJSON *doc = NULL;
    char msg[400], *text = NULL;
    int status = PF_EXIT_ERROR;
    pf_err rc;

    memset(&a, 0, sizeof a);
    if (!ctx) {
        pf_cli_error("out of memory");
        return PF_EXIT_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int r;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(pf_cli_ledger_usage, stdout);
            status = PF_EXIT_OK;
            goto out;
        }
        if ((r = pf_cli_job_option(argc, argv, &i, &a, msg, sizeof msg)) < 0) {
            status = pf_cli_fail(a.json, PF_EUSAGE, msg);
            goto out;
        }
        if (r > 0)
            continue;
        if (pf_cli_option_value(argc, argv, &i, "--lease", &v)) {
            char *end;

            lease = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || lease <= 0 || lease > 86400) {
                status = pf_cli_fail(a.json, PF_EUSAGE, "--lease takes a number of "
                                     "seconds (5 to 86400)");
                goto out;
            }
            continue;
        }
        if (arg[0] == '-' && arg[1]) {
            snprintf(msg, sizeof msg, "ledger: unknown option '%.200s' (see 'preflight "
                     "help ledger')", arg);
            status = pf_cli_fail(a.json, PF_EUSAGE, msg);
            goto out;
        } else if (!action) {
            action = arg;
        } else if (strcmp(action, "import") == 0 && !from) {
            from = arg;
        } else {
            snprintf(msg, sizeof msg, "ledger: unexpected argument '%.200s'", arg);
            status = pf_cli_fail(a.json, PF_EUSAGE, msg);
            goto out;
        }
    }
    if (!action || (strcmp(action, "init") != 0 && strcmp(action, "status") != 0 &&
                    strcmp(action, "import") != 0)) {
        status = pf_cli_fail(a.json, PF_EUSAGE, "ledger: init, status or import? (see "
                             "'preflight help ledger')");
        goto out;
    }
    if (strcmp(action, "import") == 0 && !from) {
        status = pf_cli_fail(a.json, PF_EUSAGE, "ledger import: which ledger? give "
                             "sqlite:PATH");
        goto out;
    }
    if (lease && strcmp(action, "init") != 0) {
        status = pf_cli_fail(a.json, PF_EUSAGE, "--lease is for 'ledger init'");
        goto out;
    }
    if ((rc = pf_cli_jobs_open(ctx, &a, &jobs)) ||
        (lease && (rc = pf_jobs_ledger_set_lease(jobs, (int)lease)))) {
        status = pf_cli_fail(a.json, rc, pf_ctx_error(ctx));
        goto out;
    }
    if (from) {
        size_t imported = 0, skipped = 0;

        if ((rc = pf_jobs_import(jobs, from, &imported, &skipped))) {
            status = pf_cli_fail(a.json, rc, pf_ctx_error(ctx));
            goto out;
        }
        if (a.json) {
            char *line = NULL;

            if ((doc = cJSON_CreateObject()) && cJSON_AddBoolToObject(doc, "ok", 1) &&
                cJSON_AddStringToObject(doc, "ledger", pf_jobs_ledger_path(jobs)) &&
                cJSON_AddStringToObject(doc, "from", from) &&
                cJSON_AddNumberToObject(doc, "imported", (double)imported) &&
                cJSON_AddNumberToObject(doc, "skipped", (double)skipped))
                line = cJSON_PrintUnformatted(doc);
            if (line)
                puts(line);
            else
                pf_cli_json_error(PF_ENOMEM, "out of memory");
            free(line);
        } else
            printf("imported %zu jobs from %s into %s (%zu were there already)\n",
                   imported, from, pf_jobs_ledger_path(jobs), skipped);
        status = PF_EXIT_OK;
        goto out;
    }
    if ((rc = pf_jobs_ledger_status(jobs, &text)) || !(doc = cJSON_Parse(text))) {
        status = pf_cli_fail(a.json, rc ? rc : PF_ENOMEM,
                             rc ? pf_ctx_error(ctx) : "out of memory");
        goto out;
    }
    if (a.json) {
        char *line;

        cJSON_AddBoolToObject(doc, "ok", 1);
        if ((line = cJSON_PrintUnformatted(doc)))
            puts(line);
        free(line);
    } else {
        print_status(doc);
    }
    status = PF_EXIT_OK;
out:
    cJSON_Delete(doc);
    pf_free(text);
    pf_jobs_close(jobs);
    pf_ctx_free(ctx);
    return status;
}
