"""Table row ↔ map: a row picked in a unit or project table is outlined on the map (which
zooms to it); a shape or point clicked on the map selects its row in the table.

One selection per page, held in the session under the page's ``key``: the code of the unit
or the id of the project. A pick on the map redraws the table with that row selected and moved
to the top, so it is in sight; a pick in the table keeps the order. The table's widget key
follows its rows, so a row position never points into other data.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from layers.present import fmt

__all__ = [
    "clicked_property",
    "map_picked",
    "pick",
    "picked_on_map",
    "selectable_table",
    "selected",
]

#: session keys (formatted with the page's key): the selection, the row last picked on the
#: map (shown first) and the table's generation (a pick on the map redraws the table)
_SELECTED = "{}_selected"
_TOP = "{}_top"
_GENERATION = "{}_generation"


def selected(key: str) -> str | None:
    """The code (or project id) selected on the page ``key``, or None."""
    value = st.session_state.get(_SELECTED.format(key))
    return None if value is None else str(value)


def clicked_property(value: Any, prop: str) -> str | None:
    """Property ``prop`` of the feature a ``st_folium`` value says was clicked, or None.

    Parameters
    ----------
    value
        The ``st_folium`` return value (``{"last_active_drawing": feature, ...}``).
    prop
        The feature property naming the unit or project (e.g. ``code``).

    Returns
    -------
    str or None
        The property's text; None when nothing (or a feature without it) was clicked.
    """
    if not isinstance(value, dict):
        return None
    feature = value.get("last_active_drawing") or {}
    props = feature.get("properties") if isinstance(feature, dict) else None
    hit = (props or {}).get(prop)
    return None if hit is None or str(hit) == "" else str(hit)


def map_picked(key: str, map_key: str, prop: str) -> None:
    """Widget callback of a ``st_folium`` map: the clicked feature's ``prop`` becomes the
    selection of page ``key`` and the table is redrawn with that row selected.

    Parameters
    ----------
    key
        The page's selection key.
    map_key
        The ``st_folium`` widget key.
    prop
        The feature property naming the unit or project.
    """
    hit = clicked_property(st.session_state.get(map_key), prop)
    if hit is not None:
        pick(key, hit)


def pick(key: str, value: str) -> None:
    """Select ``value`` on page ``key`` as a click on the map does: the table is redrawn with
    that row selected and moved to the top.

    Parameters
    ----------
    key
        The page's selection key.
    value
        The unit code or project id picked.
    """
    st.session_state[_SELECTED.format(key)] = value
    st.session_state[_TOP.format(key)] = value
    gen = _GENERATION.format(key)
    st.session_state[gen] = st.session_state.get(gen, 0) + 1


def picked_on_map(key: str) -> bool:
    """True when the selection of page ``key`` came from the map (not from the table)."""
    value = selected(key)
    return value is not None and st.session_state.get(_TOP.format(key)) == value


def _table_picked(key: str, table_key: str, codes: tuple[str, ...]) -> None:
    """Widget callback of the table: its selected row (or none) becomes the selection."""
    event = st.session_state.get(table_key)
    rows = list(getattr(getattr(event, "selection", None), "rows", None) or [])
    if not rows and isinstance(event, dict):
        rows = list(event.get("selection", {}).get("rows", []))
    hit = codes[rows[0]] if rows and rows[0] < len(codes) else None
    st.session_state[_SELECTED.format(key)] = hit


def selectable_table(
    table: pd.DataFrame, codes: Sequence[str], *, key: str, **kwargs: Any
) -> str | None:
    """``st.dataframe`` of ``table`` whose rows can be picked (one at a time) for the map.

    Parameters
    ----------
    table
        The display table.
    codes
        The unit code (or project id) of each row of ``table``, in its order.
    key
        The page's selection key (shared with ``map_picked``).
    **kwargs
        Further ``st.dataframe`` arguments (``column_config``, ``height`` …); missing values
        show as "—".

    Returns
    -------
    str or None
        The selected code when it is one of ``codes``, else None.
    """
    codes = tuple(str(c) for c in codes)
    if len(codes) != len(table):
        raise ValueError(f"`codes` has {len(codes)} values for {len(table)} rows")
    current = selected(key)
    if current not in codes:
        current = None
    table = table.reset_index(drop=True)
    top = st.session_state.get(_TOP.format(key))
    if top in codes:  # the row last picked on the map comes first
        first = codes.index(top)
        order = [first, *(i for i in range(len(codes)) if i != first)]
        table = table.iloc[order].reset_index(drop=True)
        codes = tuple(codes[i] for i in order)
    rows_id = zlib.crc32("\n".join(codes).encode())
    table_key = f"{key}_table_{st.session_state.get(_GENERATION.format(key), 0)}_{rows_id}"
    default = {"selection": {"rows": [codes.index(current)]}} if current is not None else None
    st.dataframe(
        table,
        key=table_key,
        on_select=functools.partial(_table_picked, key, table_key, codes),
        selection_mode="single-row",
        selection_default=default,
        hide_index=True,
        placeholder=kwargs.pop("placeholder", fmt.MISSING),
        **kwargs,
    )
    return current
