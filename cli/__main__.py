"""`python -m cli`: the `faas` command."""

import sys

from cli import main

sys.exit(main())
