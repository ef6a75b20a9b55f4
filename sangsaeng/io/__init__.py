"""Reading and writing files the program office exchanges (INTERFACES §2, §4)."""
