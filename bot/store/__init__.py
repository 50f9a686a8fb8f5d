"""Persistence behind a small interface: the engine never sees SQLite."""

from .conversations import ConversationStore
from .db import open_database

__all__ = ["ConversationStore", "open_database"]
