"""`python -m diagrammer ...`: the CLI, where the `diagrammer` script is not installed."""

import sys

from diagrammer.cli import main

sys.exit(main())
