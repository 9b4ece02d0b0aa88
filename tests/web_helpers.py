"""Shared set-up for the web app's tests: a store in a temporary folder, a made-up facilitator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from screening.web import WebConfig, add_user, create_app

FACILITATOR = "Test Facilitator (made up)"
PASSWORD = "correct horse battery staple"

SESSION_FORM = {
    "session.substance": "psilocybin",
    "session.format": "individual",
    "session.setting": "clinic",
    "session.planned_date": "2027-03-01",
    "session.session_hours": "6",
    "session.sober_facilitators": "1",
    "session.preparation_planned": "yes",
    "session.integration_planned": "yes",
    "session.facilitator_trained_and_vetted": "yes",
    "program": "default",
    "language.0": "en",
    "language.1": "en",
}


def make_app(tmp: Path, public_url_override: str | None = None, **config: Any) -> tuple[TestClient, Any]:
    tmp.mkdir(parents=True, exist_ok=True)
    store = str(tmp / "store.sqlite")
    add_user(FACILITATOR, PASSWORD, store)
    app = create_app(WebConfig(store=store, public_url=public_url_override or "http://testserver", **config))
    base = "https://testserver" if public_url_override else "http://testserver"
    return TestClient(app, base_url=base, follow_redirects=False), app


def login(client: TestClient, name: str = FACILITATOR, password: str = PASSWORD) -> str:
    response = client.post("/login", data={"name": name, "password": password})
    assert response.status_code == 303, response.text
    return csrf_of(client)


def csrf_of(client: TestClient, path: str = "/new") -> str:
    page = client.get(path).text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def create(client: TestClient, csrf: str, fmt: str = "individual") -> tuple[str, dict[str, str]]:
    """A new screening: (its id, the link path of each participant)."""
    response = client.post("/new", data={**SESSION_FORM, "session.format": fmt, "csrf": csrf})
    assert response.status_code == 200, response.text
    links = dict(re.findall(r'value="http://testserver(/p/[^"]+)" class="link-box" data-participant="(\w)"', response.text))
    sid = re.search(r'href="/s/([0-9a-f]{32})"', response.text)
    assert sid and links, response.text
    return sid.group(1), {label: path for path, label in links.items()}


def participant_csrf(client: TestClient, link: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(link).text)
    assert match
    return match.group(1)


def answer(client: TestClient, link: str, answers: dict[str, str], action: str = "submit") -> Any:
    """Consent, then post the answers with the button ``action``."""
    token = participant_csrf(client, link)
    client.post(link, data={"csrf": token})
    return client.post(f"{link}/save", data={**answers, "csrf": token, "action": action})
