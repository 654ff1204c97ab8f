"""R3: account A's credentials on account B's names, ids and ARNs, for every implemented read operation."""

from __future__ import annotations

from tests.reliability import r3_cross_account
from tests.reliability.harness import InProcessCloud


def test_every_read_operation_is_covered() -> None:
    names = {name for _, name in r3_cross_account.read_operations()}
    assert {"GetUser", "ListRoles", "DescribeInstances", "GetConsoleOutput", "GetPolicyVersion"} <= names


def test_no_cross_account_leak(app_cloud: InProcessCloud) -> None:
    result = r3_cross_account.run(app_cloud, per_operation=6)
    assert result.attempts >= 300
    assert result.failures == 0, result.report()
