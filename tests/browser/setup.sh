#!/usr/bin/env bash
# Headless Chromium and its WebDriver for tests/test_browser.py, from Debian's packages
# (`chromium`, `chromium-driver`): Selenium Manager's and Playwright's own browser downloads
# cannot reach the internet on the machines this project is tested on.
#
#   tests/browser/setup.sh      # prints the paths of chromium and chromedriver
#
# Installs them system-wide where missing (they change nothing else the tests use). Exit status 77
# (with the reason on stderr) where this machine cannot: not root, no apt-get, or (outside CI) no
# reachable package mirror; under CI (CI set) a failed download is an error.
set -euo pipefail

skip() { echo "cannot install a headless browser: $*" >&2; exit 77; }

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || skip "chromium/chromedriver are missing and installing them needs root"
    command -v apt-get >/dev/null 2>&1 || skip "chromium/chromedriver are missing and there is no apt-get"
    # outside CI an unreachable package mirror is a reason to skip; under CI it is a failure
    failed() { if [ -n "${CI:-}" ]; then echo "apt-get failed: $*" >&2; exit 1; else skip "apt-get failed: $*"; fi; }
    if ! apt-cache show chromium-driver >/dev/null 2>&1; then
        apt-get update -qq >/dev/null || failed "update"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null \
        || failed "install chromium chromium-driver"
fi
command -v chromium
command -v chromedriver
