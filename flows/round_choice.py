"""The choices in the run forms: every field that takes a round offers the known rounds, and the
create form the program's tracks (the schema hook of flows/deployments.py).

Prefect renders a JSON-schema `enum` as a select; its UI labels each option by its value, so the
option is the round id and the field's description lists each id with its title. The choices
are baked into a deployment when `serve` registers it; `refresh_forms` writes them again into
the registered deployments (after create_round), so the next form offers a new round without a
restart. Those deployments do not have the server enforce their schema: a round registered since
(the CLI, another office) and a path given through the API (the CLI's way) reach the flow, which
checks the round itself and fails the run with one line.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentUpdate
from prefect.deployments.runner import RunnerDeployment
from sqlalchemy.exc import SQLAlchemyError

from flows.models import CHOICE, LABELS, OFF_FORM, choice_label
from sangsaeng.config import load_program
from sangsaeng.db import session_scope
from sangsaeng.errors import ConfigError
from sangsaeng.services.round_files import KnownRound, known_rounds
from sangsaeng.settings import get_settings

NO_ROUND = "(아직 회차 없음: create_round로 만듭니다 / no round yet: create one with create_round)"


@dataclass(frozen=True)
class Choices:
    """What the forms offer: the known rounds (newest first) and the program's tracks."""

    rounds: tuple[KnownRound, ...]
    tracks: dict[str, str]  # code → Korean name, in program.toml's order
    review: dict[str, float] = field(default_factory=dict)  # today's review settings


def current_choices() -> Choices:
    """The rounds of config/rounds/*.toml and of the program database, and the tracks."""
    config_dir = get_settings().config_dir
    try:
        with session_scope() as session:
            rounds = known_rounds(session, config_dir)
    except (SQLAlchemyError, ConfigError) as exc:  # `serve` still starts: the files' rounds
        logging.getLogger(__name__).warning("rounds of the database not offered: %s", exc)
        rounds = known_rounds(None, config_dir)
    try:
        program = load_program(config_dir)
    except ConfigError:
        return Choices(tuple(rounds), {})
    review = program.review
    return Choices(tuple(rounds), {key: t.name for key, t in program.tracks.items()}, {
        "cutoff": float(review.cutoff), "item_floor_ratio": float(review.item_floor_ratio),
        "trim_at": review.trim_at, "min_reviews": review.min_reviews})


def _base(description: str) -> str:
    return description.partition("\n")[0]  # the field's own text, before a listing of ours


def _listing(rounds: list[KnownRound]) -> str:
    return "\n" + "\n".join(f"· {r.label}" for r in rounds) if rounds else f"\n{NO_ROUND}"


def _offer(name: str, prop: dict[str, Any], kind: str, choices: Choices) -> None:
    """Fill one marked property with its choices (in place; again and again alike)."""
    if kind == "review-setting":  # today's value filled in (what_if)
        if name in choices.review:
            prop["default"] = choices.review[name]
        return
    description = _base(str(prop.get("description", "")))
    if kind in ("round", "round-file"):
        rounds = [r for r in choices.rounds if kind == "round" or r.path is not None]
        prop["enum"] = [r.id for r in rounds]
        prop["enumNames"] = [r.label for r in rounds]  # for clients that label options
        prop["description"] = description + _listing(rounds)
    elif kind == "track":  # the list shows the track's name; the flow takes its code
        prop["items"] = {"type": "string", "enum": [
            choice_label(code, choices.tracks) for code in choices.tracks]}
        prop["uniqueItems"] = True
        prop["description"] = description
    elif kind == "quota":
        prop.pop("anyOf", None)
        prop.update(type="object", additionalProperties=False, default={}, properties={
            code: {"type": "integer", "minimum": 1, "title": f"{name} ({code})"}
            for code, name in choices.tracks.items()})


def _not_null(prop: dict[str, Any]) -> None:
    """An optional field as a plain one (in place): Prefect shows `X | None` as a toggle and a
    null default as "None"; an empty field is left out of the run's parameters instead."""
    branches = [b for b in prop.get("anyOf", ()) if b.get("type") != "null"]
    if "anyOf" in prop and len(branches) == 1:
        del prop["anyOf"]
        prop.update(branches[0])
    if "default" in prop and prop["default"] is None:
        del prop["default"]


