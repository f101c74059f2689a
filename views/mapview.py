"""The map component with its rendering shared across sessions.

``streamlit_folium.st_folium`` renders a folium map on every script run: folium's Jinja
templates, the GeoJSON encoding, and a regex hash over the whole script (0.1–0.2 s of CPU at
the province level, the largest part of a filter change). What it sends to the browser is a
handful of strings and numbers. :func:`component_args` computes them once (as ``st_folium``
does, with its own helper functions), :func:`cached_args` keeps them per caller-given key in a
bounded process-wide cache (so a second session asking the same map pays nothing for folium),
and :func:`show` hands them to the component and reports clicks as ``st_folium`` does: the
component's value lands in ``st.session_state[key]`` before ``on_change`` runs.

``component_args`` and ``show`` use helpers of ``streamlit_folium`` that are not public API: the
version is pinned in pyproject.toml, their presence is checked at import (a clear ImportError
names what is missing) and ``tests/test_mapview.py`` asserts that the component receives exactly
the arguments ``st_folium`` gives it for the same map.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import folium
import streamlit as st
import streamlit_folium as stf

__all__ = [
    "MapArgs",
    "cached_args",
    "component_args",
    "show",
]

#: the internals of ``streamlit_folium`` that :func:`component_args` and :func:`show` use
_INTERNALS = (
    "_component_func",
    "_get_header",
    "_get_html",
    "_get_map_string",
    "generate_js_hash",
    "get_full_id",
)
_MISSING = [name for name in _INTERNALS if not callable(getattr(stf, name, None))]
if _MISSING:  # pragma: no cover - a streamlit-folium outside the pinned versions
    raise ImportError(
        f"streamlit_folium {getattr(stf, '__version__', '?')} lacks {_MISSING}: install the "
        "version pinned in pyproject.toml (views/mapview.py renders maps with them)"
    )
#: maps kept per process (a province map is ~0.3 MB of strings; a village's with its points
#: a few MB at most) and how long an entry lives (s)
MAX_ENTRIES = 96
TTL_S = 3600.0


@dataclasses.dataclass(frozen=True)
class MapArgs:
    """What the ``st_folium`` component receives for one map (all but the per-call options)."""

    script: str
    header: str
    html: str
    map_id: str
    hash_key: str
    bounds: dict[str, dict[str, float | None]]
    zoom: Any
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    #: whatever else the caller keeps beside the map (e.g. how many points it draws)
    extra: Any = None


def _bounds_dict(bounds: list[list[float | None]]) -> dict[str, dict[str, float | None]]:
    southwest, northeast = bounds
    return {
        "_southWest": {"lat": southwest[0], "lng": southwest[1]},
        "_northEast": {"lat": northeast[0], "lng": northeast[1]},
    }


def _links(m: folium.Map) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """CSS and JS links of every element (``st_folium``'s walk; no branca colormaps here)."""
    css: list[str] = []
    js: list[str] = []
    todo: list[Any] = [m]
    while todo:
        elem = todo.pop(0)
        css.extend(href for _, href in getattr(elem, "default_css", []))
        js.extend(src for _, src in getattr(elem, "default_js", []))
        todo[0:0] = list(getattr(elem, "_children", {}).values())
    return tuple(dict.fromkeys(css)), tuple(dict.fromkeys(js))


def component_args(
    m: folium.Map, *, key: str | None, return_on_hover: bool = False, extra: Any = None
) -> MapArgs:
    """Render ``m`` once into what the component needs (``st_folium`` with ``render=False``).

    Parameters
    ----------
    m
        The map (rendered here: do not reuse it).
    key
        The widget key the map will be shown under (part of the component's identity).
    return_on_hover
        As ``st_folium``'s.
    extra
        Kept beside the map's arguments (``MapArgs.extra``).

    Returns
    -------
    MapArgs
    """
    if any(isinstance(e, stf.branca.colormap.ColorMap) for e in m._children.values()):
        raise ValueError("maps with a branca colormap need st_folium's d3 links: not supported")
    m.render()
    html = stf._get_html(m)  # before _get_map_string: it alters the folium structure
    header = stf._get_header(m)
    script = stf._get_map_string(m)
    map_id = stf.get_full_id(m)
    try:
        bounds = m.get_bounds()
    except AttributeError:
        bounds = [[None, None], [None, None]]
    css, js = _links(m)
    return MapArgs(
        script=script,
        header=header,
        html=html,
        map_id=map_id,
        hash_key=stf.generate_js_hash(script, key, return_on_hover),
        bounds=_bounds_dict(bounds),
        zoom=m.options.get("zoom") if hasattr(m, "options") else {},
        css_links=css,
        js_links=js,
        extra=extra,
    )


@st.cache_resource(show_spinner=False, max_entries=MAX_ENTRIES, ttl=TTL_S)
def _cached(
    cache_key: Hashable, _build: Callable[[], tuple[folium.Map, Any]], widget_key: str | None
) -> MapArgs:
    m, extra = _build()
    return component_args(m, key=widget_key, extra=extra)


def cached_args(
    cache_key: Hashable, build: Callable[[], tuple[folium.Map, Any]], *, key: str | None
) -> MapArgs:
    """The map's component arguments from the process-wide cache, built on a miss.

    Parameters
    ----------
    cache_key
        Everything the map depends on (store and its revision, the reader's scope, the view,
        selection, language, basemap ...): two calls with equal keys get the same map.
    build
        Makes the map and its ``extra`` on a miss: ``(folium.Map, extra)``.
    key
        The widget key it is shown under.

    Returns
    -------
    MapArgs
        Shared between sessions: read-only.
    """
    return _cached(cache_key, build, key)


_RETURNED = ("last_active_drawing",)
#: every value the component reports (``st_folium``'s defaults: None but bounds and zoom)
_VALUES = (
    "last_clicked",
    "last_object_clicked",
    "last_object_clicked_count",
    "last_object_clicked_tooltip",
    "last_object_clicked_popup",
    "all_drawings",
    "last_active_drawing",
    "bounds",
    "zoom",
    "last_circle_radius",
    "last_circle_polygon",
    "selected_layers",
    "selected_tags",
    "last_geocoder_result",
)


def show(
    args: MapArgs,
    *,
    key: str,
    height: int,
    returned_objects: Iterable[str] = _RETURNED,
    on_change: Callable[[], None] | None = None,
) -> Any:
    """Show the map at the container's width, as ``st_folium(..., use_container_width=True)``.

    Parameters
    ----------
    args
        From :func:`cached_args` / :func:`component_args`.
    key
        Where the component's value is kept (``st.session_state[key]``, as ``st_folium``).
    height
        Height in px.
    returned_objects
        Which of the map's values the component reports (a change reruns the script).
    on_change
        Called after the value changed (e.g. a click: drill down).

    Returns
    -------
    dict
        The component's value (``{"last_active_drawing": feature, ...}``).
    """
    returned = list(returned_objects)
    values = {**dict.fromkeys(_VALUES), "bounds": args.bounds, "zoom": args.zoom}
    defaults = {k: v for k, v in values.items() if k in returned}

    def _changed() -> None:
        st.session_state[key] = st.session_state.get(args.hash_key, {})
        if on_change is not None:
            on_change()

    return stf._component_func(
        script=args.script,
        header=args.header,
        html=args.html,
        id=args.map_id,
        key=args.hash_key,
        height=height,
        width=None,
        returned_objects=returned,
        default=defaults,
        zoom=None,
        center=None,
        feature_group=None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(args.css_links),
        js_links=list(args.js_links),
        on_change=_changed,
        wrap_longitude=False,
    )
