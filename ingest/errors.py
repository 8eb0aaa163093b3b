"""The few exception types of the assistant; each message says how to fix the problem."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: the CLIs and the app show these messages to the user as they are."""


class DocumentError(AssistantError):
    """A file could not be read (broken, encrypted, empty, unsupported). Names the file and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class IndexStoreError(AssistantError):
    """The index is missing, corrupt, locked, or was built with other settings."""


class ModelError(AssistantError):
    """A model could not be found, assembled, verified or loaded."""


__all__ = ["AssistantError", "DocumentError", "IndexStoreError", "ModelError"]
