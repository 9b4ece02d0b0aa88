"""Regenerate every generated example file from the library, in one command:

    .venv/bin/python examples/build.py          # writes examples/fhir/*.json
    .venv/bin/python examples/build.py --check  # exit 1 naming each stale file

tests/test_examples_build.py runs the same build and compares each file byte for byte.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


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
    }


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
