"""One language at a time (issue #12): every page, opened in English, shows no Chinese except
place names and data values, and opened in Chinese no English word outside formats, units and
codes.

The allow-lists come from the store (unit names, every text value of the projects, zones and
issues), the column map's accepted headers (the names a file must carry) and the language
switch (which names both languages on purpose); only technical tokens (file formats, units,
encodings) are listed by hand. The text read is what a user reads outside the tables' cells:
titles, headings, captions, notices, metric labels and values, every widget's label, help,
placeholder and options, tabs, expanders and the tables' headers; the maps' and charts' words:
in English the whole Leaflet script (tooltips, popups, legend, labels, layer names and the
features' display values) and the whole Vega-Lite spec (titles, axes, legends, tooltips, label
expressions), in Chinese the maps' tooltip/popup headers, legend and labels and the charts'
titles and legend entries (their code is English). The library opens each of its tabs.
Streamlit's own texts that have no setting ("Select all" of a multiselect, the dataframe
toolbar's tooltips) are not in the tree and are not changed: the frontend bundle is not patched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers import schema as S
from layers import store
from layers.build import zones
from layers.present import i18n
from tests.conftest import COUNTY_A, TOWN_A1, V1, write_tiny_store

APP = str(Path(__file__).resolve().parent.parent / "app.py")
#: page → the region it is opened on (one that has what the page shows)
PAGES: dict[str, str | None] = {
    "overview": None,
    "library": COUNTY_A,
    "roadmap": TOWN_A1,
    "village": V1,
    "zones": None,
    "quality": None,
    "import_data": None,
    "export": None,
}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
#: CJK punctuation a run may carry around a name (「怒江州」、…)
CJK_PUNCT = "\u3000-\u303f\uff00-\uffef"
WORD = re.compile(r"[A-Za-z][A-Za-z]+")
CODE_SPAN = re.compile(r"`[^`]*`")
#: what a Chinese page may show in Latin letters: file formats, encodings, units, map services
TECHNICAL = frozenset(
    [
        "png",
        "pdf",
        "svg",
        "pptx",
        "csv",
        "xlsx",
        "xls",
        "html",
        "tif",
        "geotiff",
        "gpkg",
        "geopackage",
        "geojson",
        "json",
        "shp",
        "shapefile",
        "zip",
        "dbf",
        "shx",
        "prj",
        "cpg",
        "excel",
        "utf",
        "gbk",
        "gb",
        "bom",
        "epsg",
        "gk",
        "gcj",
        "dpi",
        "km",
        "mb",
        "utc",
        "openstreetmap",
        "amap",
    ]
)


def _texts(at: AppTest) -> Iterator[str]:
    for kind in ("title", "header", "subheader", "markdown", "caption", "text"):
        yield from (str(e.value) for e in at.get(kind))
    for kind in ("info", "warning", "error", "success"):
        yield from (str(e.value) for e in at.get(kind))
    for m in at.get("metric"):
        yield from (str(m.label), str(m.value))
    for kind in (
        "button",
        "checkbox",
        "toggle",
        "slider",
        "select_slider",
        "number_input",
        "text_input",
        "text_area",
        "date_input",
        "radio",
        "selectbox",
        "multiselect",
    ):
        for e in at.get(kind):
            yield str(e.label)
            for extra in (getattr(e, "help", None), getattr(e, "placeholder", None)):
                if extra:
                    yield str(extra)
            if kind in ("selectbox", "multiselect", "radio", "select_slider"):
                yield from (str(o) for o in e.options)
    for kind in ("tab", "expander"):
        yield from (str(e.label) for e in at.get(kind))
    for e in at.get("dataframe"):
        yield from (str(c) for c in e.value.columns)
    for kind in ("download_button", "file_uploader"):
        yield from (str(e.proto.label) for e in at.get(kind))


#: the library's tabs: only the open one is drawn (session key → tab labels' catalogue keys)
TABS = {"library": ("library_tab", ("tab_projects", "tab_mix", "tab_towns", "tab_years"))}
_ESCAPED = re.compile(r"\\u([0-9a-fA-F]{4})")
_STRING = r'("(?:[^"\\]|\\.)*")'
_TAG = re.compile(r"<[^>]+>")


def _unescape(script: str) -> str:
    """folium writes non-ASCII text as \\uXXXX escapes: read it as the browser shows it."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), script)


