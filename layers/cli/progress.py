"""Progress bars for the long commands (tqdm, off when stderr is not a terminal)."""

from __future__ import annotations

from collections.abc import Sequence

from tqdm import tqdm

__all__ = ["StageBar"]


class StageBar:
    """A tqdm bar over named stages (auto-disabled when stderr is not a terminal)."""

    def __init__(self, stages: Sequence[str], desc: str) -> None:
        self._bar = tqdm(total=len(stages), desc=desc, unit="step", disable=None, leave=False)
        self._started = False

    def __call__(self, stage: str) -> None:
        if self._started:
            self._bar.update(1)
        self._started = True
        self._bar.set_postfix_str(stage)

    def close(self) -> None:
        if self._started:
            self._bar.update(1)
        self._bar.close()
