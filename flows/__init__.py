"""Prefect flows: one per round step, and the parent `round` flow."""
