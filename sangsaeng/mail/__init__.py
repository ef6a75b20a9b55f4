"""Notices: rendering, the outbox, composing messages and SMTP delivery (ARCHITECTURE)."""
