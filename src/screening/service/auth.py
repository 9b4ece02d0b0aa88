"""Who may call: CDS clients sign a JWT (CDS Hooks 2.0, "Trusting CDS Clients").

A token is accepted only when its issuer is configured as trusted and its signature verifies
with a key from that issuer's JWK Set (fetched over HTTP and cached; the ``jku`` header is not
followed, so a token cannot name its own keys). PyJWT checks ``aud`` (this endpoint's URL),
``exp`` and ``iat``; asymmetric algorithms only; a ``jti`` seen before is a replay. Error
messages say what failed, never the token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import jwt

__all__ = ["AuthError", "Authenticator", "MemoryReplay", "ReplayCache", "ALGORITHMS"]

# CDS Hooks: never "none", never a shared-secret (HMAC) algorithm.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class AuthError(Exception):
    """The request is not authenticated (HTTP 401); the message is safe to return."""


class ReplayCache(Protocol):
    """Where token ids are remembered: False when this issuer's ``jti`` was seen before."""

    def first_use(self, iss: str, jti: str, exp: float) -> bool: ...


class MemoryReplay:
    """Token ids seen by this process, forgotten once their token has expired."""

    def __init__(self, leeway: float = 30):
        self.leeway = leeway
        self._seen: dict[tuple[str, str], float] = {}
        self._next_purge = 0.0

    def first_use(self, iss: str, jti: str, exp: float) -> bool:
        now = time.time()
        if now > self._next_purge:
            self._seen = {k: v for k, v in self._seen.items() if v + self.leeway > now}
            self._next_purge = now + 60
        if (iss, jti) in self._seen:
            return False
        self._seen[(iss, jti)] = exp
        return True


@dataclass
class _KeySet:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched: float = 0.0


class Authenticator:
    """Verifies bearer JWTs against trusted issuers' JWK Sets, with a replay cache of ``jti``.

    ``replay``: where token ids are remembered; this process's memory by default, a file the
    workers share (:class:`~screening.service.state.SqliteState`) when there are several.
    """

    def __init__(
        self,
        issuers: Mapping[str, str],
        client: httpx.AsyncClient,
        *,
        leeway: float = 30,
        max_lifetime: float = 600,
        jwks_ttl: float = 300,
        refetch_after: float = 10,
        replay: ReplayCache | None = None,
    ):
        self.issuers = dict(issuers)
        self.client = client
        self.leeway, self.max_lifetime, self.jwks_ttl, self.refetch_after = leeway, max_lifetime, jwks_ttl, refetch_after
        self._sets: dict[str, _KeySet] = {}
        self.replay = replay or MemoryReplay(leeway)

    async def _fetch(self, iss: str) -> _KeySet:
        try:
            response = await self.client.get(self.issuers[iss], headers={"Accept": "application/json"})
            response.raise_for_status()
            jwks = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError, jwt.PyJWKError, jwt.InvalidKeyError):
            raise AuthError("the issuer's key set could not be fetched") from None
        found = _KeySet({k.key_id: k for k in jwks.keys if k.key_id}, time.monotonic())
        self._sets[iss] = found
        return found

    async def _key(self, iss: str, kid: str) -> jwt.PyJWK:
        now = time.monotonic()
        keys = self._sets.get(iss)
        if keys is None or now - keys.fetched > self.jwks_ttl:
            keys = await self._fetch(iss)
        elif kid not in keys.keys and now - keys.fetched > self.refetch_after:
            keys = await self._fetch(iss)  # the client may have rotated its keys
        if kid not in keys.keys:
            raise AuthError("no key with this kid in the issuer's key set")
        return keys.keys[kid]

    async def verify(self, authorization: str | None, audience: list[str]) -> dict[str, Any]:
        """The verified claims of the request's bearer token, or :class:`AuthError`."""
        if not authorization or not authorization.startswith("Bearer ") or not authorization[7:].strip():
            raise AuthError("a bearer token (a signed JWT) is required")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("the bearer token is not a JWT") from None
        alg, kid, iss = header.get("alg"), header.get("kid"), unverified.get("iss")
        if alg not in ALGORITHMS:
            raise AuthError("the token's algorithm is not accepted (asymmetric signatures only)")
        if str(header.get("typ", "JWT")).upper() != "JWT":
            raise AuthError("the token's typ is not JWT")
        if not isinstance(kid, str) or not kid:
            raise AuthError("the token has no kid")
        if not isinstance(iss, str) or iss not in self.issuers:
            raise AuthError("the token's issuer is not trusted")
        key = await self._key(iss, kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=audience,
                issuer=iss,
                leeway=self.leeway,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("the token's aud is not this endpoint's URL") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("the token's iat is in the future") from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthError(f"the token has no {error.claim} claim") from None
        except jwt.PyJWTError:
            raise AuthError("the token's signature or claims do not verify") from None
        for claim in ("exp", "iat"):  # numbers (RFC 7519 NumericDate); text would fail the arithmetic below
            if isinstance(claims[claim], bool) or not isinstance(claims[claim], (int, float)):
                raise AuthError(f"the token's {claim} must be a number of seconds")
        if not isinstance(claims["jti"], str) or not claims["jti"]:
            raise AuthError("the token's jti must be a string")
        if claims["exp"] - claims["iat"] > self.max_lifetime:
            raise AuthError(f"the token lives longer than {int(self.max_lifetime)} seconds")
        from anyio import to_thread  # the replay cache may be a file the workers share: not on the event loop

        if not await to_thread.run_sync(self.replay.first_use, iss, claims["jti"], claims["exp"]):
            raise AuthError("the token's jti was used before (replay)")
        return claims
