"""Loading a script of tools/ as a module in tests (tools/ is not a package; its scripts import each
other by name, so tools/ goes on sys.path too), and reading back the markdown tables it renders."""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_tool(name: str):
    """tools/NAME.py, freshly executed as a module."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def section_table(section: str, first_header: str) -> list[list[str]]:
    """The rows (cells) of the markdown table of `section` whose header starts with `first_header`."""
    lines = section.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(first_header))
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip().strip("|").split("|")])
    return rows
