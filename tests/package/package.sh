#!/usr/bin/env bash
# The library as a program outside this tree gets it: a /usr install into a
# DESTDIR, examples/use-library.c built against it through pkg-config and
# through find_package(preflight) and run; then the .deb that cpack makes:
# its Depends (from dpkg-shlibdeps), its files, unpacked and run, and
# installed into and removed from a scratch dpkg root.
#
# usage: package.sh SOURCE_DIR BUILD_DIR FIXTURES_DIR
set -euo pipefail
SRC=$1 BUILD=$2 FIX=$3
for tool in dpkg-deb dpkg-shlibdeps dpkg cpack pkg-config cc; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (tools/install-deps.sh)"; exit 77; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pf-package-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
n=0; ok() { n=$((n + 1)); }

# A Release tree of this source with Debian's /usr layout; kept between
# runs (BUILD_DIR) so a second run only rebuilds what changed.
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DPF_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 >/dev/null
version=$(sed -n 's/^project(preflight VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$version" ] || fail "no version in CMakeLists.txt"
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
LIBDIR=usr/lib/$arch

# ---- the /usr install in a DESTDIR ----
ROOT=$TMP/root
DESTDIR=$ROOT cmake --install "$BUILD" >/dev/null
for f in usr/bin/preflight "$LIBDIR"/libpreflight.so "$LIBDIR"/libpreflight.so.1 \
         usr/include/preflight.h usr/include/preflight_version.h \
         "$LIBDIR"/pkgconfig/preflight.pc "$LIBDIR"/cmake/preflight/preflightConfig.cmake \
         "$LIBDIR"/cmake/preflight/preflightConfigVersion.cmake \
         "$LIBDIR"/cmake/preflight/preflightTargets.cmake \
         usr/share/man/man1/preflight.1 usr/share/bash-completion/completions/preflight \
         usr/share/preflight/rules/runcomfy/runwayml/runway-aleph/video-to-video.json; do
    [ -e "$ROOT/$f" ] || fail "not installed: /$f"; ok
done
# The build machine's paths are in no installed file.
if grep -rlF "$SRC" "$ROOT" >/dev/null; then
    fail "installed files name the source tree: $(grep -rlF "$SRC" "$ROOT" | tr '\n' ' ')"
fi; ok
if grep -rlF "$BUILD" "$ROOT" >/dev/null; then
    fail "installed files name the build tree: $(grep -rlF "$BUILD" "$ROOT" | tr '\n' ' ')"
fi; ok
grep -q "^\.TH PREFLIGHT 1 .*\"preflight $version\"" "$ROOT/usr/share/man/man1/preflight.1" \
    || fail "man page .TH lacks version $version: $(head -1 "$ROOT/usr/share/man/man1/preflight.1")"; ok
grep -q "#define PF_VERSION \"$version\"" "$ROOT/usr/include/preflight_version.h" \
    || fail "preflight_version.h does not say $version"; ok

# pkg-config as Debian's layout reads it: no /usr/lib/include, no lib/lib.
pc=$ROOT/$LIBDIR/pkgconfig/preflight.pc
grep -qx "libdir=/$LIBDIR" "$pc" || fail "preflight.pc libdir: $(grep libdir= "$pc")"; ok
grep -qx "includedir=/usr/include" "$pc" || fail "preflight.pc includedir: $(grep includedir= "$pc")"; ok
for dep in libswresample sqlite3 libcrypto libheif libavformat libcurl libcjson; do
    grep -q "^Requires.private:.* $dep\( \|$\)" "$pc" || fail "Requires.private lacks $dep"; ok
done
export PKG_CONFIG_PATH=$ROOT/$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT
[ "$(pkg-config --modversion preflight)" = "$version" ] || fail "pkg-config --modversion"; ok
pkg-config --static --libs preflight >/dev/null || fail "pkg-config --static cannot resolve Requires.private"; ok
flags=$(pkg-config --cflags --libs preflight)
case $flags in *"-I$ROOT/usr/include"*|*"-L$ROOT/$LIBDIR"*) ;; *) ;; esac
mkdir "$TMP/pc"
cp "$SRC/examples/use-library.c" "$TMP/pc/"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror "$TMP/pc/use-library.c" $flags -o "$TMP/pc/use-library" \
    || fail "examples/use-library.c does not build through pkg-config ($flags)"; ok
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# The installed library finds its own rules beside it (no PREFLIGHT_RULES_DIR,
# no source tree): a pass and a violation.
run_example() {     # BINARY: the example on a passing and a failing image
    local bin=$1 out
    out=$(env -u PREFLIGHT_RULES_DIR LD_LIBRARY_PATH="$ROOT/$LIBDIR" "$bin" "$FIX/jpg_640x480.jpg") \
        || fail "$bin on jpg_640x480.jpg: exit $? ($out)"
    case $out in *"PASS for runwayml/runway-gen-3-alpha/turbo/image-to-video"*) ;;
        *) fail "$bin: $out" ;; esac
    LD_LIBRARY_PATH="$ROOT/$LIBDIR" ldd "$bin" >"$TMP/ldd"
    grep -q "libpreflight.so.1 => $ROOT/$LIBDIR/" "$TMP/ldd" || fail "$bin does not load the installed library: $(grep preflight "$TMP/ldd")"
    set +e
    out=$(env -u PREFLIGHT_RULES_DIR LD_LIBRARY_PATH="$ROOT/$LIBDIR" "$bin" "$SRC/examples/wide-photo.jpg")
    local rc=$?
    set -e
    [ $rc -eq 1 ] || fail "$bin on wide-photo.jpg: exit $rc, want 1 ($out)"
    case $out in *"violation: promptImage:"*) ;; *) fail "$bin: no violation: $out" ;; esac
}
run_example "$TMP/pc/use-library"; ok

