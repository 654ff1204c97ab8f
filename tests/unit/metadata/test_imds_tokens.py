"""IMDSv2 tokens: valid for their instance until expiry, whatever bytes their MAC happens to hold."""

from __future__ import annotations

from eucalite.metadata import imds_tokens


def test_many_tokens_validate_for_their_own_instance_only() -> None:
    # Many keys and instances, so MACs containing the separator byte are certainly among them.
    for n in range(500):
        key = n.to_bytes(2, "big") * 16
        token = imds_tokens.issue(key, f"i-{n:08x}", 1000.0, 60)
        assert imds_tokens.valid(key, token, f"i-{n:08x}", 1059.0)
        assert not imds_tokens.valid(key, token, f"i-{n:08x}", 1060.0)
        assert not imds_tokens.valid(key, token, f"i-{n + 1:08x}", 1001.0)


def test_garbage_is_invalid() -> None:
    key = b"k" * 32
    for junk in ("", "x", "!!!!", "aGVsbG8=", imds_tokens.issue(b"o" * 32, "i-1", 0, 60)):
        assert not imds_tokens.valid(key, junk, "i-1", 1.0)
