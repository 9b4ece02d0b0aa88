"""What the two servers of the package share, the CDS Hooks service and the practice's web app:
the bounds that keep one slow peer from holding either.

A layer of its own, just below ``service | web`` (they are siblings and may not import each other)
and above everything else; it imports none of the library, only anyio and, for the server's
settings, hypercorn (in both extras). The core never imports it.
"""

from __future__ import annotations

__all__ = ["BodyDeadline", "HEADER_TIMEOUT", "server_config"]

from .limits import BodyDeadline
from .server import HEADER_TIMEOUT, server_config
