"""One class per API error. Raised by models.py (no HTTP there); responses.py turns them into error bodies:
``{"error": {"code": ..., "message": ...}, "request_id": ...}``."""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code.replace("_", " ")


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class MissingScope(ApiError):
    status = 403
    code = "insufficient_scope"


class GrantNotActive(ApiError):
    status = 403
    code = "grant_not_active"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class ClientNotFound(NotFound):
    code = "client_not_found"


class RecordNotFound(NotFound):
    code = "record_not_found"


class RouteNotFound(NotFound):
    code = "route_not_found"


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class InvalidPagination(BadRequest):
    code = "invalid_pagination"


class InvalidFilter(BadRequest):
    code = "invalid_filter"


class InvalidJson(BadRequest):
    code = "invalid_json"


class ValidationFailed(ApiError):
    status = 422
    code = "validation_error"


class PostNotDeletable(ValidationFailed):
    code = "post_not_deletable"


class PostNotEditable(ValidationFailed):
    code = "post_not_editable"


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"


class ServerError(ApiError):
    status = 500
    code = "internal_error"


class BadGateway(ApiError):
    status = 502
    code = "bad_gateway"


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
