"""OneMap dashboard entry point: ``streamlit run app.py``.

Navigation, the demo store on first start, offline map assets and the shared sidebar; no logic
(pages call into ``layers/`` and ``geo/``). The entry point is a function so tests can run it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from layers.errors import OneMapError
from views import common

ROOT = Path(__file__).resolve().parent
#: (file under views/, url path and text key, icon); a page whose file is missing is skipped
PAGES: tuple[tuple[str, str, str], ...] = (
    ("overview.py", "overview", ":material/map:"),
    ("library.py", "library", ":material/inventory_2:"),
    ("roadmap.py", "roadmap", ":material/route:"),
    ("village.py", "village", ":material/home_work:"),
    ("zones.py", "zones", ":material/flag:"),
    ("quality.py", "quality", ":material/rule:"),
    ("import_data.py", "import_data", ":material/upload_file:"),
    ("export.py", "export", ":material/download:"),
)


def run() -> None:
    """Build the navigation, make sure the store exists, draw the sidebar, run the page."""
    st.set_page_config(page_title="脱贫攻坚精准指挥“一张图”", page_icon="🗺️", layout="wide")
    lang = common.current_lang()
    pages = [
        st.Page(
            str(ROOT / "views" / name),
            title=common.t(key, lang),
            icon=icon,
            url_path=key,
            default=key == "overview",
        )
        for name, key, icon in PAGES
        if (ROOT / "views" / name).exists()
    ]
    page = st.navigation(pages)
    try:
        common.ensure_offline_assets()
        if not common.ensure_store():
            st.stop()
        common.sidebar(common.current_view(page=page.url_path or "overview", draw=False))
        common.demo_banner()
        page.run()
    except OneMapError as e:
        st.error(str(e))


if __name__ == "__main__":
    run()