_RULE = r"[A-Z]\d{1,2}[a-z]?"
_RULE_IDS = (  # the rule ids code and docs cite (K1, V10, M1b …), not for the office's forms
    (re.compile(rf"\s*\((?:§\s?[\d.]+,\s*)?{_RULE}(?:[–-]{_RULE})?(?:,\s*{_RULE})*\)"), ""),
    (re.compile(rf",\s*{_RULE}(?=\))"), ""),
    (re.compile(rf"\bthe {_RULE} "), "the "),
)


def without_rule_ids(text: str) -> str:
    """A description as the office reads it: without the rule ids written for developers."""
    for pattern, replacement in _RULE_IDS:
        text = pattern.sub(replacement, text)
    return text


def for_the_office(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a parameter schema as the office's form (issue 23 item 7): Korean labels, no
    `None` toggles, without the fields the office never needs (OFF_FORM)."""
    out = copy.deepcopy(schema)
    props: dict[str, Any] = out.get("properties", {})
    for name in [n for n, prop in props.items() if prop.get(OFF_FORM)]:
        del props[name]
        if name in out.get("required", ()):
            out["required"].remove(name)
    models = out.get("definitions", {})
    for fields in (props, *(m.get("properties", {}) for m in models.values())):
        for name, prop in fields.items():
            if prop.get("title") in (None, name, name.replace("_", " ").title()):
                prop["title"] = LABELS.get(name, name)  # not a title a model gave in Korean
            if "description" in prop:
                prop["description"] = without_rule_ids(prop["description"])
            _not_null(prop)
    for name in set(models) - _referenced(props, models):
        del models[name]  # a model only a field left off used
    return out


def _referenced(props: dict[str, Any], models: dict[str, Any]) -> set[str]:
    """The models (`definitions`) the fields use, directly or through another model."""
    found: set[str] = set()
    text = json.dumps(props)
    while True:
        more = {n for n in models if f'"#/definitions/{n}"' in text} - found
        if not more:
            return found
        found |= more
        text = json.dumps([models[n] for n in more])


def offer_choices(schema: dict[str, Any], choices: Choices) -> tuple[dict[str, Any], bool]:
    """A copy of a parameter schema as the office's form with its marked fields' choices;
    True if it has any."""
    out = for_the_office(schema)
    marked = False
    for name, prop in out.get("properties", {}).items():
        kind = prop.get(CHOICE)
        if kind:
            _offer(name, prop, str(kind), choices)
            marked = True
    return out, marked


def with_choices(deployment: RunnerDeployment, choices: Choices) -> RunnerDeployment:
    """The hook `deployments()` calls: the deployment's form is the office's, offering the
    current choices."""
    schema, marked = offer_choices(deployment._parameter_openapi_schema.model_dump(), choices)
    deployment._parameter_openapi_schema = type(
        deployment._parameter_openapi_schema).model_validate(schema)
    if marked:
        deployment.enforce_parameter_schema = False  # the flow checks (module docstring)
    return deployment


async def refresh_forms() -> list[str]:
    """Write the current choices into every registered deployment whose form has a marked
    field (served or deployed to a work pool: both carry the markers), and make every form
    the office's (a work pool's deployments are registered by `prefect deploy`); returns
    those updated as `flow/deployment`."""
    choices = current_choices()
    updated: list[str] = []
    async with get_client() as client:
        for found in await client.read_deployments(limit=200):
            schema, marked = offer_choices(found.parameter_openapi_schema or {}, choices)
            if not marked and schema == (found.parameter_openapi_schema or {}):
                continue  # a form with no choices, already the office's
            await client.update_deployment(found.id, DeploymentUpdate(
                parameter_openapi_schema=schema,
                enforce_parameter_schema=False if marked else found.enforce_parameter_schema))
            updated.append(f"{(await client.read_flow(found.flow_id)).name}/{found.name}")
    get_run_logger().info("실행 양식 %d개를 고쳤습니다: 회차 목록 %d개", len(updated),
                          len(choices.rounds))
    return sorted(updated)
