/* STUB: being written. */
#include "cli.h"

const char pf_cli_upload_usage[] = "usage: preflight upload (not yet implemented)\n";
int pf_cli_upload(int argc, char **argv) { (void)argc; (void)argv; pf_cli_error("upload: not yet implemented"); return PF_EXIT_ERROR; }
