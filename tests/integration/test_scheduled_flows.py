"""The recurring flows: the office digest refreshes the dashboard of every round in progress."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.recurring import office_digest
from tests.integration.helpers import run
from tests.integration.test_round_replay import CONFIG, PACKAGE, REPLAY_NOW

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def _latest(key: str) -> str:
    async with get_client() as client:
        found = await client.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return str(found[0].data) if found else ""


def test_the_digest_refreshes_rounds_in_progress_with_their_state(env: Path) -> None:
    run(CONFIG, PACKAGE, REPLAY_NOW, until="screening")
    assert asyncio.run(office_digest()) == ["2022-2"]
    status = asyncio.run(_latest("round-2022-2-status"))
    assert "**상태:** 서류 검토" in status
    assert "2022년 5월 27일(금) 18:00" in status  # T1: the deadline shown in KST
    run(CONFIG, PACKAGE, REPLAY_NOW, approve=True, until="selection_notice")
    assert asyncio.run(office_digest()) == []  # notified: no longer in progress


@pytest.mark.usefixtures("replayed")
def test_the_digest_counts_certificates_issued_cancelled_and_expiring(env: Path) -> None:
    # the session's replay: 29 certificates, valid to 2025-07-19
    assert asyncio.run(office_digest()) == ["2022-2"]  # certificates change with the clock
    digest = asyncio.run(_latest("office-digest"))
    # today (after 2025-07-19) all 29 have expired; none valid, none expiring
    assert "| 2022-2 | 29 | 0 | 29 | 0 | 0 |" in digest
    status = asyncio.run(_latest("round-2022-2-status"))
    assert "## 확인서 certificates" in status and "발급 issued **29**" in status
    assert "[22-IG0001](" in status and "/certificates/22-IG0001.pdf)" in status
