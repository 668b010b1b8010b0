"""Brian2 code generation settings, applied only around our own runs.

Brian2 keeps its preferences in one global object. We set the target and the cython cache
directory just before a run and put the previous values back afterwards, so building a spiking
cortex leaves no global state behind for other code in the same process.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

_CACHE_ENV = "NEUROSTEER_CYTHON_CACHE"
_working_cython: bool | None = None  # compiler check result, per process


def cache_dir(configured: str | None) -> Path:
    """Cython cache directory: the configured one, else $NEUROSTEER_CYTHON_CACHE, else a
    per-user local directory (never a shared network path: concurrent compiles need a local disk)."""
    if configured:
        path = Path(configured).expanduser()
    elif os.environ.get(_CACHE_ENV):
        path = Path(os.environ[_CACHE_ENV]).expanduser()
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "neurosteer" / "brian2"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_target(requested: str) -> str:
    """The target actually used: 'cython', 'numpy' or 'cpp_standalone' (what each target cannot
    run is declared in ``cortex.spiking.params.TARGET_LIMITS`` and checked at validation).

    'auto' picks cython when a compiler works and logs why it falls back otherwise.
    """
    global _working_cython
    if requested in ("cython", "numpy", "cpp_standalone"):
        return requested
    if _working_cython is None:
        try:
            from brian2.codegen.runtime.cython_rt import CythonCodeObject

            _working_cython = bool(CythonCodeObject.is_available())
        except Exception as err:  # any failure of the compiler check means: no cython
            log.warning("cython target unavailable (%s); falling back to numpy", err)
            _working_cython = False
        if not _working_cython:
            log.warning("cython target unavailable; falling back to numpy (about 4x slower)")
    return "cython" if _working_cython else "numpy"


@contextlib.contextmanager
def brian_prefs(target: str, cache: Path):
    """Set Brian2's codegen target and cython cache directory for the duration of a block."""
    from brian2 import prefs

    saved = (prefs.codegen.target, prefs.codegen.runtime.cython.cache_dir)
    prefs.codegen.target = target
    prefs.codegen.runtime.cython.cache_dir = str(cache)
    try:
        yield
    finally:
        prefs.codegen.target, prefs.codegen.runtime.cython.cache_dir = saved
