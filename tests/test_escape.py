"""Values from data never evaluated, never run: geo.escape and every map/HTML export using it.

folium renders a map's script a second time through Jinja; a name such as ``{{ 7*191 }}上帕镇``
used to come out as ``1337上帕镇`` and ``<img onerror>`` ran in tooltips and popups.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geo import webmap
from geo.escape import escape_formulas, escape_html, escape_markdown, inert_json, is_inert
from layers import schema as S
from layers import store
from layers.build import pipeline
from layers.export import maps, snapshot, web
from layers.export.snapshot import MapRequest
from tests.conftest import (
    COUNTY_A,
    PREF_A,
    make_projects,
    make_registry,
    make_units,
    make_zone_members,
)

SIDE_EFFECT = "{{ cycler.__init__.__globals__.os.system('touch %s') }}"
PAYLOADS = (
    "{{ 7*191 }}上帕镇",
    "{% for i in range(3) %}循环{% endfor %}",
    "{# comment #}注释村",
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    "javascript:window.__pwned=1",
    "\"'><svg onload=window.__pwned=1>",
    "{{ 7*191 ",  # malformed: used to raise TemplateSyntaxError
)


def _jinja_renders_verbatim(text: str) -> bool:
    """What folium's second pass does to ``text``: it must come out unchanged."""

    def lines(s: str) -> str:  # Jinja writes newlines as "\n": not an evaluation
        return s.replace("\r\n", "\n").replace("\r", "\n")

    return lines(jinja2.Template(text, keep_trailing_newline=True).render()) == lines(text)


# ------------------------------------------------------------------------------ helpers
@given(st.text())
def test_escape_html_is_inert_and_reversible(value: str) -> None:
    out = escape_html(value)
    assert not set(out) & set("<>\"'{}")
    assert is_inert(out) and _jinja_renders_verbatim(out)
    assert html.unescape(out) == value


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
)
def test_inert_json_round_trips_and_is_inert(value: object) -> None:
    out = inert_json(value)
    assert json.loads(out) == value
    assert is_inert(out) and "</" not in out and "<" not in out
    assert _jinja_renders_verbatim(out)


@given(st.text())
def test_escape_markdown_leaves_no_markup(value: str) -> None:
    out = escape_markdown(value)
    assert "<" not in out and ">" not in out
    assert not re.search(r"(?<!\\)[\[\]()`*_]", out)


def test_escape_markdown_entities_are_not_backslashed() -> None:
    # "\&gt;" would show as the text "&gt;" in the page: the entity must stand alone
    out = escape_markdown("\"'><svg onload=x>福贡县 a>b")
    assert out == "\"'&gt;&lt;svg onload=x&gt;福贡县 a&gt;b"
    assert "\\&" not in escape_markdown("<&>" * 3)


def test_escape_html_of_none_and_numbers() -> None:
    assert escape_html(None) == ""
    assert escape_html(12.5) == "12.5"
    assert escape_html("{{ 7*191 }}") == "&#123;&#123; 7*191 &#125;&#125;"


# ------------------------------------------------------------------------------ maps
def _payload_layer() -> gpd.GeoDataFrame:
    n = len(PAYLOADS)
    return gpd.GeoDataFrame(
        {"name": list(PAYLOADS), "code": [f"53{i:04d}" for i in range(n)]},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)],
        crs="EPSG:4326",
    )


def _assert_safe(page: str) -> None:
    assert "1337上帕镇" not in page and "1337\\u4e0a" not in page and "循环循环" not in page
    assert "<img src=x" not in page and "<script>window" not in page
    assert "<svg onload" not in page


def _shown(page: str) -> str:
    """The text a browser shows: JSON ``\\uXXXX`` escapes decoded, then HTML references."""
    decoded = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)
    return html.unescape(decoded)