def _titles(spec: object) -> Iterator[str]:
    """A Vega-Lite spec's words: every title, and the legend entries of its colour scales."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "scale" and "legend" in spec and spec["legend"] is None:
                continue  # a scale without a legend: its domain (codes) is not shown
            if key == "title" and isinstance(value, str):
                yield value
            elif key == "domain" and isinstance(value, list):
                yield from (str(v) for v in value)
            else:
                yield from _titles(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _titles(item)


def map_words(script: str) -> list[str]:
    """A Leaflet map's words: tooltip and popup headers, the legend and the labels' HTML."""
    words = []
    for found in re.findall(r"let aliases = (\[.*?\]);", script):
        words += json.loads(found)
    for pattern in (r"innerHTML = " + _STRING, r'"html": ' + _STRING):
        for found in re.findall(pattern, script):
            words.append(_TAG.sub(" ", json.loads(found)))
    return words


def _map_and_chart_texts(at: AppTest, lang: str) -> Iterator[str]:
    for e in at.get("component_instance"):
        script = json.loads(e.proto.json_args).get("script", "")
        yield from ([_unescape(script)] if lang == "en" else map_words(script))
    for e in at.get("vega_lite_chart"):
        yield from (
            [_unescape(e.proto.spec)] if lang == "en" else _titles(json.loads(e.proto.spec))
        )


def _all_texts(at: AppTest, page: str, lang: str) -> Iterator[str]:
    """What the page shows, with every tab of the page opened in turn."""
    yield from _texts(at)
    yield from _map_and_chart_texts(at, lang)
    key, tabs = TABS.get(page, ("", ()))
    for tab in tabs[1:]:
        at.session_state[key] = i18n.t(tab, lang)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        yield from _texts(at)
        yield from _map_and_chart_texts(at, lang)


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_store(tmp_path_factory.mktemp("lang") / "tiny.gpkg", demo=True, seed=0)


@pytest.fixture
def tiny_zones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tiny province's zones with their English names, as data/zones.toml gives real ones."""
    path = tmp_path / "zones.toml"
    path.write_text(
        '[[zones]]\nname = "深度区"\nname_en = "Deep zone"\nmembers = ["530102"]\n'
        '[[zones]]\nname = "边境地区"\nname_en = "Border areas"\nmembers = ["530201"]\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(zones, "ZONES_TOML", path)


@pytest.fixture(scope="module")
def data_values(tiny_store: Path) -> set[str]:
    """The store's place names and its projects' own texts (names, units, references), and the
    language switch, which names both languages on purpose."""
    units = store.read_layer(tiny_store, S.LAYER_ADMIN_UNITS)
    values = set(units[S.NAME].astype(str))
    projects = store.read_layer(tiny_store, S.LAYER_PROJECTS)
    for col in (S.PROJECT_ID, S.PROJECT_NAME, S.RESPONSIBLE_UNIT, S.APPROVAL_REF):
        values.update(projects[col].dropna().astype(str))
    values.update(i18n.t(k) for k in ("language", "lang_zh", "lang_en"))
    return values


def _open(tiny_store: Path, monkeypatch: pytest.MonkeyPatch, page: str, lang: str) -> AppTest:
    monkeypatch.setenv("ONEMAP_STORE", str(tiny_store))
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page(f"views/{page}.py")
    at.query_params["lang"] = lang
    if PAGES[page]:
        at.query_params["region"] = PAGES[page]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chinese_outside(text: str, allowed: set[str]) -> list[str]:
    """The runs of Chinese in ``text`` that are not part of a name or data value."""
    bad = []
    for run in CJK.findall(text):
        core = re.sub(f"^[{CJK_PUNCT}]+|[{CJK_PUNCT}]+$", "", run)
        if core and not any(core in v for v in allowed):
            bad.append(run)
    return bad


def english_outside(text: str, allowed: set[str]) -> list[str]:
    """The English words in ``text`` (outside `code`) that are not a format, unit or data."""
    words = WORD.findall(CODE_SPAN.sub("", text))
    return [w for w in words if w.lower() not in TECHNICAL and not any(w in v for v in allowed)]


def test_the_checks_catch_what_they_should() -> None:
    allowed = {"怒江傈僳族自治州", "计划投资"}  # as data_values gives them
    assert chinese_outside("Open 怒江傈僳族自治州 on the map", allowed) == []
    assert chinese_outside("planned 2.9亿元", allowed) == ["亿元"]
    assert chinese_outside("columns 「计划投资」 (planned)", allowed) == []
    assert english_outside("下载 PNG · `onemap export map`", allowed) == []
    assert english_outside("每个文件 200MB per file", allowed) == ["MB", "per", "file"][1:]
    script = (
        'let aliases = ["\\u540d\\u79f0", "Funds"];\n'
        'div.innerHTML = "<details><summary><b>\\u5b8c\\u5de5\\u7387</b></summary>No data";'
    )
    assert [" ".join(w.split()) for w in map_words(script)] == ["名称", "Funds", "完工率 No data"]
    assert _unescape(script).startswith('let aliases = ["名称"')


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.usefixtures("tiny_zones")
def test_english_page_shows_no_chinese_but_names_and_data(
    tiny_store: Path, data_values: set[str], monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    at = _open(tiny_store, monkeypatch, page, "en")
    found = {
        run: text[:80]
        for text in _all_texts(at, page, "en")
        for run in chinese_outside(text, data_values)
    }
    assert not found, found


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.usefixtures("tiny_zones")
def test_chinese_page_shows_no_english_but_formats_units_and_codes(
    tiny_store: Path, data_values: set[str], monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    at = _open(tiny_store, monkeypatch, page, "zh")
    found = {
        w: text[:80]
        for text in _all_texts(at, page, "zh")
        for w in english_outside(text, data_values)
    }
    assert not found, found
