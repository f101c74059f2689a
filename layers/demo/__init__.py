"""The demo province: ``boundaries`` (cnmaps + county facts), ``units`` (townships, villages),
``calibration`` (published totals, assumptions, mixes), ``frames`` (sampling frames and shared
draws), ``registry`` and ``ledger`` (the generators), ``generate`` (chains them)."""
