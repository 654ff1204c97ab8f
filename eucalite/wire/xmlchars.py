"""The characters XML 1.0 cannot carry, not even as a character reference (``&#1;`` is as malformed as a raw
U+0001): C0 controls other than tab, line feed and carriage return, lone surrogates, U+FFFE and U+FFFF.

The request parser refuses parameter values holding one (wire.parse), and the serializer replaces any that
still reach a response (data stored before that check, a message quoting a header) with U+FFFD, so a reply is
always well-formed (wire.serialize).
"""

from __future__ import annotations

import re

UNSAFE = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
REPLACEMENT = "\ufffd"

# The same, for a UTF-8 document already encoded: C0 controls are single bytes; U+FFFE and U+FFFF are
# EF BF BE and EF BF BF (surrogates cannot be encoded at all, so str.encode reports them).
_C0_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r")
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


def shown(text: str) -> str:
    """``text`` as an error message may quote it: each character XML cannot carry written as ``\\uXXXX``."""
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def safe(text: str) -> str:
    """``text`` with each character XML cannot carry replaced by U+FFFD."""
    return UNSAFE.sub(REPLACEMENT, text) if UNSAFE.search(text) else text


def encode_document(text: str) -> bytes:
    """A whole XML document as UTF-8, never holding a character XML cannot carry.

    Cheap when there is none (the usual case, on the hot path): one delete-translate over the bytes and, only
    for non-ASCII text, two substring searches; the regex replacement runs only when one was found."""
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return safe(text).encode("utf-8")
    if len(body.translate(None, _C0_BYTES)) != len(body) or (
            not text.isascii() and any(nc in body for nc in _NONCHARACTERS)):
        return safe(text).encode("utf-8")
    return body
