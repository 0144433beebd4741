# --help, 'preflight help COMMAND', the man page and the README agree.
. "$(dirname "$0")/../cli_lib.sh"
MAN=$PF_SOURCE_DIR/doc/preflight.1
README=$PF_SOURCE_DIR/README.md

run --help; expect_status 0 help; expect_out "check"
run --version; expect_status 0 version; expect_out "preflight "
run help nosuch; expect_status 2 help-unknown
# every command the overview lists
commands=$("$PREFLIGHT" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}' | grep -v '^help$')
[ -n "$commands" ] || fail "no commands in the overview"
for cmd in $commands; do
    run help $cmd; expect_status 0 "help $cmd"; help=$OUT
    run $cmd --help; [ "$OUT" = "$help" ] || fail "'$cmd --help' differs from 'help $cmd'"; ok
    grep -q "^\.SS $cmd" "$MAN" || fail "man page has no section for $cmd"; ok
    # every option the help names is documented in the man page...
    for opt in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "$(printf '%s' "$opt" | sed 's/-/\\\\-/g')" "$MAN" \
            || grep -q -- "$opt" "$MAN" || fail "man page lacks $cmd $opt"
        ok
    done
    # ...and every option the man page gives this command exists in the help
    for opt in $(sed -n "/^\.SS $cmd/,/^\.S[SH] /p" "$MAN" | grep -o -- '\\-\\-[a-z][a-z-]*' \
                 | sed 's/\\//g' | sort -u); do
        printf '%s\n' "$help" | grep -q -- "$opt" || fail "help of $cmd lacks $opt (man page has it)"
        ok
    done
done
# the README's preflight commands use only options that exist
for opt in $(grep -o -- 'preflight [a-z]* [^`]*' "$README" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    found=
    for cmd in $commands; do
        "$PREFLIGHT" help $cmd | grep -q -- "$opt" && { found=1; break; }
    done
    [ -n "$found" ] || fail "README uses unknown option $opt"
    ok
done
# every environment variable the code reads is in the man page's ENVIRONMENT
# section (HOME is only the fallback XDG_STATE_HOME documents)
SRC=$PF_SOURCE_DIR/src
envs=$( { grep -rhoE '(getenv|pf__env_knob)\("[A-Z_0-9]+"\)|env_ms\("[A-Z_0-9]+"|token_env\[\] = \{[^}]*\}' "$SRC"
          sed -n '/names\[\] = {/,/};/p' "$SRC/net/sigv4.c"; } \
        | grep -oE '"[A-Z][A-Z0-9_]+"' | tr -d '"' | sort -u | grep -vx HOME)
[ "$(printf '%s\n' "$envs" | wc -l)" -ge 15 ] || fail "too few variables found: $envs"
env_section=$(sed -n '/^\.SH ENVIRONMENT/,/^\.SH EXAMPLES/p' "$MAN" | sed 's/\\-/-/g')
for var in $envs; do
    printf '%s\n' "$env_section" | grep -qw -- "$var" || fail "man page ENVIRONMENT lacks $var"
    ok
done
# the README's layout names every source directory
for d in "$SRC"/*/; do
    d=src/$(basename "$d")/
    grep -q "^$d " "$README" || fail "README layout lacks $d"
    ok
done
done_tests
