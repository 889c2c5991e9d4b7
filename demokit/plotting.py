"""One matplotlib set-up for every figure of the demos, with real Hangul.

    plt = pyplot()                     # matplotlib.pyplot (Agg backend, Hangul font as default sans-serif),
                                       # or None with ONE hint line on stderr when matplotlib is missing
    hangul_font()                      # "NanumGothic" (the family in use), or None: labels get romanised
    ax.set_title(label("먹어요"))      # unchanged with a Hangul font, "meogeoyo" without one
    save_figure(fig, "loss.png")       # atomic; closes the figure
    plot_attention(weights, src, out, "attention.png", title="...")

Why a set-up at all: matplotlib's default font (DejaVu Sans) has no Hangul glyph, so every Korean label is
drawn as empty boxes, with a "Glyph ... missing from font(s)" warning per character.

Where the Hangul font comes from, in order (the first whose font FILE has glyphs for '한글' wins -- a name
alone proves nothing):
1. NanumGothic.ttf shipped by koreanize-matplotlib (the `plot` extra: pip install -e .[plot]). The file is
   located with importlib.util.find_spec WITHOUT importing that package: importing it changes global rc
   settings as a side effect and imports distutils, which Python 3.12 removed. The file is registered
   with font_manager.fontManager.addfont.
2. A font matplotlib already knows (system fonts) whose name is a known Korean family (Noto Sans CJK,
   NanumGothic, Malgun Gothic, AppleGothic, ...), then any other font it knows with Hangul glyphs.
The family found is put first in rcParams["font.sans-serif"], and font.family becomes ["sans-serif",
"DejaVu Sans"]: matplotlib falls back glyph by glyph along a font.family list, so characters the Hangul font
lacks (sentencepiece's U+2581 '▁', the minus sign U+2212) come from DejaVu Sans. Mathtext does not fall back,
so log axes take `log_scale`, whose tick labels are plain text (10^-2 as 0.01, 1e-05), not mathtext.
With no Hangul font at all, `label` romanises (Revised Romanisation, `romanize`) and says so once.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from demokit.hangul import decompose, is_hangul_syllable
from demokit.runs import write_atomic

PLOT_HINT = "matplotlib is not installed, so no figure is drawn: pip install -e .[plot] for figures"
FONT_HINT = ("no font with Hangul glyphs found: Korean labels are romanised "
             "(pip install -e .[plot] brings the NanumGothic font)")
PROBE = "한글"  # a font "has Hangul" when its file maps both characters to glyphs
KNOWN_KOREAN_FAMILIES = ("NanumGothic", "Nanum Gothic", "Noto Sans CJK", "Noto Sans KR", "Source Han Sans",
                         "Malgun Gothic", "AppleGothic", "Apple SD Gothic Neo", "UnDotum", "Baekmuk")

_state: dict[str, Any] = {}  # "plt", "font" once set up; "warned_plot", "warned_font": hints printed


def _hint(key: str, text: str) -> None:
    """Print a hint to stderr once per process."""
    if not _state.get(key):
        print(text, file=sys.stderr)
        _state[key] = True


def has_glyphs(font_path: str | os.PathLike, text: str = PROBE) -> bool:
    """True when the font file draws every character of `text` with its own glyph (checked via FreeType).

    Each distinct character must map to a non-zero glyph index, and distinct characters to distinct glyphs:
    fallback fonts such as matplotlib's "Last Resort" map a whole Unicode block to one placeholder picture.
    """
    from matplotlib import ft2font

    try:
        font = ft2font.FT2Font(os.fspath(font_path))
    except (OSError, RuntimeError, ValueError):  # unreadable or not a font FreeType knows
        return False
    chars = set(text) - {" "}
    glyphs = {font.get_char_index(ord(ch)) for ch in chars}
    return 0 not in glyphs and len(glyphs) == len(chars)


def _packaged_font() -> Path | None:
    """NanumGothic.ttf of koreanize-matplotlib, found without importing the package (module docstring)."""
    try:
        spec = importlib.util.find_spec("koreanize_matplotlib")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "fonts" / "NanumGothic.ttf"
        if path.is_file():
            return path
    return None


def _find_hangul_font() -> tuple[str, str] | None:
    """(family name, font file) of a font with Hangul glyphs, registered with matplotlib; None if none."""
    from matplotlib import font_manager

    packaged = _packaged_font()
    if packaged is not None and has_glyphs(packaged):
        font_manager.fontManager.addfont(str(packaged))
        return font_manager.FontProperties(fname=str(packaged)).get_name(), str(packaged)
    known = sorted(font_manager.fontManager.ttflist, key=lambda f: (f.name, f.fname))
    named = [f for f in known if any(n.lower() in f.name.lower() for n in KNOWN_KOREAN_FAMILIES)]
    for entry in named + [f for f in known if f not in named]:
        if has_glyphs(entry.fname):
            return entry.name, entry.fname
    return None


def pyplot() -> Any | None:
    """matplotlib.pyplot with the Agg backend (files only, no display) and a Hangul-capable default font.

    None when matplotlib is not installed, after ONE hint line on stderr. The set-up runs once per process.
    """
    if "plt" in _state:
        return _state["plt"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _hint("warned_plot", PLOT_HINT)
        return None
    found = _find_hangul_font()
    if found is not None:
        family = found[0]
        rest = [f for f in matplotlib.rcParams["font.sans-serif"] if f != family]
        matplotlib.rcParams["font.sans-serif"] = [family, *rest]
        # each entry of a font.family LIST is a glyph-by-glyph fallback; DejaVu Sans ships with matplotlib
        matplotlib.rcParams["font.family"] = ["sans-serif", "DejaVu Sans"]
    _state["plt"], _state["font"] = plt, found
    return plt


def hangul_font() -> str | None:
    """The family name of the Hangul font figures use, or None (no matplotlib, or no Hangul font: romanise)."""
    if pyplot() is None or _state.get("font") is None:
        return None
    return _state["font"][0]


# Revised Romanisation letters, jamo by jamo (initial, medial, final); "-" = silent (ㅇ initial, no final)
_RR_INITIAL = "g kk n d tt r m b pp s ss - j jj ch k t p h".split()
_RR_MEDIAL = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()
_RR_FINAL = ("- g kk gs n nj nh d l lg lm lb ls lt lp lh m b bs s ss ng j ch k t p h").split()


def romanize(text: str) -> str:
    """Hangul -> Latin letters, jamo by jamo with the Revised Romanisation letters (먹어요 -> meogeoyo,
    맛있어요 -> masisseoyo), for plot labels when no Korean font is installed. Other characters are kept."""
    out = []
    for ch in text:
        if is_hangul_syllable(ch):
            i, m, f = decompose(ch)
            out.append((_RR_INITIAL[i] + _RR_MEDIAL[m] + _RR_FINAL[f]).replace("-", ""))
        else:
            out.append(ch)
    return "".join(out)


def label(text: str) -> str:
    """A figure label: `text` unchanged when a Hangul font is in use, else romanised (with one hint, once)."""
    if hangul_font() is not None:
        return text
    romanised = romanize(text)
    if romanised != text:
        _hint("warned_font", FONT_HINT)
    return romanised


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save a figure atomically and close it; returns the path.

    savefig renders into memory, then demokit.runs.write_atomic writes a temporary file in the same folder and
    renames it over `path`: a reader never sees half a PNG and a crash never leaves one. The
    format follows the suffix (.png, .svg, .pdf). The figure is closed even when saving fails.
    """
    plt = pyplot()  # the figure exists, so matplotlib does: this only makes sure the set-up ran

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=dpi)
    finally:
        plt.close(fig)
    return write_atomic(path, buffer.getvalue())  # the usual file permissions, and the run folder's temp names


