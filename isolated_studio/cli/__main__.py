"""`python -m isolated_studio.cli` = `isolated-studio` (for a checkout without the installed script)."""

import sys

from isolated_studio.cli import main

sys.exit(main())
