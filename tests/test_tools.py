"""tools/metrics_snapshot.py knows a small size for every shipped config (else it refuses to run)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_snapshot_has_small_overrides_for_every_shipped_config():
    spec = importlib.util.spec_from_file_location("metrics_snapshot", ROOT / "tools" / "metrics_snapshot.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    shipped = {f"{d}/{p.stem}" for d in ("language", "steering", "universals") for p in (ROOT / "configs" / d).glob("*.yaml")}
    assert set(tool.SMALL) == shipped