def log_scale(ax: Any, axis: str = "y") -> None:
    """A logarithmic axis whose tick labels are plain text: the default labels are mathtext (10^-2), which uses
    one font only and would miss the minus sign in a Hangul font."""
    from matplotlib.ticker import LogFormatter

    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"{axis}axis").set_major_formatter(LogFormatter(labelOnlyBase=True))


def plot_attention(weights: np.ndarray, src_labels: Sequence[str], out_labels: Sequence[str],
                   path: str | os.PathLike, title: str = "") -> Path | None:
    """Attention heatmap: rows = output tokens (y axis, top to bottom), columns = input tokens (x axis).

    weights: (T_out, T_in), row t = the attention a_t over the source positions (sums to 1), drawn on a
    fixed 0..1 colour scale with a colour bar so maps can be compared. Labels go through `label` (Hangul
    drawn as is when a Hangul font exists). Returns the path, or None when matplotlib is missing (hint printed).
    """
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (len(out_labels), len(src_labels)):
        raise ValueError(f"plot_attention: weights {weights.shape} must be (outputs, inputs) = "
                         f"({len(out_labels)}, {len(src_labels)})")
    plt = pyplot()
    if plt is None:
        return None
    xs, ys = [label(s) for s in src_labels], [label(s) for s in out_labels]
    fig, ax = plt.subplots(figsize=(max(4.5, 1.5 + 0.45 * len(xs)), max(3.0, 1.5 + 0.4 * len(ys))))
    im = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(xs)), xs, rotation=60, ha="right")
    ax.set_yticks(range(len(ys)), ys)
    ax.set_xlabel("input tokens")
    ax.set_ylabel("output tokens")
    if title:
        ax.set_title(label(title), fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.04, label="attention weight")
    fig.tight_layout()
    return save_figure(fig, path, dpi=150)  # a stacked syllable (를) needs the pixels to be legible
