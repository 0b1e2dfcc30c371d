"""Text that came out of files, made storable in any database we run on.

Two kinds of character cannot be stored: NUL (PostgreSQL refuses it in text columns and in query
parameters; SQLite keeps it and cuts the string short in some functions) and surrogates (halves
of UTF-16 pairs: no database driver, nor the extraction child's JSON answer, can encode them as
UTF-8). Surrogates come from readers that decode UTF-16 escapes one unit at a time (striprtf
turns an emoji's `\\u-10179?\\u-8704?` into two of them), from broken UTF-16 and from file names
that are not UTF-8. A pair that belongs together becomes the character it encodes; NUL and
lone halves are dropped: neither carries readable text.

This is the one place for text read from files (extracted text and properties, the rows of a
`kb import` manifest). Text sent in requests is checked where it enters (kb/views/guard.py).
"""
from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with surrogate pairs joined, and without NUL characters and lone surrogates."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    return text.replace("\x00", "")


def storable(value):
    """Strings (also inside lists, tuples and dict keys and values) made storable; anything
    else is returned as it is."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item) for item in value]
    return value
