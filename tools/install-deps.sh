#!/usr/bin/env bash
# Installs what preflight needs to build, and what its tests and fixture
# generator use, from Debian 12's packages. Safe to run again.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    build-essential cmake pkg-config ca-certificates \
    libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev \
    libcurl4-openssl-dev libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev \
    libcjson-dev libsqlite3-dev sqlite3 libssl-dev \
    libheif-dev libheif-examples libimage-exiftool-perl imagemagick \
    ffmpeg python3 valgrind clang libclang-rt-14-dev man-db curl time >/dev/null
# The locale test formats in de_DE.UTF-8 (decimal comma); the package test
# builds a .deb (dpkg-shlibdeps is in dpkg-dev).
$SUDO apt-get install -y -qq --no-install-recommends locales dpkg-dev file >/dev/null
locale -a | grep -qix de_DE.utf8 || $SUDO localedef -i de_DE -f UTF-8 de_DE.UTF-8
# libpq for a job ledger on PostgreSQL; the server (initdb, pg_ctl, psql)
# for the tests, which start a throwaway one of their own.
$SUDO apt-get install -y -qq --no-install-recommends libpq-dev postgresql >/dev/null
# Node.js runs the test suite's S3 server (s3rver) and the AWS SDK presigner
# the signer is compared with; machines of this kind may already have it.
if ! command -v npm >/dev/null; then
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
cd "$(dirname "$0")/../tests"
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "dependencies installed"
