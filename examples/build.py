"""Regenerate every generated example file from the library, in one command:

    .venv/bin/python examples/build.py          # writes examples/fhir/*.json and examples/nl/*
    .venv/bin/python examples/build.py --check  # exit 1 naming each stale file

tests/test_examples_build.py runs the same build and compares each file byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The time printed on the HTML records, fixed so that a rebuild gives the same bytes.
PRINTED = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def _json(resource: Any) -> bytes:
    return (json.dumps(resource, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def files() -> dict[str, bytes]:
    """Each generated example: its path under examples/ and its exact bytes."""
    from screening import read_intake, screen
    from screening.interop import fhir
    from screening.interop.cds_hooks import render_cds_hooks

    duo = read_intake(HERE / "duo-mdma.yaml")
    bundle = fhir.response_from_intake(duo)
    report = screen(fhir.intake_from_fhir(bundle), engine="python")  # both engines agree (tests); python runs everywhere
    return {
        "fhir/intake-questionnaire.json": _json(fhir.questionnaire()),
        "fhir/tri-state-answer-codesystem.json": _json(fhir.answer_code_system()),
        "fhir/terminology-bundle.json": _json(fhir.terminology()),
        "fhir/duo-mdma-response-bundle.json": _json(bundle),
        "fhir/duo-mdma-cds-hooks.json": render_cds_hooks(report).rstrip("\n").encode("utf-8") + b"\n",
    } | dutch()


def dutch() -> dict[str, bytes]:
    """The Dutch duo truffle intake: the clinician's report and each participant's own copy, in Dutch."""
    from screening import read_intake, render_text, screen
    from screening.report.html import render_html
    from screening.report.model import render_participant_text

    report = screen(read_intake(HERE / "duo-truffels.yaml"), engine="python")
    out = {
        "nl/duo-truffels-report.txt": render_text(report, lang="nl"),
        "nl/duo-truffels-report.html": render_html(report, printed=PRINTED, lang="nl"),
    }
    for pid in report.participants:
        view = report.view_for(pid)
        out[f"nl/duo-truffels-participant-{pid}.txt"] = render_participant_text(view, lang="nl")
        out[f"nl/duo-truffels-participant-{pid}.html"] = render_html(view, printed=PRINTED, lang="nl")
    return {name: text.encode("utf-8") for name, text in out.items()}


def main(argv: list[str]) -> int:
    stale = []
    for name, content in files().items():
        path = HERE / name
        if "--check" in argv:
            if not path.exists() or path.read_bytes() != content:
                stale.append(name)
        elif not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
            print(f"wrote examples/{name}")
    for name in stale:
        print(f"stale: examples/{name} (run: python examples/build.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
