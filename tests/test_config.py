"""Bad input: exit 2, every problem as ``FILE: key.path: message``, and nothing written."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from experiments.cli import main
from experiments.config import load, loads
from experiments.errors import InputError

GOOD = """\
name: tiny
seed: 3
replicas: 2
world:
  kind: anbn
  min_n: 1
  max_n: 4
  variants:
    long: {min_n: 5, max_n: 8}
cortex:
  backend: rate
  model: reservoir
  n_units: 32
phases:
  - {name: train, strings: 20, plastic: true}
  - {name: test_long, variant: long, strings: 5, plastic: false}
recording:
  sample_units: 4
"""


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _malformed() -> list:
    """The cases of tests/data/malformed_configs.yaml as pytest params: (yaml text, overrides, expected)."""
    params = []
    for case in yaml.safe_load((Path(__file__).parent / "data" / "malformed_configs.yaml").read_text()):
        text = case.get("text", _edit(GOOD, case["old"], case["new"]) if "old" in case else GOOD)
        params.append(pytest.param(text, case.get("set", []), case["expect"], id=case["id"]))
    return params


@pytest.mark.parametrize("text, overrides, expected", _malformed())
def test_malformed_config_exits_2_names_key_and_writes_nothing(tmp_path, capsys, text, overrides, expected):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    args = ["run", str(path), "--out", str(out), "--quiet", "--no-plots"]
    for o in overrides:
        args += ["--set", o]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{path}: {expected}" in err, err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]


def test_every_problem_is_listed_with_its_line(tmp_path):
    text = _edit(_edit(GOOD, "n_units: 32", "n_unit: 32"), "replicas: 2", "replicas: -1")
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load(path)
    problems = info.value.problems
    assert any(p.startswith(f"{path}: replicas: ") and p.endswith("(line 3)") for p in problems), problems
    assert any(p.startswith(f"{path}: cortex.n_unit: ") and p.endswith("(line 13)") for p in problems), problems


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: (file): file not found" in capsys.readouterr().err


def test_unwritable_output_dir_exits_2(tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text(GOOD)
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "file").write_text("x")
    # a path under a regular file can never be created, even as root
    assert main(["run", str(path), "--out", str(tmp_path / "ro" / "file" / "run"), "--quiet", "--no-plots"]) == 2
    assert "output directory is not writable" in capsys.readouterr().err
    # a non-empty existing directory is never overwritten
    assert main(["run", str(path), "--out", str(tmp_path / "ro"), "--quiet", "--no-plots"]) == 2
    assert "exists and is not empty" in capsys.readouterr().err


def test_overrides_are_typed_and_address_phases_by_name():
    spec = loads(GOOD, ["cortex.n_units=64", "phases.train.strings=7", "phases.1.plastic=true", "world.variants.long.max_n=9"])
    assert spec.cortex.n_units == 64
    assert spec.phases[0].strings == 7 and spec.phases[1].plastic is True
    assert spec.world.variant("long").max_n == 9


def test_resolved_config_reloads_to_the_same_spec(tmp_path):
    spec = loads(GOOD)
    path = tmp_path / "resolved.yaml"
    path.write_text(yaml.safe_dump(spec.resolved(), sort_keys=False))
    again = load(path)
    assert again.resolved() == spec.resolved()
    assert again.world.variant("long").min_n == 5


def test_validate_prints_resolved_config_with_defaults(capsys, tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(GOOD)
    assert main(["validate", str(path)]) == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["cortex"]["n_units"] == 32
    assert "recording" in resolved and resolved["recording"]["chunk_steps"] > 0


ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(str(p.relative_to(ROOT)) for d in ("language", "steering") for p in (ROOT / "configs" / d).glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED)
def test_shipped_configs_validate(path):
    spec = load(ROOT / path)
    assert spec.phases[0].name == "train"


def test_loads_rejects_yaml_tags_that_would_run_code():
    with pytest.raises(InputError) as info:
        loads(textwrap.dedent("name: !!python/object/apply:os.system ['true']\n"))
    assert "(syntax)" in info.value.problems[0]
