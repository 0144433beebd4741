/* preflight: dispatch to a subcommand. Each subcommand lives in its own
 * file and reaches the library only through include/preflight.h. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char overview[] =
    "usage: preflight COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Check media and parameters against a generation API's input schema\n"
    "before uploading or paying.\n"
    "\n"
    "commands:\n"
    "  check    check a request (parameters and media) against a model's schema\n"
    "  probe    print the facts of media files or URLs\n"
    "  models   list the bundled models\n"
    "  help     show the help of a command\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help\n"
    "  --version      print the version\n"
    "\n"
    "exit status: 0 pass, 1 violations found, 2 the check could not be made.\n"
    "'preflight help COMMAND' shows a command's options; 'man preflight' all.\n";

static const char check_usage[] =
    "usage: preflight check --model ID [--schema FILE] [--input REQUEST.json]\n"
    "                       [--json] [--allow-http] [--verbose]\n"
    "                       FIELD=VALUE | FIELD:=JSON | FIELD=@PATH ...\n"
    "\n"
    "Checks every parameter (required, type, maxLength, enum, minimum/maximum,\n"
    "items) and probes every media input, local file or URL, against each of\n"
    "the schema's validation rules. Violations quote the schema's own text.\n"
    "\n"
    "  --model ID          a bundled model: runwayml/runway-aleph/video-to-video,\n"
    "                      or another provider's: cometapi:runwayml/v1/video_to_video\n"
    "  --schema FILE       a rules file, or any RunComfy input schema copied\n"
    "                      from a model's docs page (--model then names it)\n"
    "  --input FILE        a request JSON object (\"-\" reads stdin); media values\n"
    "                      may be URLs, data URIs or local paths\n"
    "  --json              print exactly one JSON object on stdout\n"
    "  --allow-http        probe plain http:// URLs (local test servers)\n"
    "  --verbose           log what is read, to stderr (no secrets)\n"
    "  FIELD=VALUE         a string parameter\n"
    "  FIELD:=JSON         a raw JSON value: seed:=42, frames:=121\n"
    "  FIELD=@PATH         a local media file; repeat a field to append\n"
    "\n"
    "exit status: 0 pass, 1 violations, 2 could not check (usage, unreadable\n"
    "or undecodable input, missing schema, network failure).\n";

static const char probe_usage[] =
    "usage: preflight probe [--json] [--jobs N] [--allow-http] [--verbose]\n"
    "                       FILE|URL|- ...\n"
    "\n"
    "Prints what a server will see of each file: format, codec, displayed\n"
    "width and height (rotation, EXIF orientation and pixel aspect applied),\n"
    "size, duration, frame rate, frame count, audio. Reads headers only.\n"
    "\n"
    "  --json              one JSON object per line, in the order given\n"
    "  --jobs N            probe N files at a time (default: one per core)\n"
    "  --allow-http        probe plain http:// URLs (local test servers)\n"
    "  --verbose           log what is read, to stderr\n"
    "  -                   read more paths from stdin, one per line\n"
    "\n"
    "exit status: 0 all probed, 2 some input could not be probed.\n";

static const char models_usage[] =
    "usage: preflight models [--json]\n"
    "\n"
    "Lists the bundled models: the ids --model accepts.\n"
    "\n"
    "  --json              one JSON array of {id, provider, title}\n";

const char *pf_cli_usage(const char *command)
{
    if (!command)
        return overview;
    if (strcmp(command, "check") == 0)
        return check_usage;
    if (strcmp(command, "probe") == 0)
        return probe_usage;
    if (strcmp(command, "models") == 0)
        return models_usage;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (!cmd) {
        fputs(overview, stderr);
        return PF_EXIT_ERROR;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        fputs(overview, stdout);
        return PF_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("preflight %s\n", PF_VERSION);
        return PF_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0) {
        const char *text = pf_cli_usage(argc > 2 ? argv[2] : NULL);

        if (!text) {
            pf_cli_error("no such command '%s' (see 'preflight --help')", argv[2]);
            return PF_EXIT_ERROR;
        }
        fputs(text, stdout);
        return PF_EXIT_OK;
    }
    if (strcmp(cmd, "check") == 0)
        return pf_cli_check(argc - 1, argv + 1);
    if (strcmp(cmd, "probe") == 0)
        return pf_cli_probe(argc - 1, argv + 1);
    if (strcmp(cmd, "models") == 0)
        return pf_cli_models(argc - 1, argv + 1);
    pf_cli_error("no such command '%s' (see 'preflight --help')", cmd);
    return PF_EXIT_ERROR;
}
