"""Thin Prefect tasks: ids in → load → one sangsaeng call → persist → small summaries out."""
