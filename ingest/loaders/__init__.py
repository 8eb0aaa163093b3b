"""Loaders, one module per family of formats, each registering itself with `registry.register`.

Every module of this package is imported here, so adding a format is adding a module: nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil

from .registry import (
    Loaded,
    Loader,
    LoadOptions,
    Probe,
    kind_of,
    loader,
    loaders,
    looks_like_pdf,
    register,
    sniff,
    supported_suffixes,
)

_HELPERS = {"registry", "safezip", "pages"}

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _HELPERS:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "Loaded",
    "LoadOptions",
    "Loader",
    "Probe",
    "register",
    "loader",
    "loaders",
    "supported_suffixes",
    "sniff",
    "kind_of",
    "looks_like_pdf",
]
