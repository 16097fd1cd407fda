"""The plan review's rendering: the Markdown of review.md, for one stack or a run of several, warnings first.

Only attribute names, settings and prices reach the report, never a sensitive value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from isolated_studio.ops.permissions import render_callouts, render_permissions
from isolated_studio.ops.plan_review.model import (
    _ADDRESS_STEP,
    CATEGORIES,
    GROUP_DESTROYED,
    HOURS_PER_MONTH,
    INTERFACE_ENDPOINT_PRICE,
    WARNING_GROUPS,
    CostLine,
    ResourceChange,
    ReviewWarning,
    RunReview,
    StackReview,
)


def render_stack_report(review: StackReview) -> str:
    """A standalone Markdown report for one stack, warnings first."""
    lines = [f"# Plan review: stack `{review.stack}`", ""]
    lines += _warnings_block(review.warnings, show_stack=False)
    lines += _permission_callouts([review], show_stack=False)
    lines += _stack_body(review, level=2)
    return "\n".join(lines).rstrip() + "\n"


def render_run_report(run: RunReview) -> str:
    """One Markdown report for a run of several stacks, warnings first."""
    lines = ["# Plan review", ""]
    lines += _warnings_block(run.warnings, show_stack=True)
    lines += _permission_callouts(run.stacks, show_stack=True)
    settings = [(r.stack, c) for r in run.stacks for c in r.settings]
    if settings:
        lines += [
            f"## Settings that change ({len(settings)})",
            "",
            "| Stack | Resource | Setting | Old | New |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| `{stack}` | `{_cell(c.address)}` | {c.setting} | {_cell(c.old)} | {_cell(c.new)} |"
            for stack, c in settings
        ]
        lines.append("")
    lines += _summary_table(run)
    for review in run.stacks:
        lines += [f"## Stack `{review.stack}`", ""]
        lines += _stack_body(review, level=3, settings=False)
    return "\n".join(lines).rstrip() + "\n"


def _warnings_block(warnings: Sequence[ReviewWarning], *, show_stack: bool) -> list[str]:
    if not warnings:
        return [
            "**No warnings:** nothing is destroyed, no long-lived resource is replaced and no other "
            "stack's next plan is affected.",
            "",
        ]
    lines = [f"## WARNINGS ({len(warnings)}): read before applying", ""]
    groups = [g for g in WARNING_GROUPS if any(w.group == g for w in warnings)]
    groups += sorted({w.group for w in warnings} - set(WARNING_GROUPS))  # a rule's own group, after ours
    for group in groups:
        members = [w for w in warnings if w.group == group]
        lines += [f"### {group} ({len(members)})", ""]
        if group == GROUP_DESTROYED:
            lines += _collapsed(members, show_stack)
        else:
            for warning in members:
                prefix = f"`{warning.stack}`: " if show_stack else ""
                lines.append(f"- {prefix}{list_item(warning.message)}")
        lines.append("")
    return lines


def _collapsed(warnings: Sequence[ReviewWarning], show_stack: bool) -> list[str]:
    """Destroys that lose no data, one line per stack and resource type."""
    by_kind: dict[tuple[str, str], list[ReviewWarning]] = {}
    for warning in warnings:
        rtype = _ADDRESS_STEP.findall(warning.address)[-2] if warning.address.count(".") else warning.address
        by_kind.setdefault((warning.stack, rtype), []).append(warning)
    lines = []
    for (stack, rtype), members in by_kind.items():
        prefix = f"`{stack}`: " if show_stack else ""
        if len(members) == 1:
            lines.append(f"- {prefix}{list_item(members[0].message)}")
        else:
            lines.append(
                f"- {prefix}DESTROY {len(members)} `{rtype}`: "
                + ", ".join(
                    f"`{w.address.split('.', 1)[1] if w.address.startswith(rtype + '.') else w.address}`"
                    for w in members
                )
            )
    return lines


_BLOCK_START = re.compile(r"^(?:[#>|*+=`~-]|\d+[.)])")


def list_item(text: str) -> str:
    """A Markdown list item's text on as many lines as it has: every further line indented, so
    that it stays in the item, no blank line, which would end the list, and a line that would
    start a heading, quote, list, table or code block escaped to plain text."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    escaped = [re.sub(r"^(\d*)(.)", r"\1\\\2", line) if _BLOCK_START.match(line) else line for line in lines[1:]]
    return "\n  ".join(lines[:1] + escaped)


