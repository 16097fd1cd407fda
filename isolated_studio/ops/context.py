"""The run context: what one `isolated-studio` invocation knows, built once and handed to its command.

After AWS SAM CLI's ``Context``: the command modules stay thin and read the configuration,
the environment, the project's paths and the emulator's differences from here instead of
each working them out again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from isolated_studio.config import PROJECT_ROOT, StudioConfig, load_config
from isolated_studio.config.emulator import EmulatorProfile


@dataclass
class RunContext:
    """One invocation: ``command`` run with ``environ`` over the project at ``root``.

    The configuration is read on first use (the writers of generated files need none, and a
    broken configuration must not stop them) and then kept: every step of the command sees
    the same one. ``load_config`` raises :class:`isolated_studio.config.ConfigError` as before.
    """

    command: str
    prog: str = "isolated-studio"
    root: Path = PROJECT_ROOT
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _config: StudioConfig | None = field(default=None, repr=False)

    @property
    def usage_name(self) -> str:
        """How the command's usage names it: ``isolated-studio plan``."""
        return f"{self.prog} {self.command}"

    def load_config(self) -> StudioConfig:
        if self._config is None:
            self._config = load_config(env=self.environ)
        return self._config

    @property
    def emulator(self) -> EmulatorProfile:
        """The target's differences from AWS (the configuration is read for it)."""
        return EmulatorProfile.of(self.load_config())
