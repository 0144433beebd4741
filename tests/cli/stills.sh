# placeholder, filled below
. "$(dirname "$0")/../cli_lib.sh"
