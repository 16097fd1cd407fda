"""The architecture diagram, generated from the synthesized stacks (``make diagram``).

Every resource of every stack is placed in one component of the picture (the VPC, the
interface endpoints, a bucket with its settings and objects, a role with its policies ...),
and a component points at another when one of its resources refers to one of the other's,
directly, through a policy document it uses, or across stacks through the network's outputs
that the workload reads. Nothing is drawn by hand, so the picture cannot drift from what
Terraform creates: tests/unit/devtools/test_architecture_diagram.py regenerates it from the session's
synthesis and fails when docs/architecture.md or README differ.

The output is Mermaid (a ``flowchart`` in a fenced block): GitHub, GitLab and most editors
render it as a picture, it needs no binary toolchain (Graphviz, a headless browser) on the
machines that build the docs, and a change shows in review as a readable text diff.

    python -m devtools.architecture [cdktf.out]     # rewrites docs/architecture.md and README's copy
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"
START = "<!-- architecture diagram: written by `make diagram` from the synthesized stacks -->"
END = "<!-- end of architecture diagram -->"

STACK_TITLES = {
    "state": "state stack: local state file",
    "network": "network stack: S3 state",
    "workload": "workload stack: S3 state",
}
_REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_-]+))?")


@dataclass
class Component:
    key: str
    stack: str
    title: str
    details: list[str] = field(default_factory=list)
    shape: str = "box"  # box, db (a store), ext (outside the account)

    def add(self, detail: str) -> None:
        if detail and detail not in self.details:
            self.details.append(detail)


@dataclass
class Diagram:
    components: dict[str, Component] = field(default_factory=dict)
    edges: dict[tuple[str, str], str] = field(default_factory=dict)

    def component(self, key: str, stack: str, title: str, shape: str = "box") -> Component:
        if key not in self.components:
            self.components[key] = Component(key, stack, title, shape=shape)
        return self.components[key]

    def edge(self, source: str, target: str, label: str = "") -> None:
        if source != target and (source, target) not in self.edges:
            self.edges[(source, target)] = label


def _refs(value: Any) -> Iterator[tuple[bool, str, str, str | None]]:
    """(is data, type, name, attribute) of every reference in a value."""
    if isinstance(value, str):
        for match in _REF.finditer(value):
            yield bool(match.group(1)), match.group(2), match.group(3), match.group(4)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _body(stack: Mapping[str, Any], rtype: str, name: str) -> Mapping[str, Any]:
    return stack.get("resource", {}).get(rtype, {}).get(name, {})


def _parent(stack: Mapping[str, Any], body: Mapping[str, Any], attribute: str, rtype: str) -> str | None:
    """The name of the ``rtype`` resource that ``body[attribute]`` refers to."""
    for is_data, ref_type, ref_name, _ in _refs(body.get(attribute)):
        if not is_data and ref_type == rtype:
            return ref_name
    return None


def _endpoint_service(body: Mapping[str, Any]) -> str:
    service = str(body.get("service_name", ""))
    return re.sub(
        r"^(com\.amazonaws|aws\.sagemaker)\.[a-z0-9-]+\.",
        lambda m: "sagemaker." if m.group(1) == "aws.sagemaker" else "",
        service,
    )


# --------------------------------------------------------------------------- placing resources


Placer = Callable[[Diagram, str, Mapping[str, Any], str, Mapping[str, Any]], str | None]


def _place(
    d: Diagram, stack_name: str, stack: Mapping[str, Any], rtype: str, name: str, body: Mapping[str, Any]
) -> str | None:
    """The component key of one resource (created on first use), or None to leave it out."""
    s = stack_name
    if rtype in ("aws_s3_bucket",):
        bucket = str(body.get("bucket", name))
        kind = next((k for k in ("tfstate", "logs", "notebooks", "mlflow") if k in bucket), name)
        titles = {
            "tfstate": "State bucket",
            "logs": "Access-log bucket",
            "notebooks": "Notebooks bucket",
            "mlflow": "MLflow artifact bucket",
        }
        c = d.component(f"{s}_bucket_{name}", s, titles.get(kind, "Bucket"), "db")
        c.add(_bucket_name(bucket))
        return c.key
    if rtype.startswith("aws_s3_bucket_") or rtype == "aws_s3_object":
        parent = _parent(stack, body, "bucket", "aws_s3_bucket")
        if parent is None:
            return None
        key = f"{s}_bucket_{parent}"
        _place(d, s, stack, "aws_s3_bucket", parent, _body(stack, "aws_s3_bucket", parent))
        c = d.components[key]
        if rtype == "aws_s3_bucket_server_side_encryption_configuration":
            rule = (body.get("rule") or [{}])[0].get("apply_server_side_encryption_by_default", {})
            c.add("SSE-KMS" if rule.get("sse_algorithm") == "aws:kms" else "SSE-S3")
        elif rtype == "aws_s3_bucket_versioning":
            c.add("versioned")
        elif rtype == "aws_s3_bucket_policy":
            c.add("bucket policy")
        elif rtype == "aws_s3_object":
            c.add("lab files and data set")
        return key
    if rtype == "aws_dynamodb_table":
        return d.component(f"{s}_lock_table", s, "Lock table (DynamoDB)", "db").key
    if rtype in ("aws_kms_key", "aws_kms_alias"):
        key_name = name if rtype == "aws_kms_key" else _parent(stack, body, "target_key_id", "aws_kms_key")
        if key_name is None:
            return None
        key_body = _body(stack, "aws_kms_key", key_name)
        title = "KMS key"
        if "flow-log" in key_name:
            return _flow_logs(d, s)
        if "dns" in key_name or "query" in key_name:
            return _dns(d, s)
        c = d.component(f"{s}_kms_{key_name}", s, title)
        if key_body.get("enable_key_rotation"):
            c.add("rotation on")
        return c.key
    if rtype == "aws_vpc":
        c = d.component(f"{s}_vpc", s, "VPC")
        c.add(str(body.get("cidr_block", "")))
        c.add("no internet or NAT gateway")
        return c.key
    if rtype in ("aws_subnet", "aws_route_table", "aws_route_table_association"):
        c = d.component(f"{s}_subnets", s, "Private subnets")
        subnets = stack.get("resource", {}).get("aws_subnet", {})
        c.details[:] = [f"{len(subnets)}, one per availability zone", "route tables: the local route only"]
        return c.key
    if rtype == "aws_default_security_group":
        return f"{s}_vpc"
    if rtype == "aws_security_group":
        title = "Endpoint security group" if "endpoint" in str(body.get("name", name)) else "Studio security group"
        return d.component(f"{s}_sg_{name}", s, title).key
    if rtype.startswith("aws_vpc_security_group_"):
        group = _parent(stack, body, "security_group_id", "aws_security_group")
        if group is None:
            return None
        _place(d, s, stack, "aws_security_group", group, _body(stack, "aws_security_group", group))
        c = d.components[f"{s}_sg_{group}"]
        direction = "in" if "ingress" in rtype else "out"
        what = body.get("cidr_ipv4") or (
            "itself" if _parent(stack, body, "referenced_security_group_id", "aws_security_group") == group else None
        )
        what = what or ("the S3 prefix list" if body.get("prefix_list_id") else "a security group")
        ports = body.get("from_port")
        port = f"{ports}" if ports == body.get("to_port") else f"{ports}-{body.get('to_port')}"
        c.add(f"{direction}: {body.get('ip_protocol')} {port} {what}".replace(" None", ""))
        return c.key
    if rtype == "aws_vpc_endpoint":
        if body.get("vpc_endpoint_type") == "Gateway":
            c = d.component(f"{s}_s3_gateway", s, "S3 gateway endpoint")
            c.add("on the private route tables")
            return c.key
        c = d.component(f"{s}_interface_endpoints", s, "Interface endpoints, private DNS")
        c.add(_endpoint_service(body))
        return c.key
    if rtype == "aws_vpc_endpoint_policy":
        endpoint = _parent(stack, body, "vpc_endpoint_id", "aws_vpc_endpoint")
        if endpoint is None:
            return None
        key = _place(d, s, stack, "aws_vpc_endpoint", endpoint, _body(stack, "aws_vpc_endpoint", endpoint))
        d.components[key].details.insert(0, "endpoint policy: our account's principals and resources") if (
            "endpoint policy: our account's principals and resources" not in d.components[key].details
        ) else None
        return key
    if rtype.startswith("aws_route53_resolver_firewall"):
        return _dns(d, s)
    if rtype.startswith("aws_route53_resolver_query_log"):
        return _dns(d, s)
    if rtype in ("aws_flow_log",):
        return _flow_logs(d, s)
    if rtype == "aws_cloudwatch_log_group":
        return _dns(d, s) if "dns" in name or "query" in name else _flow_logs(d, s)
    if rtype == "aws_iam_role":
        role = str(body.get("name", name))
        if "flow-log" in role or "flow-log" in name:
            return _flow_logs(d, s)
        title = "MLflow role" if role.endswith("mlflow") else "Studio execution role"
        c = d.component(f"{s}_role_{name}", s, title)
        if body.get("permissions_boundary"):
            c.add("permissions boundary")
        return c.key
    if rtype in ("aws_iam_role_policy", "aws_iam_role_policy_attachment"):
        role = _parent(stack, body, "role", "aws_iam_role")
        if role is None:
            return None
        key = _place(d, s, stack, "aws_iam_role", role, _body(stack, "aws_iam_role", role))
        c = d.components[key]
        if rtype == "aws_iam_role_policy_attachment":
            c.add(str(body.get("policy_arn", "")).rsplit("/", 1)[-1])
        elif "guardrail" in str(body.get("name", "")):
            c.add("guardrails (explicit denies)")
        return key
    if rtype in ("aws_iam_role_policies_exclusive", "aws_iam_role_policy_attachments_exclusive"):
        role = _parent(stack, body, "role_name", "aws_iam_role")
        if role is None:
            return None
        key = _place(d, s, stack, "aws_iam_role", role, _body(stack, "aws_iam_role", role))
        d.components[key].add("only the stacks' policies (exclusive)")
        return key
    if rtype == "aws_iam_policy":
        return None  # the boundary, shown on the role that names it
    if rtype == "aws_sagemaker_domain":
        c = d.component(f"{s}_domain", s, "SageMaker Studio domain")
        c.add(str(body.get("app_network_access_type", "")))
        c.add(f"{body.get('auth_mode', '')} auth, home EFS encrypted")
        return c.key
    if rtype == "aws_sagemaker_user_profile":
        c = d.component(f"{s}_profiles", s, "User profiles")
        c.add(str(body.get("user_profile_name", name)))
        return c.key
    if rtype == "aws_sagemaker_studio_lifecycle_config":
        c = d.component(f"{s}_lifecycle", s, "JupyterLab lifecycle configuration")
        c.add("bootstrap: the start script from the notebooks bucket")
        return c.key
    if rtype == "aws_sagemaker_mlflow_tracking_server":
        c = d.component(f"{s}_mlflow", s, "MLflow tracking server")
        c.add(f"{body.get('tracking_server_size', '')}, MLflow {body.get('mlflow_version', '')}")
        return c.key
    if rtype in ("aws_codeartifact_domain", "aws_codeartifact_repository"):
        c = d.component(f"{s}_codeartifact", s, "CodeArtifact")
        if rtype == "aws_codeartifact_repository":
            upstream = body.get("external_connections")
            c.add(f"{body.get('repository')}" + (" (public:pypi connection)" if upstream else ""))
            if upstream:
                d.component("pypi", "", "PyPI", "ext").add("CodeArtifact's own connection, not the VPC's")
                d.edge(c.key, "pypi")
        return c.key
    if rtype == "terraform_data":
        return None  # the emulator's plan guard
    return d.component(f"{s}_{rtype}", s, rtype).key


def _bucket_name(bucket: str) -> str:
    return re.sub(r"\$\{[^}]*account_id\}", "{account}", bucket)


def _flow_logs(d: Diagram, s: str) -> str:
    c = d.component(f"{s}_flow_logs", s, "VPC flow logs")
    c.add("KMS-encrypted log group")
    return c.key


def _dns(d: Diagram, s: str) -> str:
    c = d.component(f"{s}_dns_firewall", s, "Route 53 Resolver DNS Firewall")
    for detail in ("AWS service names allowed, the rest NXDOMAIN", "fails closed", "every query logged"):
        c.add(detail)
    return c.key


# --------------------------------------------------------------------------- building


def build(stacks: Mapping[str, Mapping[str, Any]]) -> Diagram:
    d = Diagram()
    placed: dict[tuple[str, str, str], str] = {}
    for stack_name in ("state", "network", "workload"):
        stack = stacks.get(stack_name, {})
        for rtype, items in stack.get("resource", {}).items():
            for name, body in items.items():
                key = _place(d, stack_name, stack, rtype, name, body)
                if key:
                    placed[(stack_name, rtype, name)] = key
    outputs = _network_outputs(stacks.get("network", {}))
    for stack_name in ("state", "network", "workload"):
        stack = stacks.get(stack_name, {})
        documents = stack.get("data", {}).get("aws_iam_policy_document", {})
        for rtype, items in stack.get("resource", {}).items():
            for name, body in items.items():
                source = placed.get((stack_name, rtype, name))
                if source is None:
                    continue
                for target in _targets(stack_name, stack, body, documents, placed, outputs):
                    d.edge(source, target)
    return d


def _network_outputs(network: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Output name -> (type, name) of the network resource it holds."""
    found = {}
    for output, body in network.get("output", {}).items():
        for is_data, rtype, name, _ in _refs(body.get("value")):
            if not is_data:
                found[output] = (rtype, name)
    return found


