"""The README documents every YAML key and every metric the code produces."""
from pathlib import Path

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
