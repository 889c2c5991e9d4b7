"""demokit.plotting: a Hangul font that really has the glyphs, heatmaps without "Glyph missing", the romanised
fallback, atomic figure saving."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from demokit import plotting
from demokit.plotting import hangul_font, has_glyphs, label, plot_attention, pyplot, romanize, save_figure


def needs_hangul_font() -> str:
    """matplotlib and a Hangul font, or skip (the plot extra brings both)."""
    pytest.importorskip("matplotlib")
    family = hangul_font()
    if family is None:
        pytest.skip("no font with Hangul glyphs installed (pip install -e .[plot])")
    return family


# ------------------------------------------------------------------------------------------ romanisation


@pytest.mark.parametrize("korean,latin", [("먹어요", "meogeoyo"), ("맛있어요", "masisseoyo"), ("한글", "hangeul"),
                                          ("사과를 먹어요.", "sagwareul meogeoyo."), ("I ate 김치", "I ate gimchi")])
def test_romanize_known_words(korean: str, latin: str) -> None:
    assert romanize(korean) == latin


# ------------------------------------------------------------------------------------------ the font


def test_font_file_has_hangul_glyphs() -> None:
    family = needs_hangul_font()
    _, path = plotting._state["font"]
    assert has_glyphs(path, "한글") and has_glyphs(path, "먹어요 맛있어요")
    from matplotlib import font_manager, rcParams

    assert rcParams["font.sans-serif"][0] == family
    assert Path(font_manager.findfont(family, fallback_to_default=False)) == Path(path)


def test_packaged_font_is_used_when_installed() -> None:
    # a bug in finding the plot extra's font must fail here, not turn the Hangul tests into skips
    pytest.importorskip("matplotlib")
    if importlib.util.find_spec("koreanize_matplotlib") is None:
        pytest.skip("koreanize-matplotlib (the plot extra's font package) is not installed")
    assert hangul_font() == "NanumGothic"
    assert plotting._state["font"][1] == str(plotting._packaged_font())


def test_glyph_check_can_say_no(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib import font_manager

    dejavu = font_manager.findfont("DejaVu Sans")  # ships with matplotlib; Latin, Greek, Cyrillic, no Hangul
    assert has_glyphs(dejavu, "Abc") and not has_glyphs(dejavu, "한글")
    import matplotlib

    last_resort = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "LastResortHE-Regular.ttf"  # matplotlib >= 3.10
    if last_resort.is_file():
        assert not has_glyphs(last_resort, "한글")  # one placeholder for the whole block: not a Hangul font
    (tmp_path / "fake.ttf").write_text("not a font")
    assert not has_glyphs(tmp_path / "fake.ttf", "A")


def test_fallback_search_among_known_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    needs_hangul_font()
    from matplotlib import font_manager

    monkeypatch.setattr(plotting, "_packaged_font", lambda: None)
    everything = list(font_manager.fontManager.ttflist)
    hangul = [f for f in everything if has_glyphs(f.fname)]
    assert hangul  # the packaged NanumGothic is registered by now
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [f for f in everything if f not in hangul])
    assert plotting._find_hangul_font() is None
    monkeypatch.setattr(font_manager.fontManager, "ttflist", everything)
    name, path = plotting._find_hangul_font()
    assert has_glyphs(path) and name in {f.name for f in hangul}


def _render_text(plt, text: str) -> np.ndarray:
    fig = plt.figure(figsize=(1, 0.5), dpi=50)
    fig.text(0.1, 0.2, text, fontsize=20)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba()).copy()
    plt.close(fig)
    return pixels


def test_hangul_is_drawn_not_boxes() -> None:
    needs_hangul_font()
    plt = pyplot()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        han, geul = _render_text(plt, "한"), _render_text(plt, "글")
    assert not [w for w in caught if "Glyph" in str(w.message)]
    assert (han != geul).any()  # missing glyphs are drawn as identical boxes


def test_attention_heatmap_with_korean_labels(tmp_path: Path) -> None:
    needs_hangul_font()
    src = ["▁I", "▁eat", "▁apples", "</s>"]
    out = ["▁나는", "▁사과를", "▁먹어요", "</s>"]
    weights = np.random.default_rng(0).dirichlet(np.ones(len(src)), size=len(out))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        title = "I eat apples\n-> 나는 사과를 먹어요"
        path = plot_attention(weights, src, out, tmp_path / "attention.png", title=title)
    missing = [str(w.message) for w in caught if "Glyph" in str(w.message) or "missing" in str(w.message)]
    assert missing == []
    assert path == tmp_path / "attention.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    width, height = Image.open(path).size
    assert width > 300 and height > 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attention.png"]


def test_attention_shape_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(outputs, inputs\) = \(2, 3\)"):
        plot_attention(np.zeros((3, 2)), ["a", "b", "c"], ["x", "y"], tmp_path / "a.png")


# ------------------------------------------------------------------------------------------ fallbacks


def test_label_keeps_hangul_with_a_font() -> None:
    needs_hangul_font()
    assert label("먹어요") == "먹어요"


def test_label_romanises_without_a_font(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(plotting, "_state", {"plt": object(), "font": None})
    assert label("먹어요") == "meogeoyo" and label("맛있어요") == "masisseoyo" and label("eat") == "eat"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "romanised" in err and "[plot]" in err


def test_no_matplotlib_gives_none_and_one_hint(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                               tmp_path: Path) -> None:
    monkeypatch.setattr(plotting, "_state", {})
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    assert pyplot() is None and pyplot() is None and hangul_font() is None
    assert plot_attention(np.ones((1, 1)), ["a"], ["b"], tmp_path / "a.png") is None
    err = capsys.readouterr().err
    assert err == plotting.PLOT_HINT + "\n" and "pip install -e .[plot] for figures" in err
    assert not (tmp_path / "a.png").exists()


# ------------------------------------------------------------------------------------------ saving


def test_save_figure_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plt = pyplot()
    if plt is None:
        pytest.skip("matplotlib is not installed")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "loss.png")
    assert path == tmp_path / "loss.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert not plt.fignum_exists(fig.number)  # closed
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]  # no temporary file left
    before = path.read_bytes()

    fig2, _ = plt.subplots()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fig2, "savefig", crash)
    with pytest.raises(OSError, match="disk full"):
        save_figure(fig2, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["loss.png"]
    assert not plt.fignum_exists(fig2.number)
    svg = save_figure(*plt.subplots()[:1], tmp_path / "plot.svg")  # the suffix picks the format
    assert b"<svg" in svg.read_bytes()[:400]


def test_a_log_axis_draws_its_minus_signs_without_missing_glyphs(tmp_path, caplog):
    """Default log-axis ticks (10^-2) are mathtext, which does not fall back to another font for U+2212:
    log_scale labels them in plain text, which does."""
    plt = plotting.pyplot()
    if plt is None:
        pytest.skip("matplotlib is not installed")
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1e-3, 1e-2, 1.0])
    plotting.log_scale(ax)
    ax.set_title("한글 −1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level("WARNING"):
            plotting.save_figure(fig, tmp_path / "log.png")
    assert not [r for r in caplog.records if "glyph" in r.getMessage()]
