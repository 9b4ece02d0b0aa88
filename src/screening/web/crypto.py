"""The key that encrypts answers at rest: kept outside the database, in an environment
variable or a key file readable by its owner alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["KEY_ENV", "Sealer", "load_key"]

KEY_ENV = "SCREENING_WEB_KEY"


def load_key(path: str | Path) -> bytes:
    """The key from $SCREENING_WEB_KEY, else the key file (created with mode 0600 on first run)."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return from_env.encode("ascii")
    key_file = Path(path)
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise PermissionError(f"{key_file}: the answers' key must be readable by its owner only (chmod 600); it is {oct(mode)}")
    return key_file.read_bytes().strip()


class Sealer:
    """Encrypts and decrypts answers (Fernet: AES-128-CBC with HMAC-SHA256)."""

    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("stored answers cannot be decrypted with this key") from None
