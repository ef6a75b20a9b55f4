"""The web layer (docs/architecture.md): two ASGI apps on Starlette, served by uvicorn.

- the **office app** (`office.py`): the rounds' export files, the upload page, and the
  certificates' pages — behind the Prefect UI's shared password where it is set, on loopback
  where it is not;
- the **public app** (`public.py`): the certificate verification pages only, for buyers on the
  internet (it reads the public K4 facts of the register and nothing else).

`sangsaeng serve` runs both (ports SANGSAENG_EXPORTS_PORT and SANGSAENG_PUBLIC_PORT);
`sangsaeng verify-site` runs the public app alone.
"""
