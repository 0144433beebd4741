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
    "  fix      write media files that comply, and the request that uses them\n"
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

static const char fix_usage[] =
    "usage: preflight fix --model ID [--schema FILE] [--input REQUEST.json] -o DIR\n"
    "                     [--fit crop|pad|none] [--pad-color RRGGBB|blur]\n"
    "                     [--max-pixels N] [--dry-run] [--json] [--allow-http]\n"
    "                     [--verbose]\n"
    "                     FIELD=VALUE | FIELD:=JSON | FIELD=@PATH ...\n"
    "\n"
    "Makes each local media file that breaks a rule of its field, or whose aspect\n"
    "differs from the requested ratio, comply: orientation baked in, metadata\n"
    "dropped, cropped or padded, resized, converted to an accepted format and\n"
    "encoded at the highest JPEG quality that fits the size limit. New files go\n"
    "to DIR, never over the originals, and are checked again with the same rules\n"
    "before they get their names; files that need nothing are not copied.\n"
    "Prints each change, the request to send (media fields pointing at the new\n"
    "files) and its check. Images only, for now.\n"
    "\n"
    "  --model ID          a bundled model (see 'preflight models')\n"
    "  --schema FILE       a rules file, or a RunComfy input schema\n"
    "  --input FILE        a request JSON object (\"-\" reads stdin)\n"
    "  -o, --output DIR    where fixed files are written (created if missing)\n"
    "  --fit MODE          how an aspect is reached: crop (centred; the default),\n"
    "                      pad (centred on a canvas) or none (keep the aspect\n"
    "                      unless a rule forbids it; the requested ratio is ignored)\n"
    "  --pad-color COLOR   the pad canvas: RRGGBB (default 000000) or blur;\n"
    "                      transparency is flattened onto it in a JPEG\n"
    "  --max-pixels N      refuse to decode a larger image (default 100000000)\n"
    "  --dry-run           print the plan from the probed facts; write nothing\n"
    "  --json              print exactly one JSON object on stdout\n"
    "  --allow-http        probe plain http:// URLs (local test servers)\n"
    "  --verbose           log what is read and each encode, to stderr\n"
    "  FIELD=...           the request, as for check\n"
    "\n"
    "exit status: 0 the request to send passes, 1 violations remain or a file\n"
    "cannot be made to comply, 2 an input could not be read, decoded or written.\n";

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
    if (strcmp(command, "fix") == 0)
        return fix_usage;
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
    if (strcmp(cmd, "fix") == 0)
        return pf_cli_fix(argc - 1, argv + 1);
    if (strcmp(cmd, "probe") == 0)
        return pf_cli_probe(argc - 1, argv + 1);
    if (strcmp(cmd, "models") == 0)
        return pf_cli_models(argc - 1, argv + 1);
    pf_cli_error("no such command '%s' (see 'preflight --help')", cmd);
    return PF_EXIT_ERROR;
}
