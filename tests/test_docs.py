"""The README documents every YAML key and every metric the code produces."""
from pathlib import Path

import pytest

from experiments.keyref import END, START, render

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_key_reference_matches_the_params_models():
    section = README.split(START, 1)[1].split(END, 1)[0].strip()
    assert section == render().strip(), "run: python -m experiments.keyref --write README.md"


def test_every_sequence_metric_is_documented():
    from experiments.metrics.sequence import SequenceScorer

    scorer = SequenceScorer(1, 3, ((0,), (1,)), length_threshold=[1])
    for name in scorer.result():
        assert f"| `{name}` |" in README, name


def _tool(name: str):
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_measured_table_is_rendered_from_the_committed_runs():
    import json

    tool = _tool("readme_numbers")
    numbers = json.loads(tool.NUMBERS.read_text())
    # every measurement the table uses was run with the config and overrides the tool names today
    assert {k: (v["config"], v["overrides"]) for k, v in numbers["measurements"].items()} == \
        {k: (c, list(o)) for k, (c, o) in tool.MEASUREMENTS.items()}
    section = README.split(tool.START, 1)[1].split(tool.END, 1)[0].strip()
    assert section == tool.render(numbers).strip(), "run: python tools/readme_numbers.py --write"


def test_readme_benchmark_numbers_are_rendered_from_the_committed_bench_runs():
    """Every benchmark figure in the README is rendered from bench/results.json, the committed
    output of tools/bench_numbers.py, so none can drift from the runs that made it."""
    import json

    tool = _tool("bench_numbers")
    results = json.loads(tool.RESULTS.read_text())
    assert {k: len(results[k]) for k in tool.BENCHES} == {k: runs for k, (_, runs) in tool.BENCHES.items()}
    assert {k: v["overrides"] for k, v in results["scale_runs"].items()} == tool.SCALE_RUNS
    section = README.split(tool.START, 1)[1].split(tool.END, 1)[0].strip()
    assert section == tool.render(results).strip(), "run: python tools/bench_numbers.py --write"
    # the keys issue 12 accepts the cortex by, at every size it names
    rate = results["rate_cortex"][0]
    assert set(rate["full_vs_handwritten"]) == {"1024", "4096", "16384", "65536"}
    assert {"4000", "8000"} <= set(results["spiking_cortex"][0]["ours_vs_handwritten_by_size"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["embedded_reber_16", "reber"])
def test_committed_readme_numbers_are_what_the_code_gives_today(name, tmp_path):
    """The cheapest table entries, re-run: a change that moves a metric must re-make the table."""
    import json

    import numpy as np

    tool = _tool("readme_numbers")
    committed = json.loads(tool.NUMBERS.read_text())["measurements"][name]["metrics"]
    fresh = tool.measure([name])[name]["metrics"]
    for phase, block in committed.items():
        for metric, value in block.items():
            if metric == "per_replica":
                continue
            got = fresh[phase][metric]
            assert (value is None) == (got is None) and (value is None or np.isclose(got, value, rtol=1e-6)), \
                f"{phase}.{metric}: committed {value}, now {got}: run python tools/readme_numbers.py"
