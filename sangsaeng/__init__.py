"""sangsaeng (상생): the round engine of the public-procurement win-win cooperation program."""

__version__ = "0.1.0"
