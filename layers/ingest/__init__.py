"""Import office files into the store's inputs, with a validation report.

Modules: ``excel`` (spreadsheets → cell grids), ``dates``, ``columns`` (the column map),
``cells`` (cell values), ``header`` (header and data rows), ``report`` (the validation report),
``ledger`` and ``project_rows`` (project ledgers), ``registry`` (poverty registries),
``boundaries`` (boundary files), ``template`` (the office ledger workbook), ``merge``,
``prepare`` (``prepare_import``: read + validate + merge) and ``reconcile`` (账账相符).
"""
