/* STUB: being written. */
#include "cli.h"

const char pf_cli_run_usage[] = "usage: preflight run (not yet implemented)\n";
int pf_cli_run(int argc, char **argv) { (void)argc; (void)argv; pf_cli_error("run: not yet implemented"); return PF_EXIT_ERROR; }
