"""R4: no instance obtains another instance's credentials through its metadata channel."""

from __future__ import annotations

from tests.reliability import r4_metadata
from tests.reliability.harness import InProcessCloud


def test_no_instance_reads_another_instances_credentials(app_cloud: InProcessCloud) -> None:
    result = r4_metadata.run(app_cloud, rounds=1)
    assert result.attempts >= 300
    assert result.failures == 0, result.report()
