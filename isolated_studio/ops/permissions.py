"""What a plan grants: IAM, bucket and key policies rendered statement by statement.

A reviewer approving ``aws_iam_role_policy.x: create`` needs to see what it grants. For every
IAM role (trust policy and inline policies), role policy, managed policy, policy
attachment, bucket policy and key policy that a plan creates, changes or destroys, this
module compares the deployed document (the plan's prior state) with the planned one,
statement by statement: effect x actions x resources x principals x conditions.

The planned document is the attribute's JSON where the plan knows it. Where it is known
only after apply (Terraform defers every ``aws_iam_policy_document`` that depends on a
resource with pending changes: a tag change alone defers them all), it is rendered from the
synthesized ``aws_iam_policy_document`` (the stack's ``cdk.tf.json``, else the plan's
configuration of it) with every reference the plan knows replaced by its value: the ARN of
a role that exists, the account, the bucket's name. A value created in this apply stays a
readable reference (``${aws_iam_role.x.arn}``). A document whose statements do not change
is not listed.

A change that widens access (an Allow granted, a Deny removed) is marked, listed first and
called out at the top of the review, as are wildcards in actions or resources,
``NotAction``/``NotResource`` allows, services the stack did not grant before,
``iam:PassRole`` and ``Principal: *``.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from isolated_studio.checks.policy_documents import render_policy_document
from isolated_studio.ops.plan_actions import classify

UNKNOWN = "(known after apply)"

# resource type -> (attribute holding a policy document, what it is)
POLICY_ATTRIBUTES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "aws_iam_role": (("assume_role_policy", "trust policy"),),
    "aws_iam_role_policy": (("policy", "inline policy"),),
    "aws_iam_policy": (("policy", "managed policy"),),
    "aws_iam_user_policy": (("policy", "inline user policy"),),
    "aws_iam_group_policy": (("policy", "inline group policy"),),
    "aws_s3_bucket_policy": (("policy", "bucket policy"),),
    "aws_kms_key": (("policy", "key policy"),),
    "aws_kms_key_policy": (("policy", "key policy"),),
    "aws_vpc_endpoint_policy": (("policy", "endpoint policy"),),
    "aws_vpc_endpoint": (("policy", "endpoint policy"),),
}
ATTACHMENT_TYPES = frozenset({"aws_iam_role_policy_attachment", "aws_iam_policy_attachment"})
RESOURCE_POLICY_KINDS = frozenset({"bucket policy", "key policy", "endpoint policy", "trust policy"})


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    not_principals: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    def services(self) -> set[str]:
        return {a.split(":", 1)[0].lower() for a in self.actions if ":" in a}


@dataclass(frozen=True)
class DocumentChange:
    """One policy document of one resource: what the plan grants and removes."""

    address: str
    kind: str
    action: str  # create / update / replace / delete
    subject: str  # the role, bucket, key... it applies to, as far as the plan knows
    granted: tuple[Statement, ...] = ()
    removed: tuple[Statement, ...] = ()
    note: str = ""

    @property
    def widens(self) -> bool:
        """Whether it lets more through: an Allow granted that no removed Allow covered, or a Deny
        removed that no granted Deny covers."""
        old_allows = [s for s in self.removed if s.allows]
        new_denies = [s for s in self.granted if not s.allows]
        return any(not any(covers(o, s) for o in old_allows) for s in self.granted if s.allows) or any(
            not any(covers(n, s) for n in new_denies) for s in self.removed if not s.allows
        )


def _matched(items: Sequence[str], patterns: Sequence[str]) -> bool:
    return all(any(fnmatch.fnmatchcase(i.lower(), p.lower()) for p in patterns) for i in items)


def covers(wider: Statement, narrower: Statement) -> bool:
    """Whether ``wider`` lets through (or denies) everything ``narrower`` does, as far as the
    statements tell: the same principals, at most its conditions, its actions and resources
    matched by ``wider``'s patterns. NotAction / NotResource statements cover only themselves."""
    if wider.effect != narrower.effect or wider.not_actions or wider.not_resources:
        return wider == narrower
    return (
        set(narrower.principals) <= set(wider.principals)
        and set(wider.conditions) <= set(narrower.conditions)
        and not narrower.not_actions
        and not narrower.not_resources
        and _matched(narrower.actions, wider.actions)
        and _matched(narrower.resources, wider.resources or ("*",))
    )