def _targets(
    stack_name: str,
    stack: Mapping[str, Any],
    body: Mapping[str, Any],
    documents: Mapping[str, Any],
    placed: Mapping[tuple[str, str, str], str],
    outputs: Mapping[str, tuple[str, str]],
) -> Iterator[str]:
    for is_data, rtype, name, attribute in _refs(body):
        if not is_data:
            target = placed.get((stack_name, rtype, name))
            if target:
                yield target
        elif rtype == "aws_iam_policy_document":
            for inner_data, inner_type, inner_name, _ in _refs(documents.get(name, {})):
                target = placed.get((stack_name, inner_type, inner_name)) if not inner_data else None
                if target:
                    yield target
        elif rtype == "terraform_remote_state" and attribute == "outputs":
            pass
    for match in re.finditer(r"\.outputs\.([A-Za-z0-9_-]+)", json.dumps(body)):
        held = outputs.get(match.group(1))
        if held and ("network", *held) in placed:
            yield placed[("network", *held)]


# --------------------------------------------------------------------------- rendering


def render(d: Diagram) -> str:
    ids = {key: f"c{index}" for index, key in enumerate(sorted(d.components))}
    lines = ["```mermaid", "flowchart LR"]
    for stack in ("state", "network", "workload"):
        members = sorted((c for c in d.components.values() if c.stack == stack), key=lambda c: c.title)
        if not members:
            continue
        lines.append(f'  subgraph {stack}["{STACK_TITLES[stack]}"]')
        for c in members:
            lines.append(f"    {_node(ids[c.key], c)}")
        lines.append("  end")
    for c in sorted((c for c in d.components.values() if not c.stack), key=lambda c: c.title):
        lines.append(f"  {_node(ids[c.key], c)}")
    for (source, target), label in sorted(d.edges.items(), key=lambda e: (ids[e[0][0]], ids[e[0][1]])):
        arrow = "-.->" if d.components[source].stack != d.components[target].stack else "-->"
        lines.append(f"  {ids[source]} {arrow}{f'|{label}|' if label else ''} {ids[target]}")
    lines.append("```")
    return "\n".join(lines)


