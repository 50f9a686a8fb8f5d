"""The study team's console: `screening-bot leads|stats|audit|purge|rotate-key` (cli.py), what staff see (views)."""

from .cli import register

__all__ = ["register"]
