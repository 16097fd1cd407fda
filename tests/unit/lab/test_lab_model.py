"""Preprocessing, the stratified split, training and the metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pm_lab.data import FEATURES, NUMERIC_FEATURES, TARGET, validate_dataset
from pm_lab.errors import LabDataError
from pm_lab.evaluation import (
    DEFAULT_RECALL_TARGET,
    choose_threshold,
    classification_metrics,
    confusion_table,
    evaluate,
    failure_probability,
    prefixed,
    threshold_comparison,
)
from pm_lab.preprocessing import preprocess, split_dataset
from pm_lab.training import (
    TrainingParams,
    balanced_weight,
    feature_importance,
    scale_pos_weight_of,
    train,
    training_history,
)


@pytest.fixture(scope="module")
def validated(generated_frame: pd.DataFrame) -> pd.DataFrame:
    return validate_dataset(generated_frame)


@pytest.fixture(scope="module")
def prepared(validated: pd.DataFrame):
    return preprocess(validated, seed=42)


def test_split_is_80_10_10_and_covers_every_row_once(validated: pd.DataFrame) -> None:
    splits = split_dataset(validated, seed=42)
    assert splits.sizes() == {"train": 8000, "validation": 1000, "test": 1000}
    indices = [*splits.x_train.index, *splits.x_validation.index, *splits.x_test.index]
    assert sorted(indices) == list(validated.index)
    assert list(splits.x_train.columns) == list(FEATURES)
    assert TARGET not in splits.x_test.columns


def test_split_is_stratified_on_machine_failure(validated: pd.DataFrame) -> None:
    overall = validated[TARGET].mean()
    splits = split_dataset(validated, seed=42)
    for split, rate in splits.failure_rates().items():
        # Stratification leaves at most one row of difference per split.
        size = splits.sizes()[split]
        assert abs(rate - overall) <= 1.0 / size + 1e-12, split
    assert splits.y_validation.sum() > 0 and splits.y_test.sum() > 0


def test_split_is_reproducible_by_seed(validated: pd.DataFrame) -> None:
    first = split_dataset(validated, seed=7)
    again = split_dataset(validated, seed=7)
    other = split_dataset(validated, seed=8)
    assert list(first.x_test.index) == list(again.x_test.index)
    assert list(first.x_test.index) != list(other.x_test.index)


def test_preprocessor_outputs_scaled_sensors_and_one_hot_type(prepared) -> None:
    transformed = prepared.preprocessor.transform(prepared.splits.x_validation)
    assert transformed.shape == (1000, 8)
    names = prepared.feature_names()
    assert names[:5] == [f"numeric__{column}" for column in NUMERIC_FEATURES]
    assert names[5:] == ["type__Type_L", "type__Type_M", "type__Type_H"]
    one_hot = transformed[:, 5:]
    assert np.array_equal(one_hot.sum(axis=1), np.ones(1000))


def test_preprocessor_is_fitted_on_training_rows_only(prepared) -> None:
    train_scaled = prepared.preprocessor.transform(prepared.splits.x_train)[:, :5]
    assert np.allclose(train_scaled.mean(axis=0), 0.0, atol=1e-9)
    assert np.allclose(train_scaled.std(axis=0), 1.0, atol=1e-9)
    scaler = prepared.preprocessor.named_transformers_["numeric"]
    assert np.allclose(scaler.mean_, prepared.splits.x_train[list(NUMERIC_FEATURES)].mean())


def test_unknown_type_at_prediction_time_does_not_break_the_transform(prepared) -> None:
    row = prepared.splits.x_test.head(1).assign(Type="Z")
    assert prepared.preprocessor.transform(row)[0, 5:].tolist() == [0.0, 0.0, 0.0]


@pytest.fixture(scope="module")
def lab_model(prepared):
    """The model the lab trains (its default parameters, seed 42): trained once per module."""
    return train(prepared, TrainingParams(), seed=42)


def test_training_learns_failures_well_above_chance(prepared, lab_model) -> None:
    model = lab_model
    assert [name for name, _ in model.steps] == ["features", "preprocess", "classifier"]
    metrics = evaluate(model, prepared.splits.x_validation, prepared.splits.y_validation)
    assert metrics["roc_auc"] > 0.9
    assert metrics["recall"] > 0.3
    # The pipeline takes raw AI4I columns, unscaled.
    predictions = model.predict(prepared.splits.x_test.head(20))
    assert set(np.unique(predictions)) <= {0, 1}


def test_training_is_reproducible_by_seed(prepared) -> None:
    params = TrainingParams(n_estimators=30)
    first = train(prepared, params, seed=1).predict_proba(prepared.splits.x_test)
    again = train(prepared, params, seed=1).predict_proba(prepared.splits.x_test)
    assert np.array_equal(first, again)


def test_metrics_on_a_hand_checked_example() -> None:
    labels = [0, 0, 0, 1, 1]
    probability = [0.1, 0.6, 0.2, 0.7, 0.4]
    # predicted: 0 1 0 1 0 -> TP 1, FP 1, FN 1, TN 2
    metrics = classification_metrics(labels, probability)
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["precision"] == pytest.approx(1 / 2)
    assert metrics["recall"] == pytest.approx(1 / 2)
    # 5 of the 6 (failure, healthy) pairs are ranked correctly.
    assert metrics["roc_auc"] == pytest.approx(5 / 6)


def test_no_predicted_failures_gives_zero_precision_not_an_error() -> None:
    metrics = classification_metrics([0, 1, 0], [0.1, 0.2, 0.3])
    assert metrics["precision"] == 0.0
    assert metrics["recall"] == 0.0


def test_metrics_need_both_classes() -> None:
    with pytest.raises(LabDataError, match="both classes"):
        classification_metrics([0, 0, 0], [0.1, 0.2, 0.3])


def test_metric_names_are_prefixed_per_split() -> None:
    assert prefixed({"accuracy": 1.0, "roc_auc": 0.5}, "test") == {
        "test_accuracy": 1.0,
        "test_roc_auc": 0.5,
    }


def test_threshold_has_the_best_precision_that_reaches_the_recall_target() -> None:
    labels = [0, 0, 1, 0, 1, 1, 0, 1]
    probability = [0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.7, 0.9]
    # Catching 3 of the 4 failures needs threshold <= 0.45 (0.45: 3 TP, 1 FP, precision 3/4).
    assert choose_threshold(labels, probability, 0.75) == pytest.approx(0.45)
    # All four: threshold 0.2 (4 TP, 2 FP).
    assert choose_threshold(labels, probability, 1.0) == pytest.approx(0.2)
    at = classification_metrics(labels, probability, 0.45)
    assert at["recall"] == pytest.approx(0.75) and at["precision"] == pytest.approx(0.75)


@pytest.mark.parametrize("target", [0.0, 1.2])
def test_recall_target_must_be_a_share(target: float) -> None:
    with pytest.raises(ValueError, match="recall_target"):
        choose_threshold([0, 1], [0.2, 0.8], target)


def test_pr_auc_is_average_precision() -> None:
    # Ranked: 0.9 (1), 0.7 (0), 0.4 (1): precision at each hit 1/1 and 2/3, mean 5/6.
    assert classification_metrics([1, 0, 1, 0], [0.9, 0.7, 0.4, 0.1])["pr_auc"] == pytest.approx(5 / 6)


def test_confusion_table_and_threshold_comparison() -> None:
    labels = [0, 0, 0, 1, 1]
    probability = [0.1, 0.6, 0.2, 0.7, 0.4]
    assert confusion_table(labels, probability, 0.3) == {
        "true_negatives": 2,
        "false_positives": 1,
        "false_negatives": 0,
        "true_positives": 2,
    }
    assert threshold_comparison(labels, probability, 0.3) == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "precision_at_0_5": 0.5,
        "recall_at_0_5": 0.5,
    }


def test_failures_are_weighted_by_the_class_ratio_of_the_training_split(prepared) -> None:
    splits = prepared.splits
    expected = float((splits.y_train == 0).sum() / (splits.y_train == 1).sum())
    assert balanced_weight(splits.y_train) == pytest.approx(expected)
    model = train(prepared, TrainingParams(n_estimators=20), seed=42)
    assert scale_pos_weight_of(model) == pytest.approx(expected)
    assert scale_pos_weight_of(train(prepared, TrainingParams(n_estimators=20, scale_pos_weight=1.0), seed=42)) == 1.0


def test_history_has_every_round_and_importance_names_the_model_inputs(prepared) -> None:
    model = train(prepared, TrainingParams(n_estimators=40), seed=42)
    history = training_history(model)
    assert set(history) == {"train_roc_auc", "train_log_loss", "validation_roc_auc", "validation_log_loss"}
    assert all(len(values) == 40 for values in history.values())
    assert history["train_log_loss"][-1] < history["train_log_loss"][0]  # training lowers its loss
    # The last round's validation AUC is the model's validation ROC AUC.
    final = evaluate(model, prepared.splits.x_validation, prepared.splits.y_validation)["roc_auc"]
    assert history["validation_roc_auc"][-1] == pytest.approx(final, abs=1e-6)
    importance = feature_importance(model)
    assert list(importance) == prepared.feature_names()
    assert sum(importance.values()) == pytest.approx(1.0)
    # In AI4I the failure modes hinge on torque, speed and tool wear, not the product type.
    top = sorted(importance, key=importance.get, reverse=True)[:3]
    assert set(top) == {"numeric__Torque [Nm]", "numeric__Rotational speed [rpm]", "numeric__Tool wear [min]"}


def test_generated_data_acceptance_recall_at_the_chosen_threshold(prepared, lab_model) -> None:
    """Issue 10's acceptance: test recall >= 0.8 at the threshold chosen on validation, ROC AUC > 0.95."""
    model = lab_model
    splits = prepared.splits
    threshold = choose_threshold(
        splits.y_validation, failure_probability(model, splits.x_validation), DEFAULT_RECALL_TARGET
    )
    test = evaluate(model, splits.x_test, splits.y_test, threshold)
    assert test["recall"] >= 0.8
    assert test["roc_auc"] > 0.95


