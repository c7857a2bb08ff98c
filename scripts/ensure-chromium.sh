#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright; Playwright's own
# browser download is never used. Install the package when it is missing and we can; otherwise say how.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
  echo "installing Debian's chromium package for the browser tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  echo "installing Debian's chromium package for the browser tests (sudo)" >&2
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [[ ! -x "$CHROMIUM" ]]; then
  echo "The browser tests need Chromium at $CHROMIUM: install it with 'sudo apt-get install chromium'" \
    "(Debian/Ubuntu), or point CONSOLE_TEST_CHROMIUM at a Chromium or Chrome binary." >&2
  [[ -n "${CONSOLE_TEST_CHROMIUM:-}" && -x "${CONSOLE_TEST_CHROMIUM}" ]] || exit 1
fi
