"""Pure program rules (PROGRAM_RULES.md): no I/O, no clock, no Prefect.

Everything here takes `now`, the rules' settings and plain data as arguments.
"""