# --- issue 25: physics features, search, calibration, honest evaluation, the model's decision ---

from pm_lab import baselines, registry  # noqa: E402
from pm_lab.calibration import Calibrator, choose_calibration, fit_calibrator, out_of_fold_scores  # noqa: E402
from pm_lab.evaluation import bootstrap_intervals, recall_by_failure_mode  # noqa: E402
from pm_lab.features import FEATURE_SETS, add_derived  # noqa: E402
from pm_lab.model import FailureModel  # noqa: E402
from pm_lab.training import fit_pipeline, search_space  # noqa: E402


def test_physics_features_follow_the_data_sets_failure_rules(validated: pd.DataFrame) -> None:
    row = pd.DataFrame(
        [
            {
                "Type": "L",
                "Air temperature [K]": 300.0,
                "Process temperature [K]": 308.5,
                "Rotational speed [rpm]": 1500,
                "Torque [Nm]": 40.0,
                "Tool wear [min]": 100,
            }
        ]
    )
    derived = add_derived(row, "physics").iloc[0]
    assert derived["Power [W]"] == pytest.approx(40.0 * 1500 * 2 * np.pi / 60)  # PWF: outside 3500-9000 W
    assert derived["Temperature difference [K]"] == pytest.approx(8.5)  # HDF: below 8.6 K ...
    assert derived["Strain [min Nm]"] == pytest.approx(4000.0)  # OSF: above 11,000 (L)
    assert add_derived(row, "raw") is row
    # On the generated data the rules are exact: every PWF row is outside the power band.
    power = add_derived(validated, "physics")["Power [W]"]
    assert ((power[validated["PWF"] == 1] < 3500) | (power[validated["PWF"] == 1] > 9000)).all()


