"""The study team's commands: `screening-bot leads|stats|audit|backup|restore|purge|rotate-key` (cli.py), and
what staff see (views.py). Who runs a command is the operating system's account (`staff_identity`)."""

from .cli import register, signed_name, staff_identity

__all__ = ["register", "signed_name", "staff_identity"]
