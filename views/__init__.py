"""The dashboard's pages and what they share (UI only; the logic lives in ``layers`` and ``geo``).

Pages (run by ``app.py``'s navigation): ``overview``, ``library``, ``roadmap``, ``village``,
``zones``, ``quality``, ``import_data``, ``export``. Shared by them: ``state`` (the view in the
URL), ``loaders`` (cached store readers), ``assets`` (offline map files, first-start demo store),
``sidebar``, ``widgets`` (page pieces) and ``export_widget`` (the map pages' export button).
"""
