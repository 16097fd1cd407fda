"""The `isolated-studio` commands, one module each: ``run(context, argv) -> exit code``."""
