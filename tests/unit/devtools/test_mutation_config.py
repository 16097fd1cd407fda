"""`make mutation`'s configuration and verdicts (the run itself is too long for `make test`)."""

from __future__ import annotations

import pytest

from devtools import mutation as m


def test_every_target_names_a_module_and_fast_tests_that_exist():
    targets, survivors = m.load_targets()
    assert {
        "isolation",
        "config",
        "plan_review",
        "cleanup",
        "guard",
        "workflow_destroy",
        "destroy_aws",
        "iam_policies",
        "data_validation",
    } <= set(targets)
    for survivor in survivors:
        assert survivor.mutant.startswith(targets[survivor.target].module + "."), survivor


def test_notebook_packages_are_mutated_where_the_tests_import_them_from():
    target = m.Target("data", "notebooks/pm_lab/data.py", ("tests/unit/lab/test_lab_data.py",))
    assert target.workspace_source == "pm_lab/data.py" and target.module == "pm_lab.data"


def test_functions_limit_a_target_to_one_feature():
    target = m.Target("wf", "isolated_studio/ops/workflow.py", (), ("*destroy*",))
    assert target.selects("isolated_studio.ops.workflow.xǁWorkflowǁ_destroy_stack__mutmut_3")
    assert target.selects("isolated_studio.ops.workflow.x_destroy_refusal__mutmut_1")
    assert not target.selects("isolated_studio.ops.workflow.xǁWorkflowǁplan__mutmut_1")
    assert target.mutant_globs() == ["isolated_studio.ops.workflow.x**destroy*__mutmut_*"]


def result(name: str, **status: str) -> m.Result:
    return m.Result(m.Target(name, f"{name}.py", ()), status=status, commit="abc1234")


def test_survivors_must_be_reviewed_and_stale_reviews_are_reported():
    results = [result("guard", a="killed", b="survived", c="timeout", d="no tests")]
    reviewed = [m.Survivor("guard", "b", "equivalent: a default never used"), m.Survivor("guard", "gone", "was one")]
    unreviewed, stale = m.review(results, reviewed)
    assert unreviewed == ["guard: d"]  # a mutant no test runs is a survivor too
    assert [s.mutant for s in stale] == ["gone"]
    assert results[0].score == pytest.approx(2 / 4)


def test_report_lists_scores_with_their_commit_and_every_survivor_with_its_review():
    r = result("guard", a="killed", b="survived")
    r.diffs = {"b": "-    x = 1\n+    x = 2"}
    text = m.render([r], [m.Survivor("guard", "b", "harmless: only a log line")])
    assert "| guard | guard.py | abc1234 | 2 | 1 | 50.0% |" in text
    assert "Reviewed: harmless: only a log line" in text and "+    x = 2" in text


def test_a_survivor_without_a_reason_is_a_configuration_error(tmp_path):
    path = tmp_path / "mutation.toml"
    path.write_text(
        '[target.guard]\nsource = "isolated_studio/ops/guard.py"\ntests = ["tests/unit/ops/test_guard.py"]\n'
        '[[survivor]]\ntarget = "guard"\nmutant = "isolated_studio.ops.guard.x_confirm__mutmut_1"\nreason = ""\n'
    )
    with pytest.raises(m.MutationConfigError, match="needs a reason"):
        m.load_targets(path)