def test_search_space_is_a_handful_of_configurations_around_the_notebooks_depth() -> None:
    space = search_space(TrainingParams(n_estimators=50, max_depth=4))
    assert len(space) == 8
    assert {(p.features, p.class_weight, p.max_depth) for p in space} == {
        (f, w, d) for f in FEATURE_SETS for w in ("balanced", "none") for d in (3, 5)
    }
    assert all(p.n_estimators == 50 for p in space)
    assert space[0].label() == "raw features, class-weighted, depth 3"


def test_registered_model_input_stays_the_six_raw_columns(prepared) -> None:
    model = train(prepared, TrainingParams(n_estimators=20, features="physics"), seed=42)
    assert model.named_steps["preprocess"].get_feature_names_out()[5:8].tolist() == [
        "numeric__Power [W]",
        "numeric__Temperature difference [K]",
        "numeric__Strain [min Nm]",
    ]
    assert model.predict_proba(prepared.splits.x_test[list(FEATURES)]).shape == (1000, 2)


def test_class_weighting_inflates_probabilities_and_calibration_repairs_them(prepared) -> None:
    """The issue's finding: weighted mean prediction far above the failure rate; sigmoid fixes it."""
    splits = prepared.splits
    params = TrainingParams(n_estimators=60, max_depth=3, features="physics", class_weight="balanced", n_jobs=1)
    model = train(prepared, params, seed=42)
    raw = model.predict_proba(splits.x_validation)[:, 1]
    assert raw.mean() > 1.5 * splits.y_validation.mean()
    oof = out_of_fold_scores(lambda x, y: fit_pipeline(x, y, params, 42), splits.x_train, splits.y_train, 42)
    choice = choose_calibration(oof, splits.y_train, raw, splits.y_validation)
    assert choice.method != "none"
    assert choice.validation_brier[choice.method] < 0.75 * choice.validation_brier["none"]
    calibrated = choice.calibrator(raw)
    assert abs(calibrated.mean() - splits.y_validation.mean()) < abs(raw.mean() - splits.y_validation.mean())
    # Monotone: the ranking (and so ROC AUC) is kept.
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(splits.y_validation, calibrated) == pytest.approx(
        roc_auc_score(splits.y_validation, raw), abs=0.01
    )


