"""The web app's security properties, each an attack tried through the ASGI test client
(OWASP ASVS level 2: sessions, CSRF, access control between records, data at rest, headers)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import secrets
import stat
from pathlib import Path

import pytest

pytest.importorskip("screening.web", reason="the web extra is not installed: pip install 'screening[web]'")
pytest.importorskip("argon2")

from sqlalchemy import select, update
from web_helpers import FACILITATOR, PASSWORD, SESSION_FORM, answer, create, csrf_of, login, make_app, participant_csrf

from screening.web import add_user
from screening.web import db as web_db
from screening.web.crypto import load_key

MARKER = "Zolpidem-Marker-7731"  # a free-text answer we look for where it must not be
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def site(tmp_path: Path):
    client, app = make_app(tmp_path)
    return client, app, tmp_path


def _duo(client, csrf):
    sid, links = create(client, csrf, "duo")
    answer(
        client, links["A"], {"person.age": "40", "psychiatric.bipolar_1": "yes", "med.0.name": MARKER, "med.0.status": "current"}
    )
    answer(client, links["B"], {"person.age": "38", "med.0.name": "ibuprofen", "med.0.status": "current"})
    return sid, links


def test_every_page_sends_the_security_headers(site):
    client, _, _ = site
    csrf = login(client)
    sid, links = _duo(client, csrf)
    pages = [
        "/login",
        "/",
        "/new",
        f"/s/{sid}",
        f"/s/{sid}/report",
        f"/s/{sid}/decide",
        f"/s/{sid}/audit",
        links["A"],
        "/p/" + "x" * 43,
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, path
        assert "script-src" not in csp and "unsafe-inline" not in csp, path  # no script at all, no inline anything
        assert "http" not in csp, path  # nothing from another origin
        assert response.headers["referrer-policy"] == "no-referrer", path
        assert response.headers["cache-control"] == "no-store", path
        assert "<script" not in response.text.lower(), path


def test_session_cookie_flags_and_renewal_at_login(tmp_path):
    client, _ = make_app(tmp_path / "a")
    client.cookies.set("screening", "planted-by-an-attacker")
    response = client.post("/login", data={"name": FACILITATOR, "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "planted-by-an-attacker" not in cookie
    https, _ = make_app(tmp_path / "b", public_url_override="https://practice.example")
    cookie = https.post("/login", data={"name": FACILITATOR, "password": PASSWORD}).headers["set-cookie"]
    assert cookie.startswith("__Host-screening=") and "Secure" in cookie


def test_csrf_is_checked_on_every_form(site):
    client, app, _ = site
    csrf = login(client)
    sid, links = _duo(client, csrf)
    people = app.state.db.all(select(web_db.participants).where(web_db.participants.c.screening_id == sid))
    pid = people[0]["id"]
    posts = [
        "/new",
        f"/s/{sid}/decide",
        f"/s/{sid}/delete",
        f"/s/{sid}/p/{pid}/link",
        f"/s/{sid}/p/{pid}/revoke",
        f"/s/{sid}/p/{pid}/release",
        "/logout",
    ]
    for path in posts:
        for sent in ({}, {"csrf": "forged"}):
            assert client.post(path, data={**SESSION_FORM, **sent}).status_code == 403, path
    for path in (links["A"], links["A"] + "/save", links["A"] + "/reopen"):
        assert client.post(path, data={"csrf": "forged", "person.age": "1"}).status_code == 403, path
    assert client.get(f"/s/{sid}").status_code == 200  # nothing was deleted, still logged in


def test_a_facilitator_cannot_reach_another_facilitators_screening(site):
    client, app, tmp = site
    csrf = login(client)
    sid, _ = _duo(client, csrf)
    pid = app.state.db.all(select(web_db.participants).where(web_db.participants.c.screening_id == sid))[0]["id"]
    add_user("Other Facilitator (made up)", "another long password", str(tmp / "store.sqlite"))
    client.cookies.clear()
    other_csrf = login(client, "Other Facilitator (made up)", "another long password")
    for path in (f"/s/{sid}", f"/s/{sid}/report", f"/s/{sid}/decide", f"/s/{sid}/audit"):
        response = client.get(path)
        assert response.status_code == 404 and MARKER not in response.text, path
    for path in (
        f"/s/{sid}/decide",
        f"/s/{sid}/delete",
        f"/s/{sid}/p/{pid}/link",
        f"/s/{sid}/p/{pid}/revoke",
        f"/s/{sid}/p/{pid}/release",
    ):
        assert client.post(path, data={"csrf": other_csrf}).status_code == 404, path
    assert sid not in client.get("/").text


def test_a_participant_of_one_screening_cannot_be_managed_through_another(site):
    client, app, _ = site
    csrf = login(client)
    first, _ = _duo(client, csrf)
    second, _ = create(client, csrf)
    pid = app.state.db.all(select(web_db.participants).where(web_db.participants.c.screening_id == first))[0]["id"]
    for action in ("link", "revoke", "release"):
        assert client.post(f"/s/{second}/p/{pid}/{action}", data={"csrf": csrf}).status_code == 404, action


def test_one_partners_link_never_reaches_the_others_answers(site):
    client, _, _ = site
    csrf = login(client)
    sid, links = _duo(client, csrf)
    people = client.get(f"/s/{sid}").text
    for pid in re.findall(r"/p/([0-9a-f]{32})/release", people):
        client.post(f"/s/{sid}/p/{pid}/release", data={"csrf": csrf})
    client.cookies.clear()  # now only B's link
    for path in (links["B"], links["B"] + "/copy", links["B"] + "/answers.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert MARKER not in response.text and "40" not in re.sub(r"<[^>]+>", " ", response.text).split(), (
            path
        )  # A's med, A's age
    assert client.get(links["B"] + "/answers.json").json()["participant_id"] == "B"
    assert MARKER in client.get(links["A"] + "/answers.json").text  # A's own answers are A's to download


def test_guessed_revoked_and_expired_links_get_nothing(site):
    client, app, _ = site
    csrf = login(client)
    sid, links = create(client, csrf, "duo")
    client.cookies.clear()
    for _ in range(200):
        guess = "/p/" + secrets.token_urlsafe(32)
        assert client.get(guess).status_code == 404
    for bad in ("/p/" + links["A"][3:-1], "/p/%00", "/p/' OR 1=1 --", "/p/" + links["A"][3:].upper()):
        assert client.get(bad).status_code == 404, bad
    stored = app.state.db.all(select(web_db.participants.c.token_hash))
    assert all(links[k][3:] not in str(stored) for k in links)  # only hashes are kept
    app.state.db.run(
        update(web_db.participants)
        .values(expires=(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat())
        .where(web_db.participants.c.label == "A")
    )
    assert client.get(links["A"]).status_code == 404
    login(client)
    pid = app.state.db.one(select(web_db.participants.c.id).where(web_db.participants.c.label == "B"))["id"]
    client.post(f"/s/{sid}/p/{pid}/revoke", data={"csrf": csrf_of(client)})
    client.cookies.clear()
    assert client.get(links["B"]).status_code == 404


def test_free_text_is_escaped_everywhere(site):
    client, _, _ = site
    csrf = login(client)
    sid, links = create(client, csrf, "individual")
    answer(client, links["A"], {"med.0.name": XSS, "med.0.dose": XSS, "med.0.status": "current"}, action="save")
    form = client.get(links["A"]).text
    assert XSS not in form and "&lt;script&gt;" in form
    token = participant_csrf(client, links["A"])
    client.post(
        links["A"] + "/save",
        data={"med.0.name": XSS, "med.0.dose": XSS, "med.0.status": "current", "csrf": token, "action": "submit"},
    )
    for path in (f"/s/{sid}", f"/s/{sid}/report", f"/s/{sid}/decide", f"/s/{sid}/audit"):
        text = client.get(path).text
        assert "<script>alert" not in text and "onerror=alert" not in text.replace("onerror=alert(1)&gt;", ""), path


def test_login_attempts_are_rate_limited(site):
    client, _, _ = site
    got = [client.post("/login", data={"name": FACILITATOR, "password": f"wrong {i}"}).status_code for i in range(5)]
    assert got == [401] * 5
    right = client.post("/login", data={"name": FACILITATOR, "password": PASSWORD})
    assert right.status_code == 429 and "set-cookie" not in right.headers


def test_answers_are_encrypted_at_rest_and_never_logged(site, caplog, capfd):
    client, _, tmp = site
    caplog.set_level(logging.DEBUG)
    csrf = login(client)
    sid, _ = _duo(client, csrf)
    client.get(f"/s/{sid}/report")
    _, more = create(client, csrf)
    bad = answer(client, more["A"], {"person.age": MARKER, "med.0.name": MARKER, "med.0.last_taken": MARKER}, action="submit")
    assert bad.status_code == 400 and "whole number" in bad.text
    out, err = capfd.readouterr()
    assert MARKER not in caplog.text + out + err
    for path in tmp.iterdir():
        if path.is_file():
            assert MARKER.encode() not in path.read_bytes(), path.name
    key = tmp / "store.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_key_file_others_can_read_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("SCREENING_WEB_KEY", raising=False)
    key = tmp_path / "web.key"
    load_key(key)
    os.chmod(key, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_key(key)


def test_deleting_a_screening_removes_the_answers_and_keeps_digests(site):
    client, app, _ = site
    csrf = login(client)
    sid, links = _duo(client, csrf)
    assert client.post(f"/s/{sid}/delete", data={"csrf": csrf}).status_code == 303
    assert app.state.db.all(select(web_db.participants).where(web_db.participants.c.screening_id == sid)) == []
    assert client.get(links["A"]).status_code == 404
    trail = client.get(f"/s/{sid}/audit").text
    assert "deleted" in trail and "sha256" in trail and MARKER not in trail


def test_add_user_reads_the_password_twice_and_keeps_only_its_hash(tmp_path):
    import subprocess
    import sys

    store = str(tmp_path / "s.sqlite")
    run = [sys.executable, "-m", "screening", "web", "add-user", "Made Up Facilitator", "--store", store]
    differ = subprocess.run(run, input="a long password 1\na long password 2\n", capture_output=True, text=True)
    assert differ.returncode == 2 and "differ" in differ.stderr
    done = subprocess.run(run, input="a long password 1\na long password 1\n", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert b"a long password 1" not in Path(store).read_bytes()
    row = web_db.WebDb(store).one(select(web_db.users.c.password_hash))
    assert row["password_hash"].startswith("$argon2id$")
