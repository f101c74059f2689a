"""What the dashboard and the exports show: ``view`` (the numbers of a view), ``query`` (project
filters and summaries), ``fmt`` (万/亿/% numbers), ``charts`` and ``exits`` (figures) and
``i18n`` (the one catalogue of every Chinese/English word)."""
