"""The base layer: the project's paths, the synthesized output's layout and the Terraform CLI
wrapper (provider mirror, CLI configuration). Everything may import it; it imports nothing of
the project above it (the layers are declared in pyproject.toml, [tool.importlinter])."""
