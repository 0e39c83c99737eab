"""`json.dumps(value, indent=2)`, the same text, with the C encoder doing the work.

The standard library encodes with indentation in pure Python (its C encoder writes only compact
text before Python 3.13): `list --json --all` spent most of its time there, 100,000 incidents of a
hundred fields each. Here each container of plain values is one call to the C encoder, whose item
separator carries the new line and the indentation; only containers holding containers are walked
in Python (an incident: its deadlines, its services).
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

_NESTED = (dict, list, tuple)
_encoders: dict[str, Callable[[Any], str]] = {}


def _compact(pad: str) -> Callable[[Any], str]:
    """JSON as `json.dumps` writes it, items separated by a new line at `pad`'s indentation."""
    if (found := _encoders.get(pad)) is None:
        make = getattr(json.encoder, "c_make_encoder", None)
        if make is None:  # no C accelerator (another interpreter): the same text, slower
            found = json.JSONEncoder(separators=("," + pad, ": ")).encode
        else:
            # As JSONEncoder.encode builds one per call, built once: check_circular off (nothing
            # the desk prints refers to itself), the rest as json.dumps's defaults.
            encode = make(None, None, json.encoder.encode_basestring_ascii, None, ": ", "," + pad, False, False, True)

            def found(value: Any, encode: Any = encode) -> str:
                return "".join(encode(value, 0))

        _encoders[pad] = found
    return found


def dumps_indented(value: Any, pad: str = "\n") -> str:
    """`json.dumps(value, indent=2)`; `pad` is the new line and indentation `value` starts at
    (`"\\n  "` gives json.dumps's text with every line after the first indented two more)."""
    if not isinstance(value, _NESTED) or not value:
        return json.dumps(value)
    inner = pad + "  "
    if isinstance(value, dict):
        nested = [k for k, v in value.items() if v and isinstance(v, _NESTED)]
        if not nested:
            return "{" + inner + _compact(inner)(value)[1:-1] + pad + "}"
        if not all(type(k) is str for k in nested):
            return json.dumps(value, indent=2).replace("\n", pad)
        # The plain values by the C encoder, each nested one as a placeholder replaced afterwards.
        # A raw new line is only ever between items (in a string it is written \n) and a key is
        # there once, so `inner + key + ": 0"` marks exactly that item.
        body = inner + _compact(inner)({k: 0 if k in nested else v for k, v in value.items()})[1:-1]
        for k in nested:
            mark = f"{inner}{json.encoder.encode_basestring_ascii(k)}: "
            at = body.index(mark + "0") + len(mark)
            body = body[:at] + dumps_indented(value[k], inner) + body[at + 1 :]
        return "{" + body + pad + "}"
    if not any(v and isinstance(v, _NESTED) for v in value):
        return "[" + inner + _compact(inner)(value)[1:-1] + pad + "]"
    return "[" + inner + ("," + inner).join([dumps_indented(v, inner) for v in value]) + pad + "]"
