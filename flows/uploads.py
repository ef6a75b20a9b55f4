"""The run that imports files uploaded on `serve`'s upload page: `intake` for a round package
(INTERFACES §2), `support_import` for the after-selection files (§5), started from their
deployments (always addressed through `round_runs.deployment_name`)."""

from __future__ import annotations

from datetime import datetime

from prefect.client.orchestration import get_client

from flows import registry
from flows.round_runs import deployment_name, round_tag
from flows.run_names import run_name
from sangsaeng.domain.clock import KST

UPLOAD_ACTOR = "upload"  # the audit trail's actor: the shared password names no person


def start_import(kind: str, round_id: str, data_path: str, key: str) -> tuple[str, str]:
    """Create the import run of an upload (once per upload `key`); returns its id and name."""
    if kind == "package":
        flow_name, tags = registry.INTAKE.name, [round_tag(round_id), "upload"]
        parameters: dict[str, object] = {"round_id": round_id, "data": data_path,
                                         "actor": UPLOAD_ACTOR}
    else:
        flow_name, tags = registry.SUPPORT_IMPORT.name, ["upload"]
        parameters = {"path": data_path, "actor": UPLOAD_ACTOR}
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(deployment_name(flow_name))
        run = client.create_flow_run_from_deployment(
            deployment.id, parameters=parameters, tags=tags,
            name=run_name(flow_name, round_id, datetime.now(KST)),
            idempotency_key=f"sangsaeng-upload-{key}")
    return str(run.id), run.name


def round_deployment_id() -> str:
    """The id of the `round` deployment, whose run form starts a round (the upload page links
    to it when a package arrives for a round that has not started)."""
    with get_client(sync_client=True) as client:
        return str(client.read_deployment_by_name(deployment_name(registry.ROUND.name)).id)