def test_calibration_none_is_kept_when_it_is_best() -> None:
    rng = np.random.default_rng(0)
    probability = rng.uniform(0, 1, 4000)
    labels = (rng.uniform(0, 1, 4000) < probability).astype(int)  # already calibrated
    choice = choose_calibration(probability[:2000], labels[:2000], probability[2000:], labels[2000:])
    assert set(choice.validation_brier) == {"none", "sigmoid", "isotonic"}
    assert choice.validation_brier[choice.method] == min(choice.validation_brier.values())
    assert np.array_equal(fit_calibrator("none", probability, labels)(probability), probability)
    with pytest.raises(ValueError, match="calibration must be one of"):
        fit_calibrator("beta", probability, labels)


def test_the_models_prediction_is_probability_and_decision_at_its_threshold(prepared, lab_model) -> None:
    model = FailureModel(lab_model, Calibrator("none"), threshold=0.3)
    rows = prepared.splits.x_test
    predicted = model.predict(rows)
    assert list(predicted.columns) == ["failure_probability", "failure_expected"]
    assert np.array_equal(predicted["failure_expected"], (predicted["failure_probability"] >= 0.3).astype(int))
    # A different threshold gives different decisions from the same probabilities: the rule is the model's.
    assert model.with_threshold(0.9).predict(rows)["failure_expected"].sum() < predicted["failure_expected"].sum()


