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

# C0 controls are single bytes in UTF-8: deleting them from the encoded document and comparing lengths finds
# one at about a nanosecond a byte (a regex search takes several).
_C0_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r")


def shown(text: str) -> str:
    """``text`` as an error message may quote it: each character XML cannot carry written as ``\\uXXXX``."""
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def safe(text: str) -> str:
    """``text`` with each character XML cannot carry replaced by U+FFFD."""
    return UNSAFE.sub(REPLACEMENT, text) if UNSAFE.search(text) else text


def encode_document(text: str) -> bytes:
    """A whole XML document as UTF-8, never holding a character XML cannot carry.

    Cheap when there is none (the usual case, on the hot path): one delete-translate over the bytes, and two
    character searches that CPython answers at once for a text with no character beyond U+00FF; the regex
    replacement only runs when one was found."""
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return safe(text).encode("utf-8")
    if len(body.translate(None, _C0_BYTES)) != len(body) or "\ufffe" in text or "\uffff" in text:
        return safe(text).encode("utf-8")
    return body
