"""The architecture picture is generated from the synthesized stacks and kept current."""

from __future__ import annotations

from devtools import architecture


def _block(text: str) -> str:
    start = text.index(architecture.START) + len(architecture.START)
    return text[start : text.index(architecture.END)].strip()


def test_docs_and_readme_show_the_diagram_of_what_is_synthesized(synth):
    diagram = architecture.render(architecture.build(synth.stacks))
    for path in (architecture.DOC, architecture.README):
        assert _block(path.read_text(encoding="utf-8")) == diagram, (
            f"{path.name}'s architecture diagram is stale: run `make diagram`"
        )


def test_every_resource_of_every_stack_is_in_the_picture_or_left_out_on_purpose(synth):
    """A new resource type lands in a component of its own, named by its type, until someone
    says where it belongs: the picture never silently drops what Terraform creates."""
    diagram = architecture.build(synth.stacks)
    stray = sorted(c.title for c in diagram.components.values() if c.title.startswith("aws_"))
    assert stray == [], f"resource types with no place in devtools/architecture.py: {stray}"


def test_the_picture_shows_the_isolation_a_reviewer_looks_for(synth):
    text = architecture.render(architecture.build(synth.stacks))
    for expected in (
        "no internet or NAT gateway",
        "VpcOnly",
        "endpoint policy: our account's principals",
        "guardrails (explicit denies)",
        "Route 53 Resolver DNS Firewall",
        "route tables: the local route only",
    ):
        assert expected in text, expected
    assert text.count("subgraph ") == 3  # the stack boundaries
