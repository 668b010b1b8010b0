"""``python -m experiments ...`` is the ``neurosteer`` command."""
import sys

from experiments.cli import main

sys.exit(main())
