"""Graph's JSON batching: `POST /v1.0/$batch`, as learn.microsoft.com/graph/json-batching documents it.

- The body is `{"requests": [...]}`, 1 to 20 requests; each has a string `id` (unique in the batch,
  compared without case), a `method` and a relative `url` (`/users/...` or `users/...`; an absolute
  URL is refused), and optional `headers` (an object, required with a `body`, which then needs
  Content-Type) and `dependsOn` (ids of earlier requests of the batch).
- A malformed batch is refused whole with 400 BadRequest; otherwise the answer is 200
  `{"responses": [{id, status, headers, body}]}` and every request has its own status (a 404 or a
  429 of one does not fail the others). The batch needs a valid token itself (401 otherwise); its
  requests run with the batch's Authorization header, each checked for its own permissions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from devstack.graph_simulator.errors import GraphApiError
from devstack.graph_simulator.http_types import Request, Response, Router

MAX_BATCH_REQUESTS: Final = 20
_METHODS: Final = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})

Dispatch = Callable[[Request], Response]


class BatchApi:
    def __init__(self, dispatch: Dispatch, authenticate: Callable[[Request], object]) -> None:
        self._dispatch = dispatch
        self._authenticate = authenticate

    def register(self, router: Router) -> None:
        router.add("POST", "/v1\\.0/\\$batch", self.batch)

    def batch(self, request: Request) -> Response:
        # The batch itself needs a valid token (401 whole), then each request its own permissions.
        self._authenticate(request)
        body = request.json_object()
        items = body.get("requests")
        if not isinstance(items, list) or not items:
            raise GraphApiError(400, "BadRequest", "Invalid batch payload format: 'requests' is required.")
        if len(items) > MAX_BATCH_REQUESTS:
            raise GraphApiError(
                400,
                "BadRequest",
                f"Number of batch requests exceeds the maximum of {MAX_BATCH_REQUESTS}.",
            )
        parsed = [_parse_item(item) for item in items]
        ids = [item["id"].casefold() for item in parsed]
        if len(set(ids)) != len(ids):
            raise GraphApiError(400, "BadRequest", "Batch request ids must be unique.")
        for index, item in enumerate(parsed):
            earlier = set(ids[:index])
            for dependency in item["dependsOn"]:
                if dependency.casefold() not in earlier:
                    raise GraphApiError(
                        400, "BadRequest", f"Request {item['id']} depends on an unknown request {dependency}."
                    )
        responses = [self._run(request, item) for item in parsed]
        return Response.json(200, {"responses": responses})

    def _run(self, outer: Request, item: dict[str, Any]) -> dict[str, Any]:
        split = urlsplit(item["url"])
        path = "/v1.0/" + split.path.lstrip("/")
        headers = {name.lower(): value for name, value in item["headers"].items()}
        authorization = outer.header("authorization")
        if authorization is not None:
            headers["authorization"] = authorization
        body = item["body"]
        raw = b"" if body is None else json.dumps(body).encode()
        answer = self._dispatch(Request(item["method"], path, split.query, headers, raw, outer.base_url))
        entry: dict[str, Any] = {"id": item["id"], "status": answer.status, "headers": dict(answer.headers)}
        if answer.body:
            try:
                entry["body"] = json.loads(answer.body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                entry["body"] = answer.body.decode("utf-8", "replace")
        return entry


def _parse_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise GraphApiError(400, "BadRequest", "Invalid batch payload format: a request must be an object.")
    request_id, method, url = item.get("id"), item.get("method"), item.get("url")
    if not isinstance(request_id, str) or not request_id:
        raise GraphApiError(400, "BadRequest", "Invalid batch payload format: 'id' is required.")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise GraphApiError(400, "BadRequest", f"Invalid method in request {request_id}.")
    if not isinstance(url, str) or not url or "://" in url:
        raise GraphApiError(
            400, "BadRequest", f"Invalid request URI in request {request_id}: a relative URL is required."
        )
    headers = item.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise GraphApiError(400, "BadRequest", f"Invalid headers in request {request_id}.")
    body = item.get("body")
    if body is not None and not any(name.lower() == "content-type" for name in headers):
        raise GraphApiError(
            400, "BadRequest", f"Content-Type header is required for request {request_id} with a body."
        )
    depends_on = item.get("dependsOn", [])
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise GraphApiError(400, "BadRequest", f"Invalid dependsOn in request {request_id}.")
    return {
        "id": request_id,
        "method": method.upper(),
        "url": url,
        "headers": headers,
        "body": body,
        "dependsOn": depends_on,
    }
