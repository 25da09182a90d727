"""Log hygiene: request lines never carry query strings (they may hold an ``id_token_hint``)."""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?\S*")


class StripQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY.sub("?…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str) and "?" in record.msg and not record.args:
            record.msg = _QUERY.sub("?…", record.msg)
        return True
