"""`python -m isolated_studio.checks.access`: the command line docs/security.md shows."""

from isolated_studio.checks.access import main

if __name__ == "__main__":
    raise SystemExit(main())