def test_every_map_builder_keeps_payloads_as_text(tmp_path: Path) -> None:
    touched = tmp_path / "pwned"
    layer = _payload_layer()
    layer.loc[0, "name"] = SIDE_EFFECT % touched
    m = webmap.make_map([0, 0, len(PAYLOADS), 1], asset_base_url="/static/")
    webmap.choropleth_layer(
        layer, fill_colors=["#ffffff"] * len(layer), tooltip={"name": "名称"}, properties=["code"]
    ).add_to(m)
    centres = layer.set_geometry(shapely.centroid(layer.geometry.to_numpy()))
    webmap.points_layer(
        centres, colors=["#000000"] * len(layer), popup={"name": "项目"}, asset_base_url="/s/"
    ).add_to(m)
    webmap.labels_layer(centres, label_column="name").add_to(m)
    webmap.add_legend(m, title=PAYLOADS[0], labels=list(PAYLOADS), colors=["#fff"] * len(PAYLOADS))
    page = webmap.map_html(m)  # a malformed `{{` no longer raises TemplateSyntaxError
    _assert_safe(page)
    assert not touched.exists()
    # the names are there, escaped: the browser shows them verbatim
    assert "{{ 7*191 }}上帕镇" in _shown(page) and "{% for i in range(3) %}循环" in _shown(page)
    assert SIDE_EFFECT % touched in _shown(page)


def _payload_store(path: Path) -> Path:
    units, registry, projects = make_units(), make_registry(), make_projects()
    units.loc[units[S.CODE] == COUNTY_A, S.NAME] = PAYLOADS[0]
    units.loc[units[S.LEVEL] == "county", S.NAME] = [
        PAYLOADS[i % len(PAYLOADS)] for i in range(int(units[S.LEVEL].eq("county").sum()))
    ]
    projects[S.PROJECT_NAME] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(projects))]
    tables = pipeline.build_layers(units, registry, projects, make_zone_members())
    tables.update({S.LAYER_ADMIN_UNITS: units, S.LAYER_REGISTRY: registry})
    return store.write_store(path, tables, {"built_at": "2025-12-31T08:00:00+00:00"})


def test_html_export_keeps_payload_names_verbatim(tmp_path: Path) -> None:
    path = _payload_store(tmp_path / "payload.gpkg")
    snap = snapshot.read_snapshot(path, levels=S.LEVELS, with_projects=True)
    page = web.map_html(maps.prepare_map(snap, MapRequest(region=PREF_A)))
    _assert_safe(page)
    shown = _shown(page)
    assert "{{ 7*191 }}上帕镇" in shown and "{% for i in range(3) %}循环{% endfor %}" in shown
    assert np.all([is_inert(s) for s in re.findall(r'"name": "([^"]*)"', page)])


# ------------------------------------------------------------------------------ spreadsheets
@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        "+1",
        "-2",
        "@SUM(A1)",
        " =1+1",
        "  +1",
        "\t=1",
        "\r=1",
        "\n=1",
        "\t",
        "\rx",
        "\nx",
        "＝1+1",
        "＋1",
        "－2",
        "＠SUM(A1)",
        ' ＝HYPERLINK("x")',
        "\u3000=1",
    ],
)
def test_escape_formulas_prefixes_every_formula_start(cell: str) -> None:
    out = escape_formulas(pd.DataFrame({"名称": [cell, "普通村"], "n": [-1, 2]}))
    assert out["名称"].tolist() == ["'" + cell, "普通村"]
    assert out["n"].tolist() == [-1, 2]


@given(st.text(min_size=1))
def test_escaped_cells_never_start_a_formula(value: str) -> None:
    out = escape_formulas(pd.DataFrame({"c": [value]}))["c"].iloc[0]
    start = value.lstrip(" \t\r\n\u3000\u00a0")[:1]
    if start in set("=+-@＝＋－＠") or value[0] in "\t\r\n":
        assert out == "'" + value
    else:
        assert out == value


def test_headers_are_escaped_and_input_untouched() -> None:
    df = pd.DataFrame({" =x": ["=1"], "名称": [None]})
    out = escape_formulas(df)
    assert list(out.columns) == ["' =x", "名称"] and out["' =x"].iloc[0] == "'=1"
    assert pd.isna(out["名称"].iloc[0]) and df[" =x"].iloc[0] == "=1"
