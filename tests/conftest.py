"""Test-wide setup: the same single-threaded BLAS as the ``neurosteer`` command (threaded
OpenBLAS on a small shared machine made the rate cortex up to 17x slower). Set before any test
module imports numpy."""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
