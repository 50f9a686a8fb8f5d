"""Persistence behind a small interface: the engine never sees SQLite."""

from .conversations import ConversationStore
from .db import StoreError, open_database

__all__ = ["ConversationStore", "StoreError", "open_database"]
