#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (playwright's own browser download is not possible).
set -uo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests…" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
    || echo "Could not install chromium; browser tests will be skipped (apt-get install chromium)." >&2
else
  echo "chromium is not installed; browser tests will be skipped (sudo apt-get install chromium)." >&2
fi
exit 0
