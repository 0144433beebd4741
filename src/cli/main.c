/* preflight: dispatch to a subcommand. Each subcommand lives in its own
 * file, with its usage text, and reaches the library only through
 * include/preflight.h. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct pf_cli_command {
    const char *name;
    const char *summary;        /* one line in the overview */
    int (*run)(int argc, char **argv);
    const char *usage;
};

static const struct pf_cli_command commands[] = {
    {"check", "check a request (parameters and media) against a model's schema",
     pf_cli_check, pf_cli_check_usage},
    {"fix", "write media files that comply, and the request that uses them",
     pf_cli_fix, pf_cli_fix_usage},
    {"upload", "host a local file for the API: presigned PUT or POST, or S3",
     pf_cli_upload, pf_cli_upload_usage},
    {"run", "check, fix, upload, submit, wait and download, in one go",
     pf_cli_run, pf_cli_run_usage},
    {"submit", "submit a checked request; recorded so it is never paid twice",
     pf_cli_submit, pf_cli_submit_usage},
    {"status", "ask a job's state", pf_cli_status, pf_cli_status_usage},
    {"wait", "wait for a job to finish and download its outputs",
     pf_cli_wait, pf_cli_wait_usage},
    {"result", "print a finished job's outputs", pf_cli_result, pf_cli_result_usage},
    {"cancel", "cancel a queued job", pf_cli_cancel, pf_cli_cancel_usage},
    {"jobs", "list the jobs in the ledger", pf_cli_jobs, pf_cli_jobs_usage},
    {"resume", "continue every unfinished job in the ledger",
     pf_cli_resume, pf_cli_resume_usage},
    {"ledger", "create the ledger, show what it holds, import a local one",
     pf_cli_ledger, pf_cli_ledger_usage},
    {"probe", "print the facts of media files or URLs", pf_cli_probe,
     pf_cli_probe_usage},
    {"models", "list the bundled models", pf_cli_models, pf_cli_models_usage},
};
#define PF_CLI_NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_overview(FILE *out)
{
    fputs("usage: preflight COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Check media and parameters against a generation API's input schema\n"
          "before uploading or paying; fix, host, submit and collect.\n"
          "\n"
          "commands:\n", out);
    for (size_t i = 0; i < PF_CLI_NCOMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("  help     show the help of a command\n"
          "\n"
          "options:\n"
          "  -h, --help     show this help\n"
          "  --version      print the version\n"
          "\n"
          "exit status: 0 success, 1 violations found (or the job failed),\n"
          "2 the command could not be carried out.\n"
          "'preflight help COMMAND' shows a command's options; 'man preflight' all.\n",
          out);
}

static const struct pf_cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < PF_CLI_NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

const char *pf_cli_usage(const char *command)
{
    const struct pf_cli_command *c = find_command(command);

    return c ? c->usage : NULL;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    const struct pf_cli_command *c;

    if (!cmd) {
        print_overview(stderr);
        return PF_EXIT_ERROR;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        print_overview(stdout);
        return PF_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        /* The library actually loaded, which may not be the one this
         * binary was built with (a libpreflight.so.N upgraded alone). */
        printf("preflight %s\n", pf_version());
        if (strcmp(pf_version(), PF_VERSION) != 0)
            pf_cli_error("warning: built with libpreflight %s but running with %s",
                         PF_VERSION, pf_version());
        return PF_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc <= 2) {
            print_overview(stdout);
            return PF_EXIT_OK;
        }
        if (!(c = find_command(argv[2]))) {
            pf_cli_error("no such command '%s' (see 'preflight --help')", argv[2]);
            return PF_EXIT_ERROR;
        }
        fputs(c->usage, stdout);
        return PF_EXIT_OK;
    }
    if (!(c = find_command(cmd))) {
        pf_cli_error("no such command '%s' (see 'preflight --help')", cmd);
        return PF_EXIT_ERROR;
    }
    pf_cli_set_command(c->name);
    return c->run(argc - 1, argv + 1);
}
