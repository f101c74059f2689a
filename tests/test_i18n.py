"""The one catalogue of the interface's words: lookups, placeholders, labels, and every key the
dashboard asks for exists in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from layers import schema as S
from layers.build import pipeline
from layers.present import fmt, i18n

ROOT = Path(__file__).resolve().parent.parent


def test_t_looks_up_both_languages_and_fills_placeholders() -> None:
    assert i18n.t("projects") == "项目数"
    assert i18n.t("projects", "en") == "Projects"
    assert i18n.t("exited_by", "zh", year=2018) == "至2018年已出列"
    assert i18n.t("exited_by", "en", year=2018) == "Exited by 2018"
    # a value is substituted, never read as a template
    assert i18n.t("open_on_map", "en", name="{name}") == "Open {name} on the map"


def test_unknown_key_names_the_catalogue() -> None:
    with pytest.raises(KeyError, match=r"`key` was 'nope' but is not in layers.present.i18n"):
        i18n.t("nope")


def test_category_and_metric_labels() -> None:
    assert i18n.label(S.SECTOR, "industry") == S.SECTOR_LABELS_ZH["industry"]
    assert i18n.label(S.STATUS, "in_progress", "en") == "In progress"
    assert i18n.label(S.SECTOR, "unknown", "en") == "unknown"
    assert list(i18n.labels(S.FUND_SOURCE, "zh")) == list(S.FUND_SOURCES)
    assert i18n.metric_label(S.COMPLETION) == "完工率"
    assert i18n.metric_label(S.COMPLETION, "en") == "Completion"


def test_every_entry_has_both_languages() -> None:
    empty_in_english = {"unit_items", "unit_households"}  # English figures carry no unit
    for key, (zh, en) in i18n.TEXT.items():
        assert zh, key
        assert en or key in empty_in_english, key


def test_every_key_the_dashboard_asks_for_is_in_the_catalogue() -> None:
    sources = [ROOT / "app.py", *ROOT.glob("views/*.py"), *ROOT.glob("layers/present/*.py")]
    asked = {
        key
        for path in sources
        for key in re.findall(r"\b(?:i18n\.t|tr)\(\s*\"([a-z_0-9]+)\"", path.read_text("utf-8"))
    }
    assert len(asked) > 100
    assert sorted(asked - set(i18n.TEXT)) == []


def test_funds_in_english_are_million_yuan() -> None:
    assert fmt.fmt_wan_yuan(1234.5, lang="en") == "12.35M yuan"
    assert fmt.fmt_wan_yuan(184122) == "18.41亿元"
    series = fmt.fmt_wan_yuan_series(pd.Series([1234.5, 184122.0, None]), lang="en")
    assert series.tolist() == ["12.35M yuan", "1,841.22M yuan", "—"]


def test_first_start_stages_are_words_of_the_page_language() -> None:
    """The demo build's progress bar names its stages in Chinese or English, never `units`."""
    for stage in (*pipeline.DEMO_RUN_STAGES, "read"):
        zh, en = i18n.stage_label(stage, "zh"), i18n.stage_label(stage, "en")
        assert zh != stage and not re.search(r"[A-Za-z]", zh), (stage, zh)
        assert not re.search(r"[\u3400-\u9fff]", en), (stage, en)
    assert i18n.stage_label("units") == "生成乡镇和行政村"
    assert i18n.stage_label("units", "en") == "townships and villages"
    assert i18n.stage_label("new-stage", "en") == "new-stage"
