"""Exports in one language (issue #12): the briefing pack (PDF and PPTX) and the static map in
English show no Chinese but place names and the store's own words, and in Chinese no English
word outside formats, units and brand names (``onemap export pack --lang en``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from pptx import Presentation

from layers import schema as S
from layers import store
from layers.cli import main as cli
from layers.demo.generate import DEMO_SOURCE
from layers.export import maps, smallprint, snapshot
from layers.export.snapshot import MapRequest
from tests.conftest import make_zone_members, write_tiny_store

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
WORD = re.compile(r"[A-Za-z][A-Za-z]+")
#: Latin words a Chinese pack may carry: the program's name, units, time zone, map services
LATIN_OK = frozenset(["onemap", "km", "utc", "pdf", "pptx"])


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_store(tmp_path_factory.mktemp("xlang") / "tiny.gpkg", demo="true")


@pytest.fixture(scope="module")
def data_values(tiny_store: Path) -> set[str]:
    """Place names and the store's words (its source), the allow-list of the English pack."""
    units = store.read_layer(tiny_store, S.LAYER_ADMIN_UNITS)
    info = store.read_build_info(tiny_store)
    zones = make_zone_members()[S.ZONE].astype(str)
    return {*units[S.NAME].astype(str), *zones, info["source"]}


def _pack(store_path: Path, out: Path, lang: str) -> str:
    """Write the pack with ``onemap export pack`` and return every text a reader meets."""
    rc = cli.main(
        ["export", "pack", "--store", str(store_path), "--lang", lang, "--out", str(out)]
        + (["--dpi", "30"] if out.suffix == ".pptx" else [])
    )
    assert rc == 0
    if out.suffix == ".pdf":
        return subprocess.run(
            ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
        ).stdout
    texts = []
    for slide in Presentation(str(out)).slides:
        for sh in slide.shapes:
            if sh.has_text_frame:
                texts.append(sh.text_frame.text)
            if sh.has_table:
                texts += [c.text for row in sh.table.rows for c in row.cells]
            if sh.has_chart:
                chart = sh.chart
                texts.append(chart.chart_title.text_frame.text)
                texts += [s.name for p in chart.plots for s in p.series]
                texts += [str(c) for c in chart.plots[0].categories]
        if slide.has_notes_slide:
            texts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(texts)


def chinese_outside(text: str, allowed: set[str]) -> set[str]:
    return {r for r in CJK.findall(text) if not any(r in v for v in allowed)}


def english_outside(text: str, allowed: set[str]) -> set[str]:
    return {
        w
        for w in WORD.findall(text)
        if w.lower() not in LATIN_OK and not any(w in v for v in allowed)
    }


@pytest.mark.parametrize("suffix", [".pdf", ".pptx"])
def test_english_pack_has_no_chinese_but_place_names(
    tiny_store: Path, data_values: set[str], tmp_path: Path, suffix: str
) -> None:
    text = _pack(tiny_store, tmp_path / f"en{suffix}", "en")
    for words in ("Key figures", "Projects", "Coverage of the poor", "Lowest Completion: counties",
                  "Demo data", "Planned exit", "甲市"):  # fmt: skip
        assert words in text, words
    assert not chinese_outside(text, data_values)


@pytest.mark.parametrize("suffix", [".pdf", ".pptx"])
def test_chinese_pack_has_no_english_but_units_and_names(
    tiny_store: Path, data_values: set[str], tmp_path: Path, suffix: str
) -> None:
    text = _pack(tiny_store, tmp_path / f"zh{suffix}", "zh")
    for words in ("主要指标", "完工率最低的县（市、区）", "计划出列", "演示数据", "甲市"):
        assert words in text, words
    assert not english_outside(text, data_values)


def test_map_legend_counts_in_the_map_language(tiny_store: Path) -> None:
    snap = snapshot.read_snapshot(tiny_store, levels=("province", "prefecture", "county"))
    zh = maps.prepare_map(snap, MapRequest())
    en = maps.prepare_map(snap, MapRequest(lang="en"))
    assert zh.text.class_format.format(label="1%–2%", n=3) == "1%–2%（3）"
    assert en.text.class_format.format(label="1%–2%", n=3) == "1%–2% (3)"
    assert (zh.text.stamp, en.text.stamp) == ("演示数据", "Demo data")


def test_data_credit_in_the_map_language() -> None:
    assert smallprint.source_words(DEMO_SOURCE, "en").startswith("Demo data: generated on")
    assert "demo data" not in smallprint.source_words(DEMO_SOURCE, "zh")
    both = f"{DEMO_SOURCE} + 导入 a.csv, b.csv + 导入 c.csv"
    assert smallprint.source_words(both, "en").endswith(" + imported a.csv, b.csv + imported c.csv")
    assert smallprint.source_words("导入 台账.csv", "en") == "imported 台账.csv"
    assert smallprint.source_words("县扶贫办", "en") == "县扶贫办"  # the office's own words
    assert smallprint.source_words("", "en") == "OneMap project library"
