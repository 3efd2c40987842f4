#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/test_review_browser.py), which drive it with
# Playwright's bundled driver: `playwright install` (a download of Google's builds) is never
# needed. Idempotent: installs only when /usr/bin/chromium is missing; prints the version.
set -euo pipefail

if [[ ! -x /usr/bin/chromium ]]; then
    echo "Installing Chromium from Debian ..."
    SUDO=""
    if [[ $EUID -ne 0 ]]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version
