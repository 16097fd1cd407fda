"""`python -m isolated_studio.ops.plan_review`: runs the plan review's command line (:mod:`.cli`)."""

import sys

from isolated_studio.ops.plan_review.cli import main

sys.exit(main())
