/* STUB: being written. */
#include "cli.h"

const char pf_cli_submit_usage[] = "usage: preflight submit (not yet implemented)\n";
int pf_cli_submit(int argc, char **argv) { (void)argc; (void)argv; pf_cli_error("submit: not yet implemented"); return PF_EXIT_ERROR; }
const char pf_cli_status_usage[] = "usage: preflight status (not yet implemented)\n";
int pf_cli_status(int argc, char **argv) { (void)argc; (void)argv; pf_cli_error("status: not yet implemented"); return PF_EXIT_ERROR; }
const char pf_cli_wait_usage[] = "usage: preflight wait (not yet implemented)\n";
int pf_cli_wait(int argc, char **argv) { (void)argc; (void)argv; pf_cli_error("wait: not yet implemented"); return PF_EXIT_ERROR; }
const char pf_cli_result_usage[] = "usage: preflight result (not yet implemented)\n";
int pf_cli_result(int argc, char **argv) { (void)argc; (void)argv; pf_cli_error("result: not yet implemented"); return PF_EXIT_ERROR; }
const char pf_cli_cancel_usage[] = "usage: preflight cancel (not yet implemented)\n";
int pf_cli_cancel(int argc, char **argv) { (void)argc; (void)argv; pf_cli_error("cancel: not yet implemented"); return PF_EXIT_ERROR; }
const char pf_cli_jobs_usage[] = "usage: preflight jobs (not yet implemented)\n";
int pf_cli_jobs(int argc, char **argv) { (void)argc; (void)argv; pf_cli_error("jobs: not yet implemented"); return PF_EXIT_ERROR; }
const char pf_cli_resume_usage[] = "usage: preflight resume (not yet implemented)\n";
int pf_cli_resume(int argc, char **argv) { (void)argc; (void)argv; pf_cli_error("resume: not yet implemented"); return PF_EXIT_ERROR; }
