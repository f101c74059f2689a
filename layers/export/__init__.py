"""Briefing exports, shared by ``onemap export`` and the 导出 page: ``snapshot`` (the request,
the store snapshot, the view's numbers and file names), ``maps`` (static PNG/PDF/SVG maps),
``smallprint`` (filter, source and date lines), ``pack`` (cover + one page per region, PDF/PPTX)
with ``figures`` (its KPI and laggard tables and exit timeline) and ``slides`` (the editable 16:9
PPTX deck: native tables and chart), ``tables`` (display tables, XLSX/CSV) with
``xlsx`` (the fast sheet writer), ``layers`` (GeoPackage/GeoJSON/Shapefile), ``web`` (offline
HTML map) and ``raster`` (metric grid, terrain, hillshade)."""
