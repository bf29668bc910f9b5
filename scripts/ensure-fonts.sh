#!/usr/bin/env bash
# PDFs with Chinese text (route sheets, dividend statements) need a CJK font: Debian's fonts-noto-cjk.
set -uo pipefail
if [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || [ -n "${HUB_CJK_FONT:-}" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing fonts-noto-cjk for Chinese PDFs…" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null) \
    || echo "Could not install fonts-noto-cjk; PDFs will answer 503 (sudo apt-get install fonts-noto-cjk)." >&2
else
  echo "fonts-noto-cjk is not installed; Chinese PDFs need it (sudo apt-get install fonts-noto-cjk)." >&2
fi
exit 0
