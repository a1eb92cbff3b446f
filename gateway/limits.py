"""Limits of the HTTP API, in a module light enough for the preparation workers to import."""

from __future__ import annotations

#: Most records one bulk request may carry.
MAX_BULK = 10_000
#: A client's record id: what it re-posts to get the same answer.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
