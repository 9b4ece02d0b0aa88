"""Fetch what the prefetch did not bring from the CDS client's FHIR server.

Only when the request carries ``fhirServer`` (and then the ``fhirAuthorization`` token, if
any); with a short timeout, one search per missing patient, run together. A failure or a miss
is reported as "missing", so the service answers 412 naming the resource instead of guessing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from .hooks import responses_in, search_path

__all__ = ["fetch_responses"]

MAX_FHIR_BYTES = 2_000_000


async def _search(
    client: httpx.AsyncClient, server: str, patient: str, token: str | None, questionnaires: tuple[str, ...]
) -> tuple[list[dict[str, Any]], str]:
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = await client.get(f"{server}/{search_path(patient, questionnaires)}", headers=headers)
    except httpx.TimeoutException:
        return [], "the FHIR server did not answer in time"
    except httpx.HTTPError:
        return [], "the FHIR server could not be reached"
    if response.status_code != 200:
        return [], f"the FHIR server answered HTTP {response.status_code}"
    if len(response.content) > MAX_FHIR_BYTES:
        return [], "the FHIR server's answer was too large"
    try:
        found = responses_in(response.json(), questionnaires[0])
    except ValueError:
        return [], "the FHIR server's answer was not JSON"
    return found, "the FHIR server holds no completed intake response"


async def fetch_responses(
    client: httpx.AsyncClient, server: str, patients: list[str], token: str | None, questionnaires: tuple[str, ...]
) -> dict[str, tuple[list[dict[str, Any]], str]]:
    """patient -> (the intake responses the FHIR server returned, what to say when none fits).

    ``questionnaires``: the base Questionnaire's URL first, then the program's own."""
    results = await asyncio.gather(*(_search(client, server, p, token, questionnaires) for p in patients))
    return dict(zip(patients, results))
