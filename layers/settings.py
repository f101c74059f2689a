"""Settings: defaults read by functions only when their own argument is None.

``store_path()`` resolves the store: an explicit path, else ``$ONEMAP_STORE``, else
``data/onemap.gpkg`` under the project root.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent
DATA_DIR: Path = PROJECT_ROOT / "data"
DEFAULT_STORE: Path = DATA_DIR / "onemap.gpkg"
STORAGE_CRS: str = "EPSG:4326"
#: Albers equal-area for Yunnan (DESIGN §3): areas and distances are computed here.
METRIC_CRS: str = "+proj=aea +lat_1=22 +lat_2=28 +lon_0=101.5 +ellps=GRS80 +units=m +no_defs"
DEFAULT_SEED: int = 2020
EXIT_YEAR_RANGE: tuple[int, int] = (2016, 2020)


def store_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the store path: ``path``, else ``$ONEMAP_STORE``, else ``data/onemap.gpkg``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("ONEMAP_STORE")
    return Path(env) if env else DEFAULT_STORE
