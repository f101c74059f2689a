"""Quality issues: the ``quality_issues`` frame that audits, imports and reconciliations fill."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers import schema as S

__all__ = ["QUALITY_COLUMNS", "SEVERITIES", "SEVERITY_LABELS_ZH", "empty_issues", "issues_frame"]

SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
SEVERITY_LABELS_ZH: dict[str, str] = {"error": "错误", "warning": "警告", "info": "提示"}

QUALITY_COLUMNS: tuple[str, ...] = (
    S.QI_CHECK,
    S.QI_SEVERITY,
    S.QI_ENTITY,
    S.QI_ENTITY_ID,
    S.QI_CODE,
    S.QI_MESSAGE,
    S.QI_VALUE,
)


def issues_frame(
    check: str,
    severity: str,
    entity: str,
    entity_id: pd.Series | np.ndarray,
    code: pd.Series | np.ndarray,
    message: pd.Series | np.ndarray,
    value: pd.Series | np.ndarray | str = "",
) -> pd.DataFrame:
    """Return quality_issues rows for one check (vectorised; every argument aligned).

    Parameters
    ----------
    check
        Name of the check.
    severity
        ``"error"``, ``"warning"`` or ``"info"``.
    entity
        Kind of record checked (e.g. ``"project"``).
    entity_id
        Id of each flagged record.
    code
        Unit code of each flagged record.
    message
        One message per flagged record.
    value
        The offending value per record, or one string for all.

    Returns
    -------
    pandas.DataFrame
        The ``quality_issues`` columns as strings, one row per record.
    """
    entity_id = np.asarray(entity_id, dtype=object)
    n = len(entity_id)
    value = np.full(n, value, dtype=object) if isinstance(value, str) else np.asarray(value)
    return pd.DataFrame(
        {
            S.QI_CHECK: np.full(n, check, dtype=object),
            S.QI_SEVERITY: np.full(n, severity, dtype=object),
            S.QI_ENTITY: np.full(n, entity, dtype=object),
            S.QI_ENTITY_ID: entity_id,
            S.QI_CODE: np.asarray(code, dtype=object),
            S.QI_MESSAGE: np.asarray(message, dtype=object),
            S.QI_VALUE: value.astype("str").astype(object),
        }
    ).astype("str")


def empty_issues() -> pd.DataFrame:
    """An empty quality_issues frame with the right columns."""
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in QUALITY_COLUMNS})
