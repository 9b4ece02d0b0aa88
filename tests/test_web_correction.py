"""A correction after submitting: the participant reopens their answers with their link until
the facilitator has released their copy or decided on a finding about them; resubmitting
re-screens, and the facilitator's screening page shows what changed. The partner sees nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("screening.web", reason="the web extra is not installed: pip install 'screening[web]'")
pytest.importorskip("argon2")

from web_helpers import answer, create, login, make_app, participant_csrf

FIRST = "Zolpidem-Marker-7731"
CORRECTED = "Quetiapine-Correction-4402"  # A's corrected free text: must never reach B


def _findings(client, sid: str) -> list[tuple[int, str, str]]:
    """(form index, rule id, participant) of each finding on the decide page."""
    page = client.get(f"/s/{sid}/decide").text
    found = re.findall(r'<span class="hint">\(([^,]+), participant (\w+),', page)
    return [(i, rule, who) for i, (rule, who) in enumerate(found)]


def _decide(client, csrf: str, sid: str, who: str) -> str:
    index, rule, _ = next(f for f in _findings(client, sid) if f[2] == who)
    response = client.post(f"/s/{sid}/decide", data={"csrf": csrf, f"outcome.{index}": "noted"})
    assert response.status_code == 200, response.text
    return rule


def _release(client, csrf: str, sid: str, label: str) -> None:
    page = client.get(f"/s/{sid}").text
    pid = re.search(rf'<th scope="row">{label}</th>.*?/p/([0-9a-f]{{32}})/release', page, re.DOTALL)
    assert pid, page
    assert client.post(f"/s/{sid}/p/{pid.group(1)}/release", data={"csrf": csrf}).status_code == 303


def _reopen(client, link: str, csrf: str | None = None):
    """``csrf``: one from a page read earlier (a reopen button left open in a tab)."""
    return client.post(link + "/reopen", data={"csrf": csrf or participant_csrf(client, link)})


def _duo(tmp: Path):
    client, _ = make_app(tmp)
    csrf = login(client)
    sid, links = create(client, csrf, "duo")
    answer(
        client, links["A"], {"person.age": "40", "psychiatric.bipolar_1": "yes", "med.0.name": FIRST, "med.0.status": "current"}
    )
    answer(
        client,
        links["B"],
        {"person.age": "38", "psychiatric.bipolar_1": "yes", "med.0.name": "ibuprofen", "med.0.status": "current"},
    )
    return client, csrf, sid, links


def test_a_correction_rescreens_and_the_facilitator_sees_what_changed(tmp_path):
    client, csrf, sid, links = _duo(tmp_path)
    assert "What changed" not in client.get(f"/s/{sid}").text  # one report so far
    b_rule = _decide(client, csrf, sid, "B")  # a decision on B's finding: it should be carried forward
    a_rules = {rule for _, rule, who in _findings(client, sid) if who == "A"}
    assert a_rules
    _release(client, csrf, sid, "B")
    copy_before = client.get(links["B"] + "/copy").text

    assert "Correct my answers" in client.get(links["A"]).text
    assert _reopen(client, links["A"]).status_code == 303
    form = client.get(links["A"]).text
    assert FIRST in form and 'name="med.0.name"' in form  # the answers come back to correct
    status = client.get(f"/s/{sid}").text
    assert "correcting their answers" in status and "Record decisions" not in status
    assert client.post(f"/s/{sid}/decide", data={"csrf": csrf}).status_code == 409  # no decision on a report being replaced

    response = answer(
        client,
        links["A"],
        {"person.age": "40", "psychiatric.bipolar_1": "no", "med.0.name": CORRECTED, "med.0.status": "current"},
    )
    assert response.status_code == 303, response.text
    status = client.get(f"/s/{sid}").text
    assert "What changed since the previous report" in status
    changes = re.search(r'<pre class="changes">(.*?)</pre>', status, re.DOTALL)
    assert changes
    lines = changes.group(1).splitlines()
    # a flag's line: OUTCOME [severity] Title (participant X; rule.id): ...
    gone = {m.group(1) for line in lines if line.startswith("GONE") and (m := re.search(r"\(participant A; ([^)]+)\)", line))}
    assert gone and gone <= a_rules  # A's bipolar finding went with the corrected answer
    carried = [line for line in lines if f"(participant B; {b_rule})" in line]
    assert carried and "decided earlier, noted by Test Facilitator (made up)" in carried[0]
    # the facilitator (who reads every answer in the report) sees which answers changed (issue 30);
    # the audit and the other participant never do (below)
    assert f"Medication line: {CORRECTED}: was not listed; now listed" in status
    audit = client.get(f"/s/{sid}/audit").text
    assert "reopened their answers" in audit and "re-screened after a correction" in audit
    assert CORRECTED not in audit

    # B: nothing of A's change, and the same copy of B's own findings as before
    client.cookies.clear()
    for path in (links["B"], links["B"] + "/copy", links["B"] + "/answers.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert CORRECTED not in response.text and FIRST not in response.text, path
        assert "correct" not in response.text.lower().replace("correction", ""), path  # no hint that A corrected
    copy_after = client.get(links["B"] + "/copy").text
    strip = re.compile(r"[0-9a-f]{12,64}|\d{4}-\d\d-\d\dT?[\d:.+Z ]*")
    assert strip.sub("", copy_after) == strip.sub("", copy_before)


def test_no_correction_once_the_copy_is_released_or_a_finding_about_them_is_decided(tmp_path):
    client, csrf, sid, links = _duo(tmp_path)
    tabs = {label: participant_csrf(client, link) for label, link in links.items()}  # the button, still open
    _release(client, csrf, sid, "A")
    assert "Correct my answers" not in client.get(links["A"]).text
    assert _reopen(client, links["A"], tabs["A"]).status_code == 409
    _decide(client, csrf, sid, "B")  # a decision about B closes B's correction
    assert "Correct my answers" not in client.get(links["B"]).text
    assert _reopen(client, links["B"], tabs["B"]).status_code == 409
    for link in links.values():  # still submitted, the report unchanged
        assert "Thank you" in client.get(link).text
    assert "correcting" not in client.get(f"/s/{sid}").text


def test_a_decision_on_a_partners_finding_leaves_the_correction_open(tmp_path):
    client, csrf, sid, links = _duo(tmp_path)
    _decide(client, csrf, sid, "B")
    assert _reopen(client, links["A"]).status_code == 303
    _decide_blocked = client.post(f"/s/{sid}/decide", data={"csrf": csrf})
    assert _decide_blocked.status_code == 409
    assert _reopen(client, links["A"], participant_csrf(client, links["A"])).status_code == 409  # nothing submitted to reopen


def test_the_audit_trail_reads_in_the_facilitators_language_and_keeps_older_entries(tmp_path):
    """Entries are stored as their event's template and parts, so a Dutch practice reads them in
    Dutch; an entry stored as plain English before this change is shown as it was."""
    from screening.i18n import translator
    from screening.web.audit import shown

    client, _ = make_app(tmp_path, language="nl")
    csrf = login(client)
    sid, links = create(client, csrf, "duo")
    answer(client, links["A"], {"person.age": "40"})
    answer(client, links["B"], {"person.age": "38"})
    trail = client.get(f"/s/{sid}/audit").text
    assert "aangemaakt (" in trail and "deelnemer A: ingediend" in trail and "gescreend: rapport " in trail
    assert "created (" not in trail and ": submitted" not in trail
    english, dutch = translator("en"), translator("nl")
    assert shown("created (an older entry, stored as text)", dutch) == "created (an older entry, stored as text)"
    assert shown('{"not": "an entry"}', english) == '{"not": "an entry"}'
