"""Where the CJK font for PDFs lives. `scripts/ensure-fonts.sh` installs Debian's fonts-noto-cjk; HUB_CJK_FONT
points elsewhere (a .ttf/.otf, or a .ttc with `#index`)."""

from __future__ import annotations

import os
from pathlib import Path

from shop.errors import ServiceUnavailable

# (path, index in the collection): index 2 of the Noto Sans CJK collection is Simplified Chinese (SC).
CANDIDATES: list[tuple[str, int]] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
]


def cjk_font() -> tuple[Path, int]:
    configured = os.environ.get("HUB_CJK_FONT")
    if configured:
        path, _, number = configured.partition("#")
        if Path(path).is_file():
            return Path(path), int(number or 0)
    for path, index in CANDIDATES:
        if Path(path).is_file():
            return Path(path), index
    raise ServiceUnavailable(
        "No Chinese font is installed for PDFs: run `bash scripts/ensure-fonts.sh` "
        "(apt-get install fonts-noto-cjk) or set HUB_CJK_FONT."
    )
