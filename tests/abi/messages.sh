# The library speaks of its own API: no string literal in the library's
# sources names a CLI option (--force) or subcommand ('preflight wait'); the
# CLI adds those hints by error code (src/cli/output.c).
# usage: messages.sh SOURCE_DIR
cd "$1/src" || exit 1
hits=$(grep -rnE '"([^"\\]|\\.)*(--[a-z][a-z-]+|'"'"'preflight [a-z]+)' \
         core probe rules fix net api ledger --include='*.c' --include='*.h' \
       | grep -vE '^[^:]+:[0-9]+:\s*(/\*|\*|//)' \
       | grep -v 'av_dict_set')
if [ -n "$hits" ]; then
    echo "FAIL: library strings name the CLI (move the hint to src/cli/output.c's table):"
    echo "$hits"
    exit 1
fi
# ...and the check can see one: the CLI's own sources have plenty.
grep -rqE '"([^"\\]|\\.)*--[a-z][a-z-]+' cli || { echo "FAIL: the pattern finds nothing even in src/cli"; exit 1; }
echo "no library string names a CLI option or subcommand"
