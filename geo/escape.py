"""Values from data made safe for HTML, Jinja-rendered scripts and Markdown.

folium renders each element's generated script a second time as a Jinja template (branca's
``MacroElement.render`` wraps the rendered text in a new ``Element``), so any ``{{ … }}``,
``{% … %}`` or ``{# … #}`` inside a value that reaches a map is *evaluated on the server*.
Every value from a file therefore passes through one of these helpers before it meets HTML or a
template:

- ``escape_html``: text for HTML (tooltips, popups, labels, legends, banners). ``< > & " '`` become
  entities, and so do ``{`` and ``}``: the browser shows them unchanged, but no template engine
  sees a delimiter.
- ``inert_json``: JSON for a ``<script>`` that a template engine may read again: ``< > & '`` and
  every ``{`` or ``}`` inside a string become ``\\uXXXX`` escapes (the JSON parses to the same
  values).
- ``escape_markdown``: text for ``st.markdown``-like renderers (Markdown punctuation and HTML).
- ``escape_formulas``: text cells of a table for a spreadsheet (CSV/XLSX downloads, reports): a
  cell a spreadsheet would run as a formula gets a ``'`` prefix.

The module is domain-free and imports nothing of the project.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pandas as pd

__all__ = [
    "TEMPLATE_DELIMITERS",
    "escape_formulas",
    "escape_html",
    "escape_markdown",
    "formula_risk",
    "inert_json",
    "is_inert",
]

#: what starts a Jinja expression, statement or comment
TEMPLATE_DELIMITERS: tuple[str, ...] = ("{{", "{%", "{#")
_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})
#: characters that mean something in a JSON string embedded in a script or a template
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}
_JSON_BRACES = {"{": "\\u007b", "}": "\\u007d"}
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
#: ``<``, ``>`` and ``&`` are not here: they become entities (a backslash before an entity
#: would show the entity's text, e.g. ``\&gt;``)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")


def escape_html(value: Any) -> str:
    """``value`` as HTML text that neither a browser nor a template engine interprets.

    ``None`` is the empty string; anything else is ``str(value)`` with ``& < > " '`` and the
    braces ``{ }`` as character references (shown unchanged by a browser).
    """
    if value is None:
        return ""
    return html.escape(str(value), quote=True).translate(_BRACES)


def _escape_json_string(match: re.Match[str]) -> str:
    text = match.group(0)
    for char, code in (_JSON_ESCAPES | _JSON_BRACES).items():
        text = text.replace(char, code)
    return text


def inert_json(value: Any) -> str:
    """JSON text of ``value`` safe inside ``<script>`` and inert for a template engine.

    Structural braces stay (JSON needs them; an object never opens with ``{{``, ``{%`` or
    ``{#``); inside strings ``< > & '`` and ``{ }`` are ``\\uXXXX`` escapes, so the text holds no
    ``</script>`` and no template delimiter, and ``json.loads`` returns ``value`` again.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return _JSON_STRING.sub(_escape_json_string, text)


def escape_markdown(value: Any) -> str:
    """``value`` as literal text for a Markdown renderer (``st.markdown``, ``st.caption``…).

    Markdown punctuation is backslash-escaped and ``< > &`` become entities, so a name can
    neither format the page, nor link (``[x](javascript:…)``), nor embed an image.
    """
    if value is None:
        return ""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def is_inert(text: str) -> bool:
    """True when ``text`` holds no template delimiter (``{{``, ``{%`` or ``{#``)."""
    return not any(d in text for d in TEMPLATE_DELIMITERS)


#: a spreadsheet runs a cell as a formula when it starts with one of these (full-width too),
#: also after leading blanks, tabs or line breaks; a leading tab or CR alone is refused as well
_FORMULA = re.compile(r"^(?:[ \t\r\n\u3000\u00a0]*[=+\-@\uff1d\uff0b\uff0d\uff20]|[\t\r\n])")


def formula_risk(values: pd.Series) -> pd.Series:
    """True where a text value would run as a spreadsheet formula (``None``/NaN: False)."""
    text = values.astype("string")
    return text.str.contains(_FORMULA).fillna(False).astype(bool)


def escape_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``table`` whose risky text cells and headers get a ``'`` prefix.

    Risky: starting with ``= + - @`` or full-width ``＝ ＋ － ＠``, also after leading spaces,
    tabs, CR or LF, or starting with a tab, CR or LF. Numbers stay numbers; the input is not
    changed. Vectorised per column.
    """
    out = table.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            risky = formula_risk(values).to_numpy(dtype=bool)
            if risky.any():
                prefixed = "'" + values.astype("string").astype(object)
                out[col] = values.astype("object").where(~risky, prefixed)
    out.columns = ["'" + c if isinstance(c, str) and _FORMULA.match(c) else c for c in out.columns]
    return out
