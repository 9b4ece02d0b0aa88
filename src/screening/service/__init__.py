"""The CDS Hooks service (``screening serve``): an optional extra, ``pip install 'screening[service]'``.

Nothing in the core imports this package. ``create_app(config, decisions=...)`` builds the
ASGI app; ``serve()`` runs it with hypercorn.
"""

from __future__ import annotations

from ..errors import ScreeningError

__all__ = ["ServiceSupportMissing", "ServiceConfig", "create_app", "serve"]


class ServiceSupportMissing(ScreeningError, ImportError):
    """FastAPI, hypercorn, PyJWT or httpx is not installed: the service is an optional extra."""

    def __init__(self) -> None:
        super().__init__("the CDS Hooks service needs the optional extra: pip install 'screening[service]'")


try:
    import fastapi  # noqa: F401
    import httpx  # noqa: F401
    import hypercorn  # noqa: F401
    import jwt  # noqa: F401
except ImportError:
    raise ServiceSupportMissing() from None

from .app import ServiceConfig, create_app
from .server import serve
