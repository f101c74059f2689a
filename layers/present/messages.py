"""The stored messages of the quality checks and the import report, in the page's language.

Checks and the import write their messages in Chinese (``quality_issues.message``, the report's
``problem`` column, as stored in the store and the revision log). :func:`render` reads a message
back against the templates of ``data/messages.toml`` (``{name}`` matches any text) and writes
it with the template's English, the matched values carried over (codes, numbers, names) and
the Chinese words inside them (six fixes, statuses) translated by its ``[words]``. A message no
template matches stays as stored, so nothing is lost; ``tests/test_messages.py`` checks that
every message the checks and the import write on the test ledgers has its template.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib

import pandas as pd

from layers.ingest import report as rep
from layers.ingest.columns import load_column_map, office_name
from layers.ingest.report import ValidationReport
from layers.present import i18n
from layers.settings import DATA_DIR

__all__ = ["MESSAGES_FILE", "render", "render_series", "report_in", "report_words", "templates"]

#: the messages' templates (Chinese → English) and the words inside their values
MESSAGES_FILE = DATA_DIR / "messages.toml"
_FIELD = re.compile(r"\{(\w+)\}")


@functools.cache
def templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    """(pattern of the Chinese template, English template), the longest template first."""
    raw = tomllib.loads(MESSAGES_FILE.read_text(encoding="utf-8"))["templates"]
    out = []
    for zh, en in sorted(raw.items(), key=lambda kv: -len(kv[0])):
        parts = _FIELD.split(zh)  # literal, name, literal, name, ..., literal
        pattern = "".join(
            re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)
        )
        out.append((re.compile(f"^{pattern}$", re.S), en))
    return tuple(out)


@functools.cache
def _words() -> dict[str, str]:
    return tomllib.loads(MESSAGES_FILE.read_text(encoding="utf-8")).get("words", {})


def _value(text: str) -> str:
    """A matched value: its Chinese words (``定资金、定计划``) in English, the rest as is."""
    words = _words()
    items = text.split("、")
    if all(i in words for i in items):
        return ", ".join(words[i] for i in items)
    return text


@functools.lru_cache(maxsize=4096)
def render(message: str, lang: str = "zh") -> str:
    """A stored message in ``lang``: as stored in Chinese, else its template's English.

    Parameters
    ----------
    message
        The message as a check or the import wrote it.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The message; unchanged when ``lang`` is Chinese or no template matches.
    """
    if lang != "en" or not message:
        return message
    for pattern, en in templates():
        hit = pattern.match(message)
        if hit:
            return en.format(**{k: _value(v) for k, v in hit.groupdict().items()})
    return message


def render_series(messages: pd.Series, lang: str = "zh") -> pd.Series:
    """:func:`render` of every message (each distinct message once).

    Parameters
    ----------
    messages
        Stored messages (missing values stay missing).
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    pandas.Series
        The messages in ``lang``, same index.
    """
    if lang != "en":
        return messages
    return messages.map(lambda m: render(m, lang) if isinstance(m, str) else m)


def report_in(report: ValidationReport, lang: str) -> ValidationReport:
    """The validation report with its problems written in ``lang`` (a copy; Chinese: as is).

    Parameters
    ----------
    report
        The report as the import wrote it.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    ValidationReport
        The report to show or write for a reader of ``lang``.
    """
    if lang != "en":
        return report
    problems = report.problems
    if not problems.empty:
        problems = problems.assign(**{rep.PROBLEM: render_series(problems[rep.PROBLEM], lang)})
    return dataclasses.replace(report, problems=problems, sources=_sources_in(report.sources))


def _sources_in(sources: pd.DataFrame) -> pd.DataFrame:
    """The report's per-file rows in English: what the file is, its notes ("; "-joined) and
    the words around the office's own column names."""
    if sources.empty:
        return sources

    def each(text: object) -> object:
        if not isinstance(text, str):
            return text
        return "; ".join(render(part, "en") for part in text.split("; "))

    out = sources.copy()
    for column in ("kind", "notes"):
        if column in out.columns:
            out[column] = out[column].map(each)
    if "columns" in out.columns:  # "计划投资 (G)→funds_planned; 未使用: 备注" / "坐标系 EPSG:4490"
        out["columns"] = out["columns"].map(_columns_in)
    return out


@functools.cache
def _field_names_en() -> dict[str, str]:
    """The name the report gives a field (``office_name``: 村代码) → its English header."""
    cmap = load_column_map()
    english = i18n.headers("en")
    out = {"个人信息(未导入)": "personal data (not imported)"}
    for section, lookup in cmap.sections.items():
        for field in set(lookup.values()):
            name = office_name(field, cmap, section)
            out.setdefault(name, english.get(field, field.replace("_", " ")))
    return out


def _columns_in(text: object) -> object:
    """``计划投资 (G)→计划投资; 未使用: 备注`` with our side in English (the office's headers,
    left of the arrows and after "not used", stay as the office wrote them)."""
    if not isinstance(text, str):
        return text
    names = _field_names_en()
    parts = []
    for part in text.split("; "):
        label, arrow, field = part.rpartition("→")
        if arrow:
            part = f"{label}→{names.get(field, field)}"
        parts.append(part.replace("未使用: ", "not used: ").replace("坐标系 ", "CRS "))
    return "; ".join(parts)


def report_words(report: ValidationReport, lang: str) -> dict[str, str]:
    """The report's headers, actions, sheet names and summary line in ``lang``.

    Parameters
    ----------
    report
        The validation report.
    lang
        The interface language.

    Returns
    -------
    dict of str to str
        ``ValidationReport.write``'s ``words``.
    """
    counts = report.counts()
    words = {c: i18n.t(f"rep_{c}", lang) for c in (*rep.REPORT_COLUMNS, *rep.SOURCE_COLUMNS)}
    words.update({a: i18n.t(f"action_{a}", lang) for a in rep.ACTIONS})
    words.update(
        total=i18n.t("rep_total", lang),
        summary_sheet=i18n.t("rep_sheet_summary", lang),
        problems_sheet=i18n.t("rep_sheet_problems", lang),
        summary_line=i18n.t(
            "imp_summary",
            lang,
            rows_in=counts["rows_in"],
            accepted=counts["accepted"],
            rejected=counts["rejected"],
            problems=counts["problems"],
            fixed=counts["fixed"],
            cleared=counts["cleared"],
            refused=counts["rejected"],
            warnings=counts["warning"],
        ),
    )
    return words
