"""Which workload resources the emulator can create: a target only if all it depends on is emulated."""

from __future__ import annotations

from isolated_studio.ops.emulator_scope import emulator_targets, excluded, main


def test_a_resource_that_depends_on_an_unsupported_one_is_left_out_even_through_a_data_source():
    stack = {
        "resource": {
            "aws_s3_bucket": {"b": {"bucket": "x"}},
            "aws_s3_bucket_policy": {
                "p": {"bucket": "${aws_s3_bucket.b.id}", "policy": "${data.aws_iam_policy_document.d.json}"}
            },
            "aws_s3_bucket_versioning": {"v": {"bucket": "${aws_s3_bucket.b.id}"}},
            "aws_sagemaker_domain": {"dom": {"domain_name": "d"}},
            "aws_iam_role": {"r": {"name": "r", "depends_on": ["aws_sagemaker_domain.dom"]}},
        },
        "data": {"aws_iam_policy_document": {"d": {"statement": [{"resources": ["${aws_sagemaker_domain.dom.arn}"]}]}}},
    }
    assert emulator_targets(stack) == ["aws_s3_bucket.b", "aws_s3_bucket_versioning.v"]
    assert excluded(stack) == ["aws_iam_role.r", "aws_s3_bucket_policy.p", "aws_sagemaker_domain.dom"]


def test_the_workload_targets_its_buckets_objects_key_and_roles_not_studio_or_codeartifact(synth):
    targets = emulator_targets(synth.stacks["workload"])
    types = {t.split(".")[0] for t in targets}
    assert {
        "aws_kms_key",
        "aws_s3_bucket",
        "aws_s3_bucket_policy",
        "aws_s3_object",
        "aws_iam_role",
        "aws_iam_role_policy",
    } <= types
    # moto has no AmazonSageMakerFullAccess to attach.
    assert "aws_iam_role_policy_attachment" not in types
    # The MLflow role's exclusive policies are applied; the execution role's name that attachment and
    # the domain-bound studio-domain policy, so they are not.
    exclusive = sorted(t.split(".")[1].split("_")[0] for t in targets if "_exclusive." in t)
    assert exclusive == ["iam", "iam"] and all("mlflow-exclusive" in t for t in targets if "_exclusive." in t)
    assert len([t for t in excluded(synth.stacks["workload"]) if "execution-exclusive" in t]) == 2
    assert not [t for t in targets if t.startswith(("aws_sagemaker", "aws_codeartifact"))]
    # The MLflow bucket's CORS rule admits the domain's URL: it needs the domain.
    assert [t for t in excluded(synth.stacks["workload"]) if t.startswith("aws_s3_")] == [
        next(a for a in excluded(synth.stacks["workload"]) if a.startswith("aws_s3_bucket_cors_configuration."))
    ]


def test_the_command_prints_target_arguments(synth, capsys):
    assert main([str(synth.dirs["workload"])]) == 0
    lines = capsys.readouterr().out.split()
    assert lines and all(line.startswith("-target=") for line in lines)


def test_the_emulator_guard_is_never_a_target_and_exists_only_in_the_emulator(synth):
    """The guard (modules/emulator_guard.py) refuses whole-workload plans against moto; the
    scoped plans leave it out, and a real environment's stack has neither it nor its variable."""
    assert "terraform_data" not in synth.stacks["workload"].get("resource", {})
    assert "variable" not in synth.stacks["workload"]
    stack = {
        "resource": {
            "terraform_data": {
                "guard": {
                    "lifecycle": {
                        "precondition": [{"condition": "${var.emulator_whole_stack_plan_only}", "error_message": "No."}]
                    }
                }
            },
            "aws_s3_bucket": {"b": {"bucket": "x"}},
        }
    }
    assert emulator_targets(stack) == ["aws_s3_bucket.b"]