def test_bootstrap_intervals_bracket_the_metric_and_shrink_with_more_rows() -> None:
    rng = np.random.default_rng(1)

    def sample(rows: int) -> tuple[np.ndarray, np.ndarray]:
        labels = (rng.uniform(size=rows) < 0.05).astype(int)
        return labels, np.clip(labels * 0.3 + rng.uniform(0, 0.6, rows), 0, 1)

    small_y, small_p = sample(1000)
    large_y, large_p = sample(12000)  # 12x the rows: about a third of the width (1/sqrt(12))
    small = bootstrap_intervals(small_y, small_p, 0.5, resamples=150, seed=0)
    large = bootstrap_intervals(large_y, large_p, 0.5, resamples=150, seed=0)
    recall = classification_metrics(small_y, small_p, 0.5)["recall"]
    assert small["recall"][0] <= recall <= small["recall"][1]
    assert set(small) == {"recall", "precision", "pr_auc", "roc_auc", "brier"}
    width = lambda interval: interval[1] - interval[0]
    assert width(large["recall"]) < width(small["recall"]) / 2
    assert bootstrap_intervals(small_y, small_p, 0.5, resamples=50, seed=3) == bootstrap_intervals(
        small_y, small_p, 0.5, resamples=50, seed=3
    )


def test_recall_per_failure_mode_counts_the_flagged_rows_of_each_mode() -> None:
    modes = pd.DataFrame({"TWF": [1, 1, 0, 0], "HDF": [0, 1, 1, 0], "RNF": [0, 0, 0, 0]})
    result = recall_by_failure_mode(modes, [1, 0, 1, 0])
    assert result["TWF"] == {"failures": 2.0, "recall": 0.5}
    assert result["HDF"] == {"failures": 2.0, "recall": 0.5}
    assert result["RNF"]["failures"] == 0.0 and np.isnan(result["RNF"]["recall"])


def test_split_keeps_the_failure_modes_of_the_test_rows_out_of_the_features(validated) -> None:
    splits = split_dataset(validated, seed=42)
    assert list(splits.modes_test.columns) == ["TWF", "HDF", "PWF", "OSF", "RNF"]
    assert list(splits.modes_test.index) == list(splits.x_test.index)
    assert not set(splits.modes_test.columns) & set(splits.x_test.columns)


def test_the_majority_baseline_never_predicts_a_failure_and_the_logistic_one_beats_chance(prepared) -> None:
    splits = prepared.splits
    majority = baselines.fit_baseline(baselines.MAJORITY_CLASS, prepared, 42)
    accuracy = classification_metrics(splits.y_test, majority.predict_proba(splits.x_test)[:, 1])["accuracy"]
    assert accuracy == pytest.approx(1 - splits.y_test.mean())  # "always no failure"
    logistic = baselines.fit_baseline(baselines.LOGISTIC_REGRESSION, prepared, 42)
    pr_auc = classification_metrics(splits.y_test, logistic.predict_proba(splits.x_test)[:, 1])["pr_auc"]
    assert 0.15 < pr_auc < 0.6  # well above chance (0.035), well below XGBoost
    with pytest.raises(ValueError, match="baseline must be one of"):
        baselines.fit_baseline("random forest", prepared, 42)


class _Registry:
    """The three MlflowClient calls registry.promote makes, recorded."""

    def __init__(self, champion: str | None) -> None:
        self.champion = champion
        self.aliases: dict[str, str] = {}

    def get_model_version_by_alias(self, name: str, alias: str):
        if self.champion is None:
            from mlflow.exceptions import MlflowException
            from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

            # What an MLflow 2.16 server answers for a missing alias (checked against one).
            raise MlflowException(f"Registered model alias {alias} not found.", error_code=INVALID_PARAMETER_VALUE)
        return type("Version", (), {"version": self.champion})()

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.aliases[alias] = version


@pytest.mark.parametrize(
    ("champion", "theirs", "alias"),
    [
        (None, None, "champion"),
        ("1", 0.80, "champion"),
        ("1", 0.90, "challenger"),
        ("1", 0.85, "challenger"),
    ],
)
def test_champion_moves_only_to_a_better_version(champion, theirs, alias) -> None:
    client = _Registry(champion)
    promotion = registry.promote(client, "m", 2, 0.85, lambda version: theirs)
    assert promotion.alias == alias and client.aliases == {alias: "2"}
    assert ("beats" in promotion.reason) == (alias == "champion" and champion is not None) or champion is None
