"""Model registry: aliases moved on evidence, versions that say what they are.

MLflow 2.16 deprecates registry stages; aliases replace them. Every execution registers a
version, but only a version that beats the current ``champion`` on validation becomes the
champion; any other becomes the ``challenger`` (the alias moves to the newest such version),
so ``models:/<name>@champion`` always names the best model seen, and a worse retraining
cannot silently replace it.

"Beats" is measured on *this execution's* validation split: the champion is loaded from the
registry and scored on the same rows as the new version, so a new data file, seed or split
does not compare numbers computed on different data. The measure is validation PR AUC, the
one the tuning step selects on (about 35 failures: a difference in the third decimal is
noise, and a tie keeps the champion).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CHAMPION = "champion"
CHALLENGER = "challenger"
#: Validation metric the tuning step selects on and the champion is compared by.
SELECTION_METRIC = "pr_auc"


@dataclass(frozen=True)
class Promotion:
    """Where the new version went and why."""

    alias: str
    version: int
    score: float
    champion_version: int | None
    champion_score: float | None

    @property
    def reason(self) -> str:
        if self.champion_version is None:
            return f"version {self.version} is the first champion (validation PR AUC {self.score:.4f})"
        verdict = "beats" if self.alias == CHAMPION else "does not beat"
        return (
            f"version {self.version} (validation PR AUC {self.score:.4f}) {verdict} champion "
            f"version {self.champion_version} ({self.champion_score:.4f} on the same rows)"
        )


def current_champion(client: Any, model_name: str) -> Any | None:
    """The version the ``champion`` alias names, or None when there is none yet."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def promote(
    client: Any, model_name: str, version: int, score: float, champion_score: Callable[[Any], float]
) -> Promotion:
    """Point ``champion`` at ``version`` if it beats the champion, else point ``challenger`` at it.

    ``champion_score(model_version)`` scores the current champion on this execution's
    validation rows (the caller loads it from the registry).
    """
    champion = current_champion(client, model_name)
    if champion is None or int(champion.version) == version:
        client.set_registered_model_alias(model_name, CHAMPION, str(version))
        return Promotion(CHAMPION, version, score, None, None)
    theirs = float(champion_score(champion))
    better = score > theirs or math.isnan(theirs)
    alias = CHAMPION if better else CHALLENGER
    client.set_registered_model_alias(model_name, alias, str(version))
    return Promotion(alias, version, score, int(champion.version), theirs)
