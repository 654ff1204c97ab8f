"""The accelerator verdict carries its reason (for the node's `runs guests with tcg: ...` log line), from a
probe or from accel.json. No QEMU is started here (tests/vm/test_tiny_boot.py boots the real probe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eucalite.nodes.libvirt import accel


def test_a_cached_verdict_comes_with_its_recorded_reason(tmp_path: Path) -> None:
    reason = "KVM test boot showed no kernel output within 6 s (no output)"
    (tmp_path / accel.CACHE_FILE).write_text(json.dumps({"accel": "tcg", "reason": reason,
                                                         "boot_id": accel._boot_id(), "checked_at": 0}))
    verdict, why = accel.accel_verdict(tmp_path, None)
    assert verdict == "tcg" and accel.detect_accel(tmp_path, None) == "tcg"
    assert why.startswith(reason) and str(tmp_path / accel.CACHE_FILE) in why


def test_a_verdict_from_another_host_boot_is_probed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / accel.CACHE_FILE).write_text(json.dumps({"accel": "kvm", "reason": "old", "boot_id": "another"}))
    monkeypatch.setattr(accel.os, "access", lambda *_: False)  # as on a host without /dev/kvm
    assert accel.accel_verdict(tmp_path, None) == ("tcg", "/dev/kvm missing or not accessible")
    recorded = json.loads((tmp_path / accel.CACHE_FILE).read_text())
    assert recorded["accel"] == "tcg" and recorded["reason"] == "/dev/kvm missing or not accessible"


def test_an_inconclusive_probe_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accel.os, "access", lambda *_: True)
    verdict, why = accel.accel_verdict(tmp_path, tmp_path / "no-such-kernel")
    assert (verdict, why) == ("tcg", "no kernel to test-boot KVM with yet")
    assert not (tmp_path / accel.CACHE_FILE).exists()