# find_package(preflight) from a project outside the tree.
mkdir "$TMP/cm"
cp "$SRC/examples/use-library.c" "$TMP/cm/"
cat >"$TMP/cm/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(use_library C)
find_package(preflight 0.2 REQUIRED)
add_executable(use-library use-library.c)
target_link_libraries(use-library PRIVATE preflight::preflight)
CMAKE
cmake -S "$TMP/cm" -B "$TMP/cm/build" -DCMAKE_PREFIX_PATH="$ROOT/usr" >/dev/null \
    || fail "find_package(preflight) failed"
cmake --build "$TMP/cm/build" >/dev/null || fail "the find_package project does not build"; ok
run_example "$TMP/cm/build/use-library"; ok
# A version this package does not satisfy is refused.
mkdir "$TMP/cm9"
cat >"$TMP/cm9/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(use_library C)
find_package(preflight 9.0 QUIET)
if(preflight_FOUND)
  message(FATAL_ERROR "version 9.0 accepted")
endif()
CMAKE
cmake -S "$TMP/cm9" -B "$TMP/cm9/build" -DCMAKE_PREFIX_PATH="$ROOT/usr" >/dev/null \
    || fail "ConfigVersion accepted version 9.0"; ok

# The installed CLI is a client of the shared library.
ldd "$ROOT/usr/bin/preflight" | grep -q 'libpreflight.so.1' || fail "bin/preflight does not link libpreflight.so"; ok
[ "$(LD_LIBRARY_PATH=$ROOT/$LIBDIR "$ROOT/usr/bin/preflight" --version)" = "preflight $version" ] \
    || fail "installed preflight --version"; ok

# ---- the .deb ----
(cd "$BUILD" && cpack -G DEB >/dev/null) || fail "cpack -G DEB failed"
deb=$(ls "$BUILD"/preflight_"$version"*_*.deb | head -1)
[ -f "$deb" ] || fail "no .deb in $BUILD"
depends=$(dpkg-deb -f "$deb" Depends)
echo "package: $(basename "$deb")"
echo "Depends: $depends"
# From dpkg-shlibdeps: the libraries the binaries link, with versions.
for lib in libavformat libavcodec libcurl libsqlite3 libssl libcjson libc6 libpng libturbojpeg; do
    case $depends in *"$lib"*) ok ;; *) fail "Depends lacks $lib: $depends" ;; esac
done
case $depends in *"(>="*) ok ;; *) fail "Depends has no versions: not dpkg-shlibdeps" ;; esac
echo "files:"
dpkg-deb -c "$deb" | awk '{print $6}' | grep -v '/$' | sed 's/^\.//' | tee "$TMP/files"
for f in /usr/bin/preflight /"$LIBDIR"/libpreflight.so.1 /usr/include/preflight.h \
         /"$LIBDIR"/pkgconfig/preflight.pc /"$LIBDIR"/cmake/preflight/preflightConfig.cmake \
         /usr/share/man/man1/preflight.1 /usr/share/bash-completion/completions/preflight \
         /usr/share/preflight/rules/runcomfy/runwayml/runway-aleph/video-to-video.json; do
    grep -qx "$f" "$TMP/files" || fail ".deb lacks $f"; ok
done
# Unpacked anywhere, it runs and finds its own rules.
dpkg-deb -x "$deb" "$TMP/deb"
[ "$(LD_LIBRARY_PATH=$TMP/deb/$LIBDIR "$TMP/deb/usr/bin/preflight" --version)" = "preflight $version" ] \
    || fail "the unpacked .deb's preflight --version"; ok
env -u PREFLIGHT_RULES_DIR LD_LIBRARY_PATH="$TMP/deb/$LIBDIR" "$TMP/deb/usr/bin/preflight" models \
    | grep -q 'runwayml/runway-aleph/video-to-video' || fail "the unpacked preflight finds no rules"; ok
# Installed into and removed from a scratch dpkg database (its
# dependencies live in the real root, hence --force-depends): nothing of
# it is left behind.
if [ "$(id -u)" = 0 ]; then
    R=$TMP/dpkgroot
    mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
    touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
    dpkg --root="$R" --force-depends --force-script-chrootless -i "$deb" >/dev/null 2>"$TMP/dpkg.err" \
        || fail "dpkg -i into a scratch root: $(cat "$TMP/dpkg.err")"
    [ -x "$R/usr/bin/preflight" ] || fail "dpkg -i installed no binary"; ok
    dpkg --root="$R" --force-depends --force-script-chrootless -r preflight >/dev/null 2>"$TMP/dpkg.err" \
        || fail "dpkg -r: $(cat "$TMP/dpkg.err")"
    left=$(find "$R" -path "$R/var" -prune -o -type f -print | head -5)
    [ -z "$left" ] || fail "dpkg -r left files behind: $left"; ok
else
    echo "(not root: the scratch dpkg install and removal are skipped)"
fi
echo "package: $n checks passed"
