"""Fetch what the prefetch did not bring from the CDS client's FHIR server.

Only from a server on the calling client's allow-list (``--fhir-server ISSUER=URL``), with the
``fhirAuthorization`` token; one search per missing patient, run together, under one overall
deadline (``--fhir-timeout``), each answer streamed with a cap on its bytes and asked for
without compression (``Accept-Encoding: identity``), so a server cannot make the service hold a
call, or decompress a bomb. Whatever went wrong, the service says the same thing (the
upstream status is not reflected: it would make the service a port scanner) and answers 412.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from .hooks import responses_in, search_path

__all__ = ["fetch_responses", "MAX_FHIR_BYTES", "UNUSABLE"]

MAX_FHIR_BYTES = 2_000_000
UNUSABLE = "the FHIR server gave no usable search result"


class _Unusable(Exception):
    pass


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    if response.status_code != 200:
        raise _Unusable
    if response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
        raise _Unusable  # asked for identity: a compressed answer is not decompressed here
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _Unusable
    buffer = bytearray()
    async for chunk in response.aiter_raw():  # the bytes on the wire, never decoded
        buffer += chunk
        if len(buffer) > cap:
            raise _Unusable
    return bytes(buffer)


async def _search(
    client: httpx.AsyncClient, server: str, patient: str, token: str | None, questionnaires: tuple[str, ...]
) -> tuple[list[dict[str, Any]], str]:
    headers = {"Accept": "application/fhir+json", "Accept-Encoding": "identity"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        async with client.stream("GET", f"{server}/{search_path(patient, questionnaires)}", headers=headers) as response:
            raw = await _read_capped(response, MAX_FHIR_BYTES)
        import json

        found = responses_in(json.loads(raw), questionnaires[0])
    except (httpx.HTTPError, httpx.InvalidURL, _Unusable, ValueError, RecursionError):
        return [], UNUSABLE
    return found, "the FHIR server holds no completed intake response"


async def fetch_responses(
    client: httpx.AsyncClient,
    server: str,
    patients: list[str],
    token: str | None,
    questionnaires: tuple[str, ...],
    deadline: float = 5.0,
) -> dict[str, tuple[list[dict[str, Any]], str]]:
    """patient -> (the intake responses the FHIR server returned, what to say when none fits).

    ``questionnaires``: the base Questionnaire's URL first, then the program's own; ``deadline``:
    seconds for the whole fetch, however the server trickles its answer."""
    try:
        async with asyncio.timeout(deadline):
            results = await asyncio.gather(*(_search(client, server, p, token, questionnaires) for p in patients))
    except TimeoutError:
        return {p: ([], "the FHIR server did not answer in time") for p in patients}
    return dict(zip(patients, results))
