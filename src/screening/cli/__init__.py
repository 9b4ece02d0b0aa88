"""The command line: ``screening`` (``commands``) and ``screening audit`` (``audit``)."""

from .commands import main

__all__ = ["main"]