def _node(node_id: str, c: Component) -> str:
    text = "<br/>".join([f"<b>{c.title}</b>", *(_escape(x) for x in c.details if x)])
    opening, closing = {"db": ("[(", ")]"), "ext": ("{{", "}}")}.get(c.shape, ("[", "]"))
    return f'{node_id}{opening}"{text}"{closing}'


def _escape(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "&lt;").replace(">", "&gt;")


def load(outdir: Path) -> dict[str, dict[str, Any]]:
    stacks = {}
    for stack in STACK_TITLES:
        path = outdir / "stacks" / stack / "cdk.tf.json"
        if path.is_file():
            stacks[stack] = json.loads(path.read_text())
    return stacks


def with_diagram(text: str, diagram: str) -> str:
    start, end = text.index(START) + len(START), text.index(END)
    return text[:start] + "\n" + diagram + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else ROOT / "cdktf.out"
    stacks = load(outdir)
    if set(stacks) != set(STACK_TITLES):
        print(f"error: {outdir} holds no synthesized app (run `make synth`)", file=sys.stderr)
        return 2
    diagram = render(build(stacks))
    for path in (DOC, README):
        path.write_text(with_diagram(path.read_text(encoding="utf-8"), diagram), encoding="utf-8")
    print(f"wrote the diagram into {DOC.relative_to(ROOT)} and {README.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
