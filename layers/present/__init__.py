"""What the dashboard and the exports show: ``view`` (the numbers of a view), ``query`` (project
filters and summaries), ``fmt`` (万/亿/% numbers), ``cards`` (the KPI cards, the registry note,
the print and phone stylesheet), ``charts`` and ``exits`` (figures) and ``i18n`` (the one
catalogue of every Chinese/English word)."""
