"""World rules that relate a variant to its base world fail at validation (exit 2, key path,
nothing written), not at run time after the training phase."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from experiments.cli import main

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "steering" / "train_and_shift.yaml"


PLUM = {"colour": "red", "shape": "round", "smell": "fruity"}   # every cue also shown by another kind


def small_config(variant: dict, base_items: dict | None = None) -> dict:
    """train_and_shift, tiny, with one shift phase whose variant is ``variant``."""
    raw = yaml.safe_load(CONFIG.read_text())
    if base_items is not None:
        raw["world"]["items"] = base_items
    raw.update(replicas=1, phases=[{"name": "train", "trials": 20}, {"name": "shift", "variant": "shift", "trials": 10}])
    raw["cortex"]["n_units"] = 20
    raw["recording"]["sample_units"] = 4
    raw["world"]["variants"] = {"shift": variant}
    return raw


def _items(drop=None, **changes):
    items = copy.deepcopy(yaml.safe_load(CONFIG.read_text())["world"]["items"])
    items.pop(drop, None)
    for name, visible in changes.items():
        items.setdefault(name, {"sweet": 1.0})["visible"] = visible
    return items


NOT_A_VARIANT = [
    ("drops-an-item-kind", {"mode": "novel_items", "items": _items(drop="nightshade"),
                            "mixtures": {"train": {"berry": 1}, "novel_items": {"deathcap": 1, "bluefruit": 1}}},
     "world.variants.shift.items: drops item kind 'nightshade'"),
    ("removes-a-colour", {"mode": "novel_items",
                          "items": _items(bluefruit={"colour": "red", "shape": "long", "smell": "fruity"})},
     "world.variants.shift.items.bluefruit.visible.colour: no item kind shows colour 'blue' any more"),
    ("adds-a-colour", {"items": _items(berry={"colour": "purple", "shape": ["round", "long"], "smell": "fruity"})},
     "world.variants.shift.items.berry.visible.colour: 'purple' is not a colour category of world.items"),
    ("adds-an-item-kind", {"items": _items(plum=PLUM)},
     "world.variants.shift.items.plum: not an item kind of world.items"),
    ("changes-choices", {"choices": 3}, "world.variants.shift.choices: 3 instead of 2"),
]


@pytest.mark.parametrize("variant, expected", [c[1:] for c in NOT_A_VARIANT], ids=[c[0] for c in NOT_A_VARIANT])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_variant_that_changes_the_layout_exits_2_at_validation(tmp_path, capsys, command, variant, expected):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(small_config(variant), sort_keys=False))
    out = tmp_path / "out"
    args = ["validate", str(path)] if command == "validate" else ["run", str(path), "--out", str(out), "--quiet", "--no-plots"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{path}: {expected}" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]


def test_a_variant_may_move_a_category_between_kinds_and_change_saliences(tmp_path, capsys):
    """Same kinds, same categories overall: a valid variant (the layout is unchanged)."""
    variant = {"gains": {"smell": 1.0, "colour": 0.2, "shape": 0.5},
               "items": _items(deathcap={"colour": "green", "shape": "round", "smell": "musty"})}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(small_config(variant), sort_keys=False))
    assert main(["validate", str(path)]) == 0


def test_dropping_a_kind_whose_cues_other_kinds_show_is_caught_too(tmp_path, capsys):
    """The observation layout looks the same without plum; the run used to fail after training
    with a bare KeyError."""
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(small_config({"mode": "novel_items", "items": _items()}, _items(plum=PLUM)),
                                   sort_keys=False))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 2
    assert f"{path}: world.variants.shift.items: drops item kind 'plum'" in capsys.readouterr().err
    assert not out.exists()
