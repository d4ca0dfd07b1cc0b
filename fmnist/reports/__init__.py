"""report.py's machinery: the reports' frame (items, pages, the first page), the words every
answer is written from, and one module per spec with its items in the spec's order."""
