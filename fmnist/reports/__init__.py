"""report.py's machinery: the reports' frame (items, pages, the first page, a study's rows read
over seeds) and one module per spec with its items in the spec's order."""
