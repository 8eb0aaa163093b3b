"""The team server: an HTTP API over the assistant, OpenAI-compatible, with API keys scoped to collections."""

from .app import create_app
from .keys import ALL, Key, KeyStore
from .service import Service

__all__ = [
    # the app
    "create_app",
    "Service",
    # access
    "ALL",
    "Key",
    "KeyStore",
]
