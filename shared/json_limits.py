"""What every JSON body parser says when a body nests deeper than Python's parser goes.

`json.loads` raises RecursionError about a thousand levels down, valid JSON or not; that is not "not
JSON", and the client should hear which limit it hit. No body the connector takes comes near it.
"""

from __future__ import annotations

from typing import Final

TOO_DEEP: Final = "the body is nested too deeply: objects and arrays more than about a thousand levels deep"
