"""``screening web``: a private intake form per participant and a review page for the facilitator.

An optional extra (``pip install 'screening[web]'``); nothing in the core imports it.
"""

from __future__ import annotations

__all__ = ["WebConfig", "create_app", "add_user"]

from .app import WebConfig, create_app
from .db import add_user
