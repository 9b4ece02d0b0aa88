"""The library's version, and the header it stamps on every JSON Schema it publishes.

Kept apart from the package's face so that any layer can name the version without importing
the whole package.
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__", "DIALECT", "SCHEMA_BASE", "schema_id", "with_header"]

__version__ = "0.1.0"

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE = "https://screening.invalid/schemas"  # names, not addresses (.invalid, RFC 2606)


def schema_id(name: str, contract: int | None = None) -> str:
    """The schema's ``$id``: versioned with the contract where it has its own version (the
    report's: ``report/2/``), else with the library, so a change of contract is a new id."""
    return f"{SCHEMA_BASE}/{name}/{contract if contract is not None else __version__}/{name}.schema.json"


def with_header(schema: dict[str, Any], name: str, contract: int | None = None) -> dict[str, Any]:
    """``$schema`` and ``$id`` first, then pydantic's schema."""
    return {"$schema": DIALECT, "$id": schema_id(name, contract), **schema}
