"""OneMap dashboard entry point: ``streamlit run app.py``.

Navigation only: the pages live in ``views/``; before a page runs, the demo store is built on
the first start, the offline map assets are written and the shared sidebar is drawn. ``run`` is
the page boundary: OneMap's errors show as one line (no server path), any other exception is
logged on the server with its traceback and the page shows a short message. The entry
point is a function (``run``) so tests and benchmarks can run it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from layers.errors import USER_ERRORS, public_message
from layers.present import cards, i18n
from views import assets, auth, loaders, sidebar, state, widgets

ROOT = Path(__file__).resolve().parent
LOG = logging.getLogger("onemap.app")
#: (file under views/, url path and title key, icon); a page whose file is missing is skipped
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
    """Sign-in first; then build the navigation, make sure the store exists, check the view's
    region against the account's scope, draw the sidebar, check again, run the page."""
    st.set_page_config(page_title=i18n.t("app_title"), page_icon="🗺️", layout="wide")
    lang = state.current_lang()
    pages = [
        st.Page(
            str(ROOT / "views" / name),
            title=i18n.t(key, lang),
            icon=icon,
            url_path=key,
            default=key == "overview",
        )
        for name, key, icon in PAGES
        if (ROOT / "views" / name).exists()
    ]
    try:
        scope = auth.gate(lang)
    except USER_ERRORS as e:
        st.error(public_message(e))
        scope = None
    if scope is None:  # the sign-in form (or why there is none): no page, no data
        st.navigation(pages, position="hidden")
        return
    page = st.navigation(pages)
    st.html(cards.PAGE_CSS)  # KPI cards, phone layout, print stylesheet (A4 landscape)
    name = page.url_path or "overview"
    try:
        assets.ensure_offline_assets()
        assets.ensure_store()
        loaders.pin_revision()  # every read of this run: one revision of the store
        auth.before_sidebar(scope, name)
        view = sidebar.sidebar(state.current_view(page=name), scope)
        if not auth.allows(scope, view):
            return
        widgets.demo_banner()
        ignored = state.url_notices()
        if ignored:
            st.warning(i18n.t("url_ignored", lang, params="、".join(ignored)))
        with loaders.read_scope(scope):  # a PostGIS store reads under the scope's region (RLS)
            page.run()
    except USER_ERRORS as e:  # OneMap's own errors: one line, no server path
        st.error(public_message(e))
    except Exception:  # anything else: the traceback goes to the server log, not the page
        LOG.exception("page %s failed", page.url_path or "overview")
        st.error(i18n.t("unexpected_error", lang))


if __name__ == "__main__":
    run()
