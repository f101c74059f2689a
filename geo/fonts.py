"""CJK fonts for matplotlib (found by family, registered from fontconfig) and text wrapping
by display width (a CJK character takes two columns)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.font_manager import FontEntry

__all__ = [
    "CJK_FONT_FAMILIES",
    "FONT_INSTALL_HINT",
    "CJKFont",
    "FontNotFoundError",
    "find_cjk_font",
    "font_rc",
    "wrap_columns",
]

#: Simplified-Chinese font families, in order of preference (DESIGN §8).
CJK_FONT_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "Microsoft YaHei",
    "SimHei",
)
FONT_INSTALL_HINT = "sudo apt-get install fonts-noto-cjk"


def _font_manager() -> Any:
    """``matplotlib.font_manager``, imported on the first font lookup (a heavy engine)."""
    import matplotlib.font_manager

    return matplotlib.font_manager


class FontNotFoundError(LookupError):
    """No Simplified-Chinese font is installed (the message names the package to install)."""


@dataclass(frozen=True)
class CJKFont:
    """A CJK font family found on this machine, with the files of its regular and bold faces."""

    family: str
    regular: Path
    bold: Path | None


def _faces(family: str) -> list[FontEntry]:
    return [f for f in _font_manager().fontManager.ttflist if f.name == family]


def _register_from_fontconfig(families: Sequence[str]) -> None:
    """Add fonts that fontconfig knows but matplotlib's cached font list does not (new installs)."""
    if shutil.which("fc-list") is None:
        return
    for family in families:
        out = subprocess.run(
            ["fc-list", f"{family}", "file"], capture_output=True, text=True, check=False
        ).stdout
        for line in out.splitlines():
            path = line.split(":")[0].strip()
            if path and Path(path).exists():
                _font_manager().fontManager.addfont(path)


def find_cjk_font(families: Sequence[str] = CJK_FONT_FAMILIES) -> CJKFont:
    """Return the first installed family of ``families`` (by name), with its bold face if any.

    Raises
    ------
    FontNotFoundError
        When none is installed; the message names ``apt-get install fonts-noto-cjk``.
    """
    for attempt in range(2):
        for family in families:
            faces = _faces(family)
            if not faces:
                continue
            regular = min(faces, key=lambda f: abs(_weight(f.weight) - 400))
            bolds = [f for f in faces if _weight(f.weight) >= 600]
            bold = min(bolds, key=lambda f: abs(_weight(f.weight) - 700)) if bolds else None
            return CJKFont(family, Path(regular.fname), Path(bold.fname) if bold else None)
        if attempt == 0:
            _register_from_fontconfig(families)
    raise FontNotFoundError(
        "no Simplified-Chinese font found (looked for "
        + ", ".join(families)
        + f"); install one with `{FONT_INSTALL_HINT}` (or run `bash scripts/setup.sh`)"
    )


def _weight(w: int | str) -> int:
    if isinstance(w, int):
        return w
    return {"bold": 700, "heavy": 800, "black": 900, "light": 300, "thin": 100}.get(str(w), 400)


def font_rc(font: CJKFont) -> dict[str, object]:
    """Return matplotlib rc settings that draw text with ``font`` (for ``mpl.rc_context``)."""
    return {
        # the family itself, not the generic "sans-serif": text made in this context keeps
        # the CJK font even when the figure is saved outside it
        "font.family": [font.family, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "path",
    }


def _columns(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def wrap_columns(text: str, width: int) -> list[str]:
    """Split ``text`` into lines of at most ``width`` columns (CJK characters count two).

    Parameters
    ----------
    text
        Text to wrap; Latin words are kept whole where possible.
    width
        Maximum columns per line.

    Returns
    -------
    list of str
        The lines (at least one).
    """
    lines, current, used = [], "", 0
    for ch in text:
        w = _columns(ch)
        if used + w > width and current:
            cut = current.rfind(" ")
            if ch != " " and cut > len(current) - 16 and cut > 0:  # keep Latin words whole
                lines.append(current[:cut])
                current = current[cut + 1 :]
            else:
                lines.append(current)
                current = ""
            used = sum(_columns(c) for c in current)
        current += ch
        used += w
    if current or not lines:
        lines.append(current)
    return lines
