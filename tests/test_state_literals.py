"""No string literal of a state where an enum exists (issue 21 item 5).

The rule, checked on the AST of every module of sangsaeng/ (but its migrations, which are
frozen history), flows/ and tasks/: a string constant equal to a value of one of the enums
watched for a name below is flagged when it is

- compared with that name (`x.state == "pending"`, `state != "sent"`, `role in ("lead", …)`),
- assigned to it (`x.state = "sent"`, `state, reply = "failed", …`, either branch of
  `state = "a" if … else "b"`), or given as its default (`state: str = "pending"` as a parameter,
  `state: str = Field(default="pending")` in a model),
- passed as a keyword argument of that name (`.values(state="sending")`, `to_state="valid"`),
- or listed in `.in_(…)` on it (`t.c.state.in_(("pending", "sending"))`),

where "that name" is a variable named so or an attribute named so (`row.state`, `t.c.state`,
`P.role`). The names and their enums are WATCHED; a literal outside those positions (a dict
key, a message text, a CLI choice) is not this rule's business, and a literal that is no value
of the name's enums (`kind == "selection_result"`, a notice kind) passes.

Run on the tree before issue 21's item 5 (commit 0c7d6bd plus the new enums), it found 59
literals: the outbox state in mail/outbox.py, services/notices.py and cli/rounds.py, the
participant role (`P.role == "lead"`) in nine modules, `Certificate.status == "valid"`, the
pending cancellation's state, the listing follow-up kinds, `LS.step == "listed"` and the models'
own defaults.

Out of scope: flows/models.py's `Step` (the step registry, issue 21 item 2, owns step names).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from enum import StrEnum
from itertools import pairwise
from pathlib import Path

from sangsaeng.domain.certificates import CertificateStatus, Ground
from sangsaeng.domain.companies import Role
from sangsaeng.domain.evaluations import EvaluationKind, EvaluationResult, ProposalState
from sangsaeng.domain.events import EventKind
from sangsaeng.domain.listing import FollowUpKind, MallStep
from sangsaeng.domain.outbox import OutboxState
from sangsaeng.domain.states import ApplicationState, RoundState

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("sangsaeng", "flows", "tasks")
FROZEN = REPO / "sangsaeng" / "migrations" / "versions"

STATES: tuple[type[StrEnum], ...] = (RoundState, ApplicationState, OutboxState, ProposalState,
                                     CertificateStatus)
WATCHED: dict[str, tuple[type[StrEnum], ...]] = {
    "state": STATES,
    "from_state": STATES,  # the audit trail's states: those of every entity
    "to_state": STATES,
    "round_state": (RoundState,),
    "status": (CertificateStatus, ApplicationState),
    "proposed_status": (ApplicationState,),
    "kind": (EvaluationKind, FollowUpKind, EventKind),
    "result": (EvaluationResult,),
    "role": (Role,),
    "ground": (Ground,),
    "step": (MallStep,),
}
VALUES: dict[str, frozenset[str]] = {
    name: frozenset(v.value for enum in enums for v in enum) for name, enums in WATCHED.items()}


def watched(node: ast.AST) -> str | None:
    """The watched name a variable or attribute stands for, else None."""
    if isinstance(node, ast.Name) and node.id in WATCHED:
        return node.id
    if isinstance(node, ast.Attribute) and node.attr in WATCHED:
        return node.attr
    return None


def literals(node: ast.AST | None) -> Iterator[ast.Constant]:
    """The string constants `node` stands for: itself, a tuple/list/set's items, both branches
    of a conditional expression."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for item in node.elts:
            yield from literals(item)
    elif isinstance(node, ast.IfExp):
        yield from literals(node.body)
        yield from literals(node.orelse)


def pairs(node: ast.AST) -> Iterator[tuple[str, ast.AST | None]]:
    """(watched name, expression given to it or compared with it) at `node`."""
    if isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        for a, b in pairwise(sides):
            for x, y in ((a, b), (b, a)):
                if (name := watched(x)) is not None:
                    yield name, y
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            yield from assigned(target, node.value)
    elif isinstance(node, ast.AnnAssign) and (name := watched(node.target)) is not None:
        yield name, node.value
        if isinstance(node.value, ast.Call):
            yield from ((name, k.value) for k in node.value.keywords if k.arg == "default")
    elif isinstance(node, ast.Call):
        yield from ((k.arg, k.value) for k in node.keywords if k.arg in WATCHED)
        func = node.func
        on = func.value if isinstance(func, ast.Attribute) and func.attr == "in_" else None
        if on is not None and (name := watched(on)) is not None:
            yield from ((name, arg) for arg in node.args)
    elif isinstance(node, ast.arguments):
        positional = [*node.posonlyargs, *node.args]
        defaults = zip(positional[len(positional) - len(node.defaults):], node.defaults,
                       strict=True)
        for arg, default in [*defaults, *zip(node.kwonlyargs, node.kw_defaults, strict=True)]:
            if arg.arg in WATCHED:
                yield arg.arg, default


def assigned(target: ast.AST, value: ast.AST) -> Iterator[tuple[str, ast.AST | None]]:
    """(watched name, value) of an assignment, tuple unpacking pairwise."""
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
        for t, v in zip(target.elts, value.elts, strict=False):
            yield from assigned(t, v)
    elif (name := watched(target)) is not None:
        yield name, value


def flagged(source: str) -> list[tuple[int, str, str]]:
    """(line, watched name, literal) for every state literal the rule flags, in source order."""
    got = []
    for node in ast.walk(ast.parse(source)):
        for name, expr in pairs(node):
            got += [(c.lineno, c.col_offset, name, c.value) for c in literals(expr)
                    if c.value in VALUES[name]]
    return [(line, name, value) for line, _, name, value in sorted(got)]


def sources() -> Iterator[Path]:
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            if FROZEN not in path.parents:
                yield path


def test_no_state_literal_where_an_enum_exists() -> None:
    found = [f"{path.relative_to(REPO)}:{line}: {name} <- {value!r}" for path in sources()
             for line, name, value in flagged(path.read_text(encoding="utf-8"))]
    assert not found, ("string literals of states where an enum exists (use the enum):\n"
                       + "\n".join(found))


def test_the_rule_finds_each_kind_of_literal() -> None:
    """The rule itself: each position it watches is flagged, the rest is not."""
    sample = (
        'if row.state == "pending": pass\n'
        'ok = role in ("lead", "partner")\n'
        'q = t.c.state.in_(("pending", "sending"))\n'
        'state, reply = "failed", ""\n'
        's = "confirmed" if yes else "dismissed"\n'
        'state = "confirmed" if yes else "dismissed"\n'
        'update(x).values(state="sent")\n'
        'def f(*, state: str = "pending") -> None: ...\n'
        'class M:\n'
        '    status: str = Field(default="valid")\n'
        'if kind == "selection_result": pass\n'
        'NAMES = {"pending": "발송 대기"}\n')
    assert flagged(sample) == [
        (1, "state", "pending"), (2, "role", "lead"), (2, "role", "partner"),
        (3, "state", "pending"), (3, "state", "sending"), (4, "state", "failed"),
        (6, "state", "confirmed"), (6, "state", "dismissed"), (7, "state", "sent"),
        (8, "state", "pending"), (10, "status", "valid")]
