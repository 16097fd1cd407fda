"""`python -m isolated_studio.checks.access`: the command docs/security.md shows, run by cli.main."""

from isolated_studio.checks.access.cli import main

if __name__ == "__main__":
    # Named as the docs write it (argparse would say "__main__.py").
    raise SystemExit(main(prog="python -m isolated_studio.checks.access"))
