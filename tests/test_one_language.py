"""One language at a time (issue #12): every page, opened in English, shows no Chinese except
place names and data values, and opened in Chinese no English word outside formats, units and
codes.

The allow-lists come from the store (unit names, every text value of the projects, zones and
issues), the column map's accepted headers (the names a file must carry) and the language
switch (which names both languages on purpose); only technical tokens (file formats, units,
encodings) are listed by hand. The text read is what a user reads outside the tables' cells:
titles, headings, captions, notices, metric labels and values, every widget's label, help,
placeholder and options, tabs, expanders and the tables' headers. Maps are checked in their
own tests (geo.webmap, layers.export).
"""

from __future__ import annotations

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


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.usefixtures("tiny_zones")
def test_english_page_shows_no_chinese_but_names_and_data(
    tiny_store: Path, data_values: set[str], monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    at = _open(tiny_store, monkeypatch, page, "en")
    found = {run: text[:80] for text in _texts(at) for run in chinese_outside(text, data_values)}
    assert not found, found


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.usefixtures("tiny_zones")
def test_chinese_page_shows_no_english_but_formats_units_and_codes(
    tiny_store: Path, data_values: set[str], monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    at = _open(tiny_store, monkeypatch, page, "zh")
    found = {w: text[:80] for text in _texts(at) for w in english_outside(text, data_values)}
    assert not found, found