def _permission_callouts(reviews: Sequence[StackReview], *, show_stack: bool) -> list[str]:
    """Granted permissions that widen access, right under the warnings."""
    lines: list[str] = []
    for review in reviews:
        if review.permissions is not None:
            lines += render_callouts(review.permissions, stack=review.stack if show_stack else None)
    if not lines:
        return []
    return [
        f"## Permission call-outs ({len(lines)}): wildcards, new services, iam:PassRole, Principal *",
        "",
        *lines,
        "",
        "Every statement granted or removed is listed per stack under Permissions.",
        "",
    ]


def _summary_table(run: RunReview) -> list[str]:
    lines = [
        "## Summary",
        "",
        "| Stack | Add | Change | Replace | Destroy | Interface endpoints (USD/month) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for review in run.stacks:
        lines.append(
            f"| `{review.stack}` | {review.to_add} | {review.to_change} | {review.to_replace} "
            f"| {review.to_destroy} | {_usd(review.endpoint_cost.monthly_usd)} |"
        )
    total = run.endpoint_cost
    lines.append(
        f"| **Total** | {sum(r.to_add for r in run.stacks)} | {sum(r.to_change for r in run.stacks)} "
        f"| {sum(r.to_replace for r in run.stacks)} | {sum(r.to_destroy for r in run.stacks)} "
        f"| {_usd(total.monthly_usd)} |"
    )
    lines += ["", "Replacements are counted once, under Replace (Terraform counts each as 1 add + 1 destroy).", ""]
    # The total is a floor when an endpoint is unpriced: say so where the total is read.
    unpriced = len(total.unknown_az_endpoints)
    if unpriced:
        lines += [
            f"The endpoint total leaves out {unpriced} interface endpoint{'' if unpriced == 1 else 's'} "
            "whose subnets are unknown until apply (listed under their stack).",
            "",
        ]
    return lines


def _stack_body(review: StackReview, *, level: int, settings: bool = True) -> list[str]:
    heading = "#" * level
    lines = [_plan_line(review), ""]
    if review.terraform_version:
        lines += [f"Terraform {review.terraform_version}.", ""]
    if review.settings and settings:
        lines += [
            f"{heading} Settings that change ({len(review.settings)})",
            "",
            "| Resource | Setting | Old | New |",
            "|---|---|---|---|",
        ]
        lines += [f"| `{_cell(c.address)}` | {c.setting} | {_cell(c.old)} | {_cell(c.new)} |" for c in review.settings]
        lines.append("")
    lines += [f"{heading} Security-relevant changes", ""]
    lines += _sensitive_sections(review, level + 1)
    if review.permissions is not None:
        lines += render_permissions(review.permissions, level)
    lines += [f"{heading} Monthly cost of what changes", ""]
    lines += _changed_cost_lines(review)
    lines += [f"{heading} Interface endpoint cost", ""]
    lines += _cost_lines(review)
    if review.has_changes:
        lines += [f"{heading} All changes", ""]
        tagged = review.tags_only
        if tagged:
            lines += [_tags_line(tagged), ""]
        rest = [c for c in review.changes if not c.tags_only]
        if rest:
            lines += _change_table(rest)
    return lines


def _tags_line(changes: Sequence[ResourceChange]) -> str:
    """Tag-only updates in one line: how many, and what happens to which tag."""
    diffs: dict[str, int] = {}
    for change in changes:
        for diff in change.tag_changes:
            diffs[diff] = diffs.get(diff, 0) + 1
    what = "; ".join(f"{diff}" + (f" ({n} of them)" if n != len(changes) else "") for diff, n in sorted(diffs.items()))
    return f"**{len(changes)} resource{'s' if len(changes) != 1 else ''} change only their tags** (in place)" + (
        f": {_cell(what)}." if what else "."
    )


def _changed_cost_lines(review: StackReview) -> list[str]:
    if not review.costs:
        return ["Nothing whose fixed cost is in the price table changes.", ""]
    lines = ["| What | Now | After | Change | Price |", "|---|---:|---:|---:|---|"]
    for line in review.costs:
        unit = " per hour" if line.per_hour else ""

        def money(value: Decimal | None, line: CostLine = line, unit: str = unit) -> str:
            if line.unpriced:
                return "?"
            return "-" if value is None else f"{_usd(value)}{unit}"

        change = "?" if line.unpriced else f"{line.change_usd:+,.2f}{unit}"
        lines.append(
            f"| {_cell(line.item)} | {money(line.now_usd)} | {money(line.after_usd)} | {change} | {_cell(line.price)} |"
        )
    # change_usd is None exactly for the unpriced lines.
    fixed = [usd for c in review.costs if not c.per_hour and (usd := c.change_usd) is not None]
    lines += [
        "",
        f"Fixed monthly cost changes by USD {sum(fixed, Decimal(0)):+,.2f} (USD per month, 730 h; priced lines only).",
    ]
    unpriced = [c.item for c in review.costs if c.unpriced]
    if unpriced:
        lines.append(f"Not priced, not in the price table (isolated_studio/ops/prices.py): {len(unpriced)}.")
    return lines + [""]


def _plan_line(review: StackReview) -> str:
    if not review.has_changes:
        return "**No changes.** The infrastructure matches the configuration."
    text = (
        f"**Plan:** {review.to_add} to add, {review.to_change} to change, "
        f"{review.to_replace} to replace, {review.to_destroy} to destroy"
    )
    if review.to_forget:
        text += f", {review.to_forget} to forget"
    tagged = len(review.tags_only)
    if tagged:
        text += f" ({tagged} of the changes touch only tags)"
    return text + "."


def _sensitive_sections(review: StackReview, level: int) -> list[str]:
    lines: list[str] = []
    for category in CATEGORIES:
        changes = review.sensitive(category)
        if changes:
            lines += [f"{'#' * level} {category} ({len(changes)})", ""]
            lines += _change_table(changes)
    tagged = sum(1 for c in review.tags_only if c.category)
    if not lines:
        lines = ["None: no change to IAM, security groups, bucket/endpoint policies, KMS or routing.", ""]
    if tagged:
        lines += [f"{tagged} more of these resources change only their tags (see All changes).", ""]
    return lines


def _change_table(changes: Iterable[ResourceChange]) -> list[str]:
    lines = ["| Action | Address | Details |", "|---|---|---|"]
    for change in changes:
        lines.append(f"| {change.action_label} | `{_cell(change.address)}` | {_cell(change.details)} |")
    return lines + [""]


def _cost_lines(review: StackReview) -> list[str]:
    cost = review.endpoint_cost
    if not cost.interface_endpoints:
        lines = ["No interface endpoints after apply."]
    else:
        lines = [
            f"{cost.interface_endpoints} interface endpoints, {cost.endpoint_azs} endpoint-AZs in total "
            "(one per subnet): "
            f"{cost.endpoint_azs} x USD {cost.hourly_price_usd} per hour x {HOURS_PER_MONTH} h = "
            f"**USD {_usd(cost.monthly_usd)} per month** (fixed charge; data processing is extra, "
            f"USD 0.01 per GB; price is the us-east-1/us-west-2 list price: {INTERFACE_ENDPOINT_PRICE.cite()})."
        ]
    if cost.configured_az_endpoints:
        lines += [
            "",
            f"{len(cost.configured_az_endpoints)} of them get subnets created in this apply: their AZs are "
            "counted from the subnets their configuration lists.",
        ]
    if cost.unknown_az_endpoints:
        lines += [
            "",
            "Not priced, subnets unknown until apply: "
            + ", ".join(f"`{address}`" for address in cost.unknown_az_endpoints)
            + ".",
        ]
    current = review.current_endpoint_cost
    if current is not None and current.monthly_usd != cost.monthly_usd:
        delta = cost.monthly_usd - current.monthly_usd
        lines += [
            "",
            f"Currently USD {_usd(current.monthly_usd)} per month; this plan changes it by USD {delta:+,.2f}.",
        ]
    return lines + [""]


def _usd(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _cell(text: str) -> str:
    """Keep a table cell on one line and its pipes from splitting the row."""
    return text.replace("|", "\\|").replace("\n", " ")
