"""Mail fixtures live in tests/conftest.py (`smtp`: a scripted SMTP server on loopback)."""
