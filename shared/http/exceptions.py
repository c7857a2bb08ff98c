"""Failures of reading an HTTP request before any service is called."""

from __future__ import annotations

from shared.errors import AppError


class HttpInputError(AppError):
    code = "invalidRequest"


class MalformedJson(HttpInputError):
    code = "malformedJson"


class UnsupportedMediaType(HttpInputError):
    code = "unsupportedMediaType"


class PayloadTooLarge(HttpInputError):
    code = "payloadTooLarge"
