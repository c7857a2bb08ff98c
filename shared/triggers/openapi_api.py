"""GET /api/openapi.json: the OpenAPI 3.1 document of every HTTP route (anonymous, like the routes'
own descriptions: it holds no tenant data).

Built once per process from the app the host loaded (function_app.app), so it lists exactly what is
registered: shared/http/openapi.py walks the functions, shared/http/contract.py holds their declarations.
"""

from __future__ import annotations

import functools
import importlib
import json
from typing import Any

import azure.functions as func
from pydantic import ConfigDict

from shared.http.contract import Json, Security, operation
from shared.http.errors import http_errors
from shared.http.openapi import openapi_document
from shared.http.schemas import ResponseModel

bp = func.Blueprint()

APP_MODULE = "function_app"


class OpenApiDocument(ResponseModel):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


@functools.cache
def document_text() -> str:
    app: func.FunctionApp = importlib.import_module(APP_MODULE).app
    return json.dumps(openapi_document(app), separators=(",", ":"))


@bp.function_name("openapi_document")
@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="This document",
    tags=("operations",),
    security=Security.NONE,
    responses={200: Json(OpenApiDocument, "The OpenAPI 3.1 document of the API")},
)
@http_errors
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        document_text(),
        status_code=200,
        mimetype="application/json",
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
