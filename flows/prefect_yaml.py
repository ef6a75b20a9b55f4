"""`prefect.yaml`, written from the step registry (`make prefect-yaml`).

The same deployments as `sangsaeng serve` registers (flows/deployments.py), for a work pool:
names, descriptions, tags and schedules come from flows/registry.py; a form whose choices
come from files and the database (flows/round_choice.py) is not checked against its schema by
Prefect (`enforce_parameter_schema: false`: the flow checks the round).
tests/integration/test_deployments.py fails when the committed file is stale.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from prefect.utilities.callables import parameter_schema

from flows.deployments import flow_of
from flows.models import CHOICE
from flows.registry import ENTRIES, KST, Entry
from flows.round_choice import without_rule_ids

HEADER = """\
# The same deployments as `sangsaeng serve` (flows/deployments.py), for a work pool:
#   prefect work-pool create sangsaeng --type process
#   prefect deploy --all                      # from the checkout, with PREFECT_API_URL set
#   SANGSAENG_HOME=/srv/sangsaeng prefect worker start --pool sangsaeng
# Workers run the flows from the checkout at $SANGSAENG_HOME with the program's environment
# (SANGSAENG_DATABASE_URL, SMTP settings …). Schedules are in KST: a plain cron means UTC.
# The forms that take a round offer the known rounds: every create_round run writes them into
# the deployments (enforce_parameter_schema: false there; the flows check the round).
# Generated from flows/registry.py by `make prefect-yaml` (a test fails when it is stale).
name: sangsaeng
prefect-version: 3.9.1

pull:
  - prefect.deployments.steps.set_working_directory:
      directory: "{{ $SANGSAENG_HOME }}"

deployments:
"""


def offers_choices(flow: Any) -> bool:
    """A form with a field whose choices come from files and the database."""
    return any(CHOICE in p for p in parameter_schema(flow).properties.values())


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def deployment_yaml(entry: Entry) -> str:
    """One entry of `deployments:`."""
    lines = [f"  - name: {_quoted(entry.deployment)}",
             f"    entrypoint: {entry.entrypoint}",
             f"    description: {_quoted(without_rule_ids(entry.description))}"]
    if offers_choices(flow_of(entry)):
        lines.append("    enforce_parameter_schema: false")
    lines += [f"    tags: [{', '.join(('sangsaeng', *entry.tags))}]",
              "    work_pool:", "      name: sangsaeng"]
    if entry.cron:
        lines += ["    schedules:", f"      - cron: {_quoted(entry.cron)}",
                  f"        timezone: {KST}"]
    return "\n".join(lines) + "\n"


def prefect_yaml() -> str:
    """The whole file."""
    return HEADER + "".join(deployment_yaml(e) for e in ENTRIES)


def main() -> None:
    """Print the file (`python -m flows.prefect_yaml > prefect.yaml`)."""
    sys.stdout.write(prefect_yaml())


if __name__ == "__main__":
    main()