@dataclass(frozen=True)
class Callout:
    address: str
    message: str


@dataclass(frozen=True)
class PermissionReview:
    documents: tuple[DocumentChange, ...] = ()
    callouts: tuple[Callout, ...] = ()
    # Documents the plan rewrites (known only after apply) that keep their statements.
    unchanged: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.documents)


# --------------------------------------------------------------------------- reading


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(sorted(str(v) if v is not None else UNKNOWN for v in value))


def _principals(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if value == "*":
        return ("*",)
    items = []
    for kind, ids in value.items() if isinstance(value, Mapping) else ():
        items += [f"{kind}: {i}" for i in _as_tuple(ids)]
    return tuple(sorted(items))


def _conditions(value: Any) -> tuple[str, ...]:
    items = []
    for operator, keys in (value or {}).items():
        for key, values in (keys or {}).items():
            items.append(f"{operator} {key} = {', '.join(_as_tuple(values))}")
    return tuple(sorted(items))


def statements_of_json(document: Mapping[str, Any]) -> tuple[Statement, ...]:
    raw = document.get("Statement", [])
    raw = [raw] if isinstance(raw, Mapping) else raw
    return tuple(
        Statement(
            effect=s.get("Effect", "Allow"),
            actions=_as_tuple(s.get("Action")),
            not_actions=_as_tuple(s.get("NotAction")),
            resources=_as_tuple(s.get("Resource")),
            not_resources=_as_tuple(s.get("NotResource")),
            principals=_principals(s.get("Principal")),
            not_principals=_principals(s.get("NotPrincipal")),
            conditions=_conditions(s.get("Condition")),
        )
        for s in raw
    )


def _known(value: Any, unknown: Any) -> Any:
    """``value`` with every part Terraform marks unknown replaced by UNKNOWN."""
    if unknown is True:
        return UNKNOWN
    if isinstance(value, list):
        marks = unknown if isinstance(unknown, list) else []
        return [_known(v, marks[i] if i < len(marks) else None) for i, v in enumerate(value)] or (
            [UNKNOWN] if unknown else []
        )
    if isinstance(value, Mapping):
        key_marks: Mapping[Any, Any] = unknown if isinstance(unknown, Mapping) else {}
        keys = set(value) | {k for k, v in key_marks.items() if v is True}
        return {k: _known(value.get(k), key_marks.get(k)) for k in keys}
    return value


def statements_of_data_source(values: Mapping[str, Any], unknown: Any = None) -> tuple[Statement, ...]:
    """Statements of an ``aws_iam_policy_document`` from its arguments (parts may be unknown)."""
    values = _known(values, unknown or {})
    if isinstance(values.get("json"), str) and values["json"] != UNKNOWN:
        return statements_of_json(json.loads(values["json"]))
    result = []
    statements = values.get("statement") or []
    for s in statements if isinstance(statements, list) else []:

        def principals(blocks: Any) -> tuple[str, ...]:
            if blocks == UNKNOWN:
                return (UNKNOWN,)
            return tuple(
                sorted(
                    f"{b.get('type')}: {i}" if b.get("type") != "*" else "*"
                    for b in blocks or []
                    for i in _as_tuple(b.get("identifiers"))
                )
            )

        conditions = s.get("condition") or []
        result.append(
            Statement(
                effect=s.get("effect") or "Allow",
                actions=_as_tuple(s.get("actions")),
                not_actions=_as_tuple(s.get("not_actions")),
                resources=_as_tuple(s.get("resources")),
                not_resources=_as_tuple(s.get("not_resources")),
                principals=principals(s.get("principals")),
                not_principals=principals(s.get("not_principals")),
                conditions=tuple(
                    sorted(
                        f"{c.get('test')} {c.get('variable')} = {', '.join(_as_tuple(c.get('values')))}"
                        for c in (conditions if isinstance(conditions, list) else [])
                        if isinstance(c, Mapping)
                    )
                ),
            )
        )
    return tuple(result)


def _parse(text: Any) -> tuple[Statement, ...]:
    if not isinstance(text, str) or not text:
        return ()
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return ()
    return statements_of_json(document) if isinstance(document, Mapping) else ()


def _modules(module: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    if not module:
        return
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _modules(child)


def _data_sources(plan: Mapping[str, Any]) -> dict[str, tuple[Mapping[str, Any], Any]]:
    """``{address: (values, unknown marks)}`` of every policy-document data source in the plan."""
    found: dict[str, tuple[Mapping[str, Any], Any]] = {}
    for source in (
        plan.get("prior_state", {}).get("values", {}).get("root_module"),
        plan.get("planned_values", {}).get("root_module"),
    ):
        for r in _modules(source):
            if r.get("mode") == "data" and r.get("type") == "aws_iam_policy_document":
                found.setdefault(r["address"], (r.get("values", {}), None))
    for rc in plan.get("resource_changes", []):
        if rc.get("mode") == "data" and rc.get("type") == "aws_iam_policy_document":
            change = rc.get("change", {})
            found[rc["address"]] = (change.get("after") or {}, change.get("after_unknown"))
    return found


def _references(plan: Mapping[str, Any]) -> dict[tuple[str, str], list[str]]:
    """``{(resource address, attribute): [referenced addresses]}`` from the configuration."""
    refs: dict[tuple[str, str], list[str]] = {}

    def walk(module: Mapping[str, Any] | None, prefix: str) -> None:
        if not module:
            return
        for r in module.get("resources", []):
            for attribute, expression in (r.get("expressions") or {}).items():
                if isinstance(expression, Mapping) and expression.get("references"):
                    refs[(prefix + r["address"], attribute)] = list(expression["references"])
        for name, call in (module.get("module_calls") or {}).items():
            walk(call.get("module"), f"{prefix}module.{name}.")

    walk(plan.get("configuration", {}).get("root_module"), "")
    return refs


def _document(
    value: Any,
    unknown: bool,
    address: str,
    attribute: str,
    plan: Mapping[str, Any],
    sources: Mapping[str, tuple[Mapping[str, Any], Any]],
    refs: Mapping[tuple[str, str], list[str]],
    synthesized: Mapping[str, Any] | None = None,
) -> tuple[tuple[Statement, ...], str]:
    if isinstance(value, str) and value and not unknown:
        statements = _parse(value)
        return statements, "" if statements else "the document has no statement Terraform shows"
    if not unknown:
        return (), ""
    base = address.split("[", 1)[0]
    for ref in refs.get((base, attribute), []):
        ref = ref[: -len(".json")] if ref.endswith(".json") else ref
        if ref not in sources and not ref.startswith("data.aws_iam_policy_document."):
            continue
        rendered = _rendered(ref, plan, synthesized)
        if rendered is not None:
            document, pending = rendered
            note = (
                ""
                if not pending
                else (
                    f"{pending} value(s) created in this apply shown as the references the synthesized document makes"
                )
            )
            return statements_of_json(document), note
        if ref in sources:
            values, marks = sources[ref]
            return statements_of_data_source(values, marks), f"from `{ref}`; parts marked {UNKNOWN}"
    return (), f"the document is {UNKNOWN}"


_REFERENCE = re.compile(r"\$\{([^}]+)\}")


def _rendered(
    ref: str, plan: Mapping[str, Any], synthesized: Mapping[str, Any] | None
) -> tuple[dict[str, Any], int] | None:
    """The data source's document as the synthesis wrote it, with what the plan knows filled in,
    and how many references stay (values this apply creates)."""
    name = ref.split(".", 2)[2]
    block = ((synthesized or {}).get("data", {}).get("aws_iam_policy_document") or {}).get(name)
    if block is None:
        block = _configured_block(plan, ref)
    if block is None:
        return None
    known = _known_values(plan)
    pending: set[str] = set()

    def fill(value: Any) -> Any:
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, Mapping):
            return {k: fill(v) for k, v in value.items()}
        if not isinstance(value, str) or "${" not in value:
            return value

        def one(match: re.Match[str]) -> str:
            found = _lookup(known, match.group(1))
            if isinstance(found, str):
                return found
            pending.add(match.group(1))
            return match.group(0)

        return _REFERENCE.sub(one, value)

    return fill(render_policy_document(block)), len(pending)


def _configured_block(plan: Mapping[str, Any], ref: str) -> dict[str, Any] | None:
    """The data source's arguments as the plan's configuration holds them (constant values)."""
    for r in (plan.get("configuration") or {}).get("root_module", {}).get("resources") or []:
        if r.get("address") == ref:
            return _constants(r.get("expressions") or {})
    return None


def _constants(expressions: Any) -> Any:
    if isinstance(expressions, list):
        return [_constants(e) for e in expressions]
    if isinstance(expressions, Mapping):
        if "constant_value" in expressions:
            return expressions["constant_value"]
        return {k: _constants(v) for k, v in expressions.items() if k != "references"}
    return expressions


def _known_values(plan: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Per address, the values a reference may take: what the plan knows after apply, and for
    what the plan does not list (data sources read before), the prior state."""
    found: dict[str, Mapping[str, Any]] = {}
    for r in _modules(plan.get("prior_state", {}).get("values", {}).get("root_module")):
        found[r["address"]] = r.get("values") or {}
    changing = {rc["address"]: rc for rc in plan.get("resource_changes", [])}
    for r in _modules(plan.get("planned_values", {}).get("root_module")):
        values = dict(r.get("values") or {})
        rc = changing.get(r["address"])
        unknown = ((rc or {}).get("change") or {}).get("after_unknown") or {}
        # A value unknown after apply is not the prior one (a replaced role gets a new ARN).
        found[r["address"]] = {k: v for k, v in values.items() if unknown.get(k) is not True}
    return found


def _lookup(known: Mapping[str, Mapping[str, Any]], expression: str) -> Any:
    parts = expression.split(".")
    if parts[0] == "data":
        address, rest = ".".join(parts[:3]), parts[3:]
    else:
        address, rest = ".".join(parts[:2]), parts[2:]
    value: Any = known.get(address)
    for step in rest:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _subject(rtype: str, values: Mapping[str, Any]) -> str:
    for key in ("role", "name", "bucket", "key_id", "vpc_endpoint_id", "user", "group"):
        if key in values and values[key]:
            return f"{key} `{values[key]}`"
    return ""


def review_permissions(plan: Mapping[str, Any], synthesized: Mapping[str, Any] | None = None) -> PermissionReview:
    """``synthesized``: the stack's cdk.tf.json, to render the documents known only after apply."""
    sources = _data_sources(plan)
    refs = _references(plan)
    configured = _configured_attributes(plan)
    documents: list[DocumentChange] = []
    unchanged: list[str] = []
    for rc in plan.get("resource_changes", []):
        if rc.get("mode") != "managed":
            continue
        action = classify(rc.get("change", {}).get("actions", []))
        rtype = rc.get("type", "")
        if action is None or (rtype not in POLICY_ATTRIBUTES and rtype not in ATTACHMENT_TYPES):
            continue
        change = rc["change"]
        before, after = change.get("before") or {}, change.get("after") or {}
        unknown = change.get("after_unknown") or {}
        if rtype in ATTACHMENT_TYPES:
            arn = after.get("policy_arn") or before.get("policy_arn") or UNKNOWN
            who = after.get("role") or before.get("role") or UNKNOWN
            verb = "detaches" if action.value == "delete" else "attaches"
            documents.append(
                DocumentChange(
                    rc["address"], "policy attachment", action.value, f"role `{who}`", note=f"{verb} `{arn}`"
                )
            )
            continue
        attributes = list(POLICY_ATTRIBUTES[rtype])
        if rtype == "aws_iam_role":
            attributes += [
                (f"inline_policy[{i}]", f"inline policy `{p.get('name')}`")
                for i, p in enumerate(after.get("inline_policy") or before.get("inline_policy") or [])
                if p.get("policy")
            ]
        for attribute, kind in attributes:
            if attribute.startswith("inline_policy["):
                index = int(attribute[len("inline_policy[") : -1])
                after_list, before_list = after.get("inline_policy") or [], before.get("inline_policy") or []
                after_value = after_list[index].get("policy") if index < len(after_list) else None
                before_value = before_list[index].get("policy") if index < len(before_list) else None
                after_unknown = False
            else:
                after_value, before_value = after.get(attribute), before.get(attribute)
                after_unknown = unknown.get(attribute) is True
            if after_unknown and configured and (rc["address"].split("[", 1)[0], attribute) not in configured:
                continue  # computed, not configured (an endpoint's default policy): nothing of ours to review
            if action.value == "delete":
                new: tuple[Statement, ...] = ()
                note = ""
            else:
                new, note = _document(
                    after_value, after_unknown, rc["address"], attribute, plan, sources, refs, synthesized
                )
            old = _parse(before_value)
            granted = tuple(s for s in new if s not in old)
            removed = tuple(s for s in old if s not in new)
            if not granted and not removed and (not note or old):
                if after_unknown and old:
                    unchanged.append(rc["address"])
                continue  # the same statements: nothing for a reviewer to read
            documents.append(
                DocumentChange(
                    rc["address"], kind, action.value, _subject(rtype, after or before), granted, removed, note
                )
            )
    # What widens first: that is what a reviewer must judge.
    documents.sort(key=lambda d: not d.widens)
    return PermissionReview(tuple(documents), tuple(_callouts(documents, _prior_services(plan))), tuple(unchanged))


def _configured_attributes(plan: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(resource address, attribute)`` of every attribute the configuration sets."""
    found: set[tuple[str, str]] = set()

    def walk(module: Mapping[str, Any] | None, prefix: str) -> None:
        if not module:
            return
        for r in module.get("resources", []):
            found.update((prefix + r["address"], attribute) for attribute in (r.get("expressions") or {}))
        for name, call in (module.get("module_calls") or {}).items():
            walk(call.get("module"), f"{prefix}module.{name}.")

    walk(plan.get("configuration", {}).get("root_module"), "")
    return found


def _prior_services(plan: Mapping[str, Any]) -> set[str]:
    """Services some Allow statement of the current state already grants."""
    services: set[str] = set()
    for r in _modules(plan.get("prior_state", {}).get("values", {}).get("root_module")):
        if r.get("mode") != "managed":
            continue
        values = r.get("values", {})
        for attribute, _ in POLICY_ATTRIBUTES.get(r.get("type", ""), ()):
            services |= {s for st in _parse(values.get(attribute)) if st.allows for s in st.services()}
    return services


def _wild(values: Iterable[str]) -> list[str]:
    return [v for v in values if "*" in v and v != UNKNOWN]


def _summary(st: Statement) -> str:
    actions = ", ".join(st.actions) or "NOT " + ", ".join(st.not_actions)
    resources = ", ".join(st.resources) or ("NOT " + ", ".join(st.not_resources) if st.not_resources else "")
    text = f"{st.effect} {actions}" + (f" on {resources}" if resources else "")
    if st.principals:
        text += f" for {', '.join(st.principals)}"
    if st.conditions:
        text += f" when {'; '.join(st.conditions)}"
    return text


def _callouts(documents: Sequence[DocumentChange], prior_services: set[str]) -> list[Callout]:
    callouts: list[Callout] = []
    new_services: dict[str, list[str]] = {}
    for doc in documents:
        if doc.widens and doc.action != "create":
            widening = [f"grants {_summary(s)}" for s in doc.granted if s.allows]
            widening += [f"removes {_summary(s)}" for s in doc.removed if not s.allows]
            callouts.append(
                Callout(
                    doc.address,
                    f"WIDENS `{doc.address}` ({doc.kind}"
                    + (f" of {doc.subject}" if doc.subject else "")
                    + "): "
                    + "; ".join(widening),
                )
            )
    for doc in documents:
        if doc.kind == "policy attachment" and doc.action != "delete" and ":aws:policy/" in doc.note:
            callouts.append(
                Callout(
                    doc.address, f"{doc.note.replace('attaches', 'attaches the AWS managed policy')} to {doc.subject}"
                )
            )
        for st in doc.granted:
            if not st.allows:
                continue
            where = f"`{doc.address}` ({doc.kind})"
            if _wild(st.actions):
                callouts.append(Callout(doc.address, f"{where} grants wildcard actions {', '.join(_wild(st.actions))}"))
            if st.not_actions:
                callouts.append(
                    Callout(doc.address, f"{where} allows everything except {', '.join(st.not_actions)} (NotAction)")
                )
            # In a key policy "*" is the key itself; a trust policy has no resources to speak of.
            if _wild(st.resources) and doc.kind not in ("trust policy", "key policy"):
                callouts.append(
                    Callout(doc.address, f"{where} grants on wildcard resources {', '.join(_wild(st.resources))}")
                )
            if st.not_resources:
                callouts.append(
                    Callout(
                        doc.address, f"{where} allows on everything except {', '.join(st.not_resources)} (NotResource)"
                    )
                )
            if any(fnmatch.fnmatchcase("iam:passrole", a.lower()) for a in st.actions):
                callouts.append(
                    Callout(
                        doc.address,
                        f"{where} grants iam:PassRole on {', '.join(st.resources) or 'no resource'}"
                        + (f" when {'; '.join(st.conditions)}" if st.conditions else ""),
                    )
                )
            if any(p in ("*", "AWS: *") for p in st.principals):
                condition = f" (conditions: {'; '.join(st.conditions)})" if st.conditions else " with no condition"
                callouts.append(Callout(doc.address, f"{where} allows Principal * {', '.join(st.actions)}{condition}"))
            if doc.kind not in RESOURCE_POLICY_KINDS:
                for service in sorted(st.services() - prior_services):
                    new_services.setdefault(service, [])
                    if doc.address not in new_services[service]:
                        new_services[service].append(doc.address)
    for service, addresses in sorted(new_services.items()):
        callouts.append(
            Callout(addresses[0], f"new service `{service}` granted by " + ", ".join(f"`{a}`" for a in addresses))
        )
    unique: dict[str, Callout] = {}
    for callout in callouts:
        unique.setdefault(callout.message, callout)
    return list(unique.values())


# --------------------------------------------------------------------------- rendering


def _cell(items: Sequence[str], prefix: str = "") -> str:
    if not items:
        return ""
    text = "<br>".join(f"`{i}`" for i in items)
    return (prefix + text).replace("|", "\\|")


def render_callouts(review: PermissionReview, *, stack: str | None = None) -> list[str]:
    if not review.callouts:
        return []
    lines = []
    for callout in review.callouts:
        lines.append(f"- {f'`{stack}`: ' if stack else ''}{callout.message}")
    return lines


def render_permissions(review: PermissionReview, level: int) -> list[str]:
    heading = "#" * level
    lines = [f"{heading} Permissions ({len(review.documents)} policy documents)", ""]
    if review.unchanged:
        lines += [
            f"{len(review.unchanged)} polic{'y' if len(review.unchanged) == 1 else 'ies'} the plan rewrites "
            "(known only after apply) keep their statements, rendered from the synthesized documents: "
            + ", ".join(f"`{a}`" for a in review.unchanged)
            + ".",
            "",
        ]
    if not review.documents:
        return lines + ["No IAM, bucket or key policy statement is granted or removed.", ""]
    for doc in review.documents:
        title = f"`{doc.address}`: {doc.kind}" + (f" of {doc.subject}" if doc.subject else "") + f", {doc.action}"
        if doc.action != "create" and (doc.granted or doc.removed):
            title += ": WIDENS access" if doc.widens else ": narrows access"
        lines += [f"{heading}# {title}", ""]
        if doc.note:
            lines += [doc.note[0].upper() + doc.note[1:] + ".", ""]
        rows = [("granted", s) for s in doc.granted] + [("removed", s) for s in doc.removed]
        if rows:
            lines += ["| | Effect | Actions | Resources | Principals | Conditions |", "|---|---|---|---|---|---|"]
            for label, s in rows:
                actions = _cell(s.actions) or _cell(s.not_actions, "NOT ")
                resources = _cell(s.resources) or _cell(s.not_resources, "NOT ")
                principals = _cell(s.principals) or _cell(s.not_principals, "NOT ")
                lines.append(
                    f"| {label} | {s.effect} | {actions} | {resources} | {principals} | {_cell(s.conditions)} |"
                )
            lines.append("")
    return lines
