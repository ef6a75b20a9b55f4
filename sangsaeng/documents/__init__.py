"""Documents the program issues: the certificate PDF (PROGRAM_RULES K4, INTERFACES §5)."""
