"""Run ``onemap ARGS`` in a subprocess against the tiny province (its zones file given first):
``python tests/writer_process.py ZONES_TOML import --ledger ... --store ...``."""

from __future__ import annotations

import sys
from pathlib import Path

from layers.build import zones
from layers.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    zones.ZONES_TOML = Path(sys.argv[1])
    sys.exit(main.main(sys.argv[2:]))
