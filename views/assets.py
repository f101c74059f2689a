"""Start-up of the dashboard: Leaflet's files served locally (offline maps) and the store, built
as the generated demo on the first start when it does not exist yet."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from geo import webmap
from layers import settings, store
from layers.build import pipeline
from layers.present import i18n
from views import loaders, state

__all__ = ["STATIC_DIR", "asset_base_url", "ensure_offline_assets", "ensure_store"]

#: where Leaflet's scripts and styles are written (served by Streamlit's static serving)
STATIC_DIR: Path = settings.PROJECT_ROOT / "static" / "leaflet"


@st.cache_resource(show_spinner=False)
def _write_assets(static_dir: str) -> tuple[str, ...]:
    return tuple(str(p) for p in webmap.write_offline_assets(static_dir))


def ensure_offline_assets() -> None:
    """Write Leaflet's scripts and styles under ``static/leaflet/`` once per server."""
    _write_assets(str(STATIC_DIR))


def asset_base_url() -> str | None:
    """URL prefix of the local Leaflet assets, or None when static serving is off.

    None makes ``geo.webmap`` inline the assets as data: URLs (still offline, but heavier).
    """
    if not st.get_option("server.enableStaticServing"):
        return None
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/app/static/leaflet/" if base else "/app/static/leaflet/"


def ensure_store() -> None:
    """Make sure the store exists; build the demo store with a progress bar if it does not.

    The demo scale is ``$ONEMAP_DEMO_SCALE`` (default 1).
    """
    path = loaders.store_file()
    if loaders.store_mtime(path) >= 0:  # a file, or a PostGIS schema holding a store
        return
    lang = state.current_lang()
    building = i18n.t("building_demo", lang)
    notice = st.empty()  # the notice and progress bar go away once the store is built
    box = notice.container()
    box.info(f"{i18n.t('store_missing', lang)}`{store.shown(path)}`")
    scale = float(os.environ.get("ONEMAP_DEMO_SCALE", "1"))
    stages = pipeline.DEMO_RUN_STAGES
    bar = box.progress(0.0, text=building)

    def report(stage: str) -> None:
        i = stages.index(stage) if stage in stages else 0
        text = i18n.t(
            "building_stage", lang, building=building, stage=i18n.stage_label(stage, lang)
        )
        bar.progress(i / len(stages), text=text)

    pipeline.run_demo(path, seed=settings.DEFAULT_SEED, scale=scale, progress=report)
    notice.empty()
    st.cache_resource.clear()
    st.cache_data.clear()
