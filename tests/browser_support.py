"""Headless Chromium for the tests that look at pages as a person does (Debian's package, which
.ci/run installs: browsers cannot be downloaded here), and the arguments every such test launches it with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip(what: str) -> None:
    """Skip the calling module loudly when there is no Chromium: the run's summary names what was not tested."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"!! {what} NOT RUN: no Chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run does) !!",
            allow_module_level=True,
        )
