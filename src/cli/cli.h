/* The command-line tool: a thin client of include/preflight.h. */
#ifndef PF_CLI_H
#define PF_CLI_H

#include <stdio.h>

#include "preflight.h"

/* Exit statuses, the same for every subcommand. */
enum { PF_EXIT_OK = 0, PF_EXIT_VIOLATION = 1, PF_EXIT_ERROR = 2 };

/* One entry point and one usage text per subcommand, each defined in the
 * subcommand's own file; main.c lists them. */
#define PF_CLI_COMMAND(name)                                                 \
    int pf_cli_##name(int argc, char **argv);                                \
    extern const char pf_cli_##name##_usage[]
PF_CLI_COMMAND(check);
PF_CLI_COMMAND(fix);
PF_CLI_COMMAND(probe);
PF_CLI_COMMAND(models);
PF_CLI_COMMAND(upload);     /* cmd_upload.c */
PF_CLI_COMMAND(run);        /* cmd_run.c */
PF_CLI_COMMAND(submit);     /* cmd_jobs.c: the job subcommands */
PF_CLI_COMMAND(status);
PF_CLI_COMMAND(wait);
PF_CLI_COMMAND(result);
PF_CLI_COMMAND(cancel);
PF_CLI_COMMAND(jobs);
PF_CLI_COMMAND(ledger);     /* cmd_ledger.c */
PF_CLI_COMMAND(resume);
#undef PF_CLI_COMMAND

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]: 1 and *out set (NULL when
 * the value is missing), advancing *i past a separate value; 0 when
 * argv[*i] is another option. */
int pf_cli_option_value(int argc, char **argv, int *i, const char *name,
                        const char **out);

/* FIELD=VALUE, FIELD:=JSON or FIELD=@PATH into the request; PF_EUSAGE
 * without a message when arg has none of these shapes. */
pf_err pf_cli_add_argument(pf_ctx *ctx, pf_request *req, const char *arg);

/* Usage text of a subcommand (NULL: the overview), or NULL if unknown. */
const char *pf_cli_usage(const char *command);

/* The subcommand being run ("check"), for the hints below; main.c sets
 * it before dispatching. */
void pf_cli_set_command(const char *command);

/* The context's message for a failure with code, and the CLI's hint
 * appended where the library's words have an option behind them: the
 * library speaks of its own API ("already exists"), the tool adds
 * "(--force replaces it)". Returns a per-thread buffer valid until the
 * next call on the thread. */
const char *pf_cli_ctx_error(pf_ctx *ctx, pf_err code);

/* The same for a failure about job, whose hints may name it ("'preflight
 * wait ID'"). */
const char *pf_cli_job_error(pf_ctx *ctx, pf_err code, const pf_job *job);

/* The hint alone for a message with code in the current subcommand, or
 * NULL (hints that name a job are left out). */
const char *pf_cli_hint(pf_err code, const char *message);

/* "preflight: <message>" on stderr, one line. */
void pf_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* In --json mode a failure is still exactly one JSON object on stdout. */
void pf_cli_json_error(pf_err code, const char *message);

/* A failure said once: the line on stderr and, in --json mode, the JSON
 * object on stdout. Returns PF_EXIT_ERROR. */
int pf_cli_fail(int json, pf_err code, const char *message);

/* --fit crop|pad|none into PF_FIT_*: 0, or -1 for any other word (fix, run). */
int pf_cli_parse_fit(const char *word, int *fit);

/* 1 when stream is a terminal and NO_COLOR is unset. */
int pf_cli_use_color(FILE *stream);

/* --verbose sink: "preflight: <line>" on stderr. */
void pf_cli_log_stderr(void *userdata, const char *line);

void pf_cli_print_report(FILE *out, const pf_report *report, int color);
/* One human line of probed facts ("image jpeg 640×480, 45.1 kB"). */
void pf_cli_describe_media(char *buf, size_t size, const pf_media_info *info);

/* What every request-taking command reads: the schema, a request file and
 * FIELD=... arguments (check, fix, and later submit and run). */
struct pf_cli_request_args {
    const char *model, *schema, *input;
    char **fields;
    int nfields;
    int allow_http, verbose;
};

/* Sets the context's options, loads the schema and builds the request. On
 * failure *schema is NULL and msg holds the one-line error to print. */
pf_err pf_cli_load_request(pf_ctx *ctx, const char *command,
                           const struct pf_cli_request_args *a,
                           pf_schema **schema, pf_request *req,
                           char *msg, size_t msg_size);

/* Options every job command takes (cmd_jobs.c): where the ledger is, where
 * the API is, where the token is. The token itself never comes from argv. */
struct pf_cli_job_args {
    const char *state_dir, *base_url, *token_file, *ledger;
    int json, verbose;
};

/* Consumes argv[*i] when it is one of the job options: 1, or -1 with a
 * one-line message in msg when its value is missing; 0 when it is not. */
int pf_cli_job_option(int argc, char **argv, int *i, struct pf_cli_job_args *a,
                      char *msg, size_t msg_size);

/* Opens the ledger as the options say. */
pf_err pf_cli_jobs_open(pf_ctx *ctx, const struct pf_cli_job_args *a, pf_jobs **out);

/* Ctrl-C asks ctx's long operations to stop (pf_ctx_interrupt); the
 * presses_to_exit-th Ctrl-C ends the process at once, with status 130
 * (interrupt.c). Release restores the default before ctx is freed. */
void pf_cli_catch_interrupt(pf_ctx *ctx, int presses_to_exit);
void pf_cli_release_interrupt(void);
/* After pf_cli_catch_interrupt: SIGTERM stops ctx's operations cleanly too
 * (a second one ends the process with 143); pf_cli_terminated() says
 * whether one came, for the exit status (143 rather than 130). Release
 * restores both signals. For commands whose partial work is a file to
 * remove (fix), not a paid job to cancel. */
void pf_cli_catch_terminate(void);
int pf_cli_terminated(void);

/* The live status line on a terminal (stderr), and its end. */
void pf_cli_job_progress(void *userdata, const pf_job *job, const pf_job_progress *p);
void pf_cli_job_progress_end(void);

/* A job as text: one line, then one line per output. */
void pf_cli_print_job(FILE *out, pf_ctx *ctx, const pf_job *job, int probe_media);

/* The job's JSON with "ok" first; prints {"ok": false, "error"} instead
 * when out of memory. */
void pf_cli_print_job_json(pf_ctx *ctx, const pf_job *job, int ok, pf_err code,
                           const char *message);

/* Exit status of a job command's outcome: 0 done, 1 the job failed or was
 * cancelled, 2 the command could not be carried out. */
int pf_cli_job_exit(pf_err rc);

/* A URL option's value: the URL itself, "@FILE" (the first line of FILE)
 * or "-" (the first line of stdin), so that a presigned URL need not appear
 * in argv, where any user of the machine can read it (ps, /proc).
 * *stdin_used counts the options that read stdin: a second one is refused.
 * Returns the URL, malloc'ed, or NULL with a one-line message in msg. */
char *pf_cli_url_arg(const char *arg, const char *opt, int *stdin_used, char *msg,
                     size_t msg_size);

/* Seconds ("90", "1.5") to milliseconds; -1 when not a positive number. */
int64_t pf_cli_parse_seconds(const char *text);

#endif
