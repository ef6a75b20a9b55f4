"""Round steps over the database: load → call the domain → persist (no Prefect here)."""
