"""Every generated example is exactly what `python examples/build.py` writes today."""

import importlib.util
import subprocess
import sys

import pytest
from conftest import EXAMPLES

pytest.importorskip("fhir.resources")


def _build_module():
    spec = importlib.util.spec_from_file_location("examples_build", EXAMPLES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILT = _build_module().files()


@pytest.mark.parametrize("name", sorted(BUILT))
def test_the_committed_example_is_byte_for_byte_current(name):
    assert (EXAMPLES / name).read_bytes() == BUILT[name], f"stale examples/{name}: run python examples/build.py"


def test_every_json_file_under_examples_fhir_is_generated():
    committed = {f"fhir/{p.name}" for p in (EXAMPLES / "fhir").glob("*.json")}
    assert committed == {n for n in BUILT if n.startswith("fhir/")}


def test_the_cds_hooks_example_has_one_card_per_finding_of_the_duo_example():
    import json

    from screening import read_intake, screen

    cards = json.loads(BUILT["fhir/duo-mdma-cds-hooks.json"])["cards"]
    assert len(cards) == len(screen(read_intake(EXAMPLES / "duo-mdma.yaml")).findings) > 3


def test_check_mode_names_a_stale_file_and_exits_1(tmp_path):
    # a copy of the builder beside a copy of the inputs, one output edited by hand
    (tmp_path / "fhir").mkdir()
    (tmp_path / "build.py").write_bytes((EXAMPLES / "build.py").read_bytes())
    (tmp_path / "duo-mdma.yaml").write_bytes((EXAMPLES / "duo-mdma.yaml").read_bytes())
    for name, content in BUILT.items():
        (tmp_path / name).write_bytes(content)
    assert subprocess.run([sys.executable, str(tmp_path / "build.py"), "--check"], check=False, timeout=120).returncode == 0
    (tmp_path / "fhir/duo-mdma-cds-hooks.json").write_text('{"cards": []}\n')
    result = subprocess.run(
        [sys.executable, str(tmp_path / "build.py"), "--check"], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "stale: examples/fhir/duo-mdma-cds-hooks.json" in result.stderr
