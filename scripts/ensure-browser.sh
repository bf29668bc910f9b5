#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (playwright's own browser download is not possible here),
# and check pages with axe-core from the npm registry.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests…" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
      || echo "Could not install chromium; browser tests will be skipped (apt-get install chromium)." >&2
  else
    echo "chromium is not installed; browser tests will be skipped (sudo apt-get install chromium)." >&2
  fi
fi
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    npm install --prefix tests/browser --no-audit --no-fund --silent >/dev/null 2>&1 \
      || echo "Could not install axe-core from npm; accessibility checks will fail (npm install --prefix tests/browser)." >&2
  else
    echo "npm is missing: install Node.js and npm (apt-get install npm) for the accessibility checks." >&2
  fi
fi
exit 0
