"""The OpenAPI 3.1 document of exactly what the emulator serves (built from urls.ROUTES)."""

from __future__ import annotations

from typing import Any

from .urls import ROUTES

S = {"type": "string"}
NS = {"type": ["string", "null"]}
TS = {"type": "string", "format": "date-time"}
NTS = {"type": ["string", "null"], "format": "date-time"}
UUID = {"type": "string", "format": "uuid"}
NUUID = {"type": ["string", "null"], "format": "uuid"}
INT = {"type": "integer", "minimum": 0}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required is not None:
        out["required"] = required
    return out


HOSTED_PAGE = _obj({"title": S, "content_markdown": S, "status": {"enum": ["draft", "published"]}})
SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _obj({"code": S, "message": S}, ["code", "message"]),
                   "request_id": {"type": "string", "pattern": "^req_[0-9a-f]{24}$"}}, ["error", "request_id"]),
    "Pagination": _obj({"limit": {"type": "integer", "minimum": 1, "maximum": 100}, "offset": INT,
                        "has_more": {"type": "boolean"}}, ["limit", "offset", "has_more"]),
    "Grant": _obj({"id": UUID, "label": S, "status": {"enum": ["active", "revoked", "pending"]},
                   "permissions": {"type": "array", "items": S}, "created_at": TS, "updated_at": TS}),
    "Client": _obj({"user_id": UUID, "full_name": S, "business_name": S, "account_status": S,
                    "grant": {"$ref": "#/components/schemas/Grant"}},
                   ["user_id", "full_name", "business_name", "account_status", "grant"]),
    "Post": _obj({"id": UUID, "text": S, "status": {"enum": ["draft", "scheduled", "publishing", "published"]},
                  "scheduled_at": NTS, "published_at": NTS, "theme_id": NUUID, "template_id": NUUID,
                  "images": {"type": "array", "items": S}, "document_url": NS, "document_type": NS, "notes": NS,
                  "followups": {"type": ["array", "null"], "items": {"type": "object"}}, "linkedin_url": NS,
                  "created_at": TS, "updated_at": TS}, ["id", "status", "created_at", "updated_at"]),
    "LeadMagnet": _obj({"id": UUID, "status": {"enum": ["draft", "published", "archived"]},
                        "delivery_mode": {"enum": ["external_link", "hosted_content", "gated_external"]},
                        "keyword": S, "resource_name": S, "resource_link": NS, "description": NS,
                        "text_template": NS, "linked_posts": {"type": "array", "items": UUID},
                        "hosted_page": {"oneOf": [HOSTED_PAGE, {"type": "null"}]}, "created_at": TS,
                        "updated_at": TS}, ["id", "status", "delivery_mode", "created_at", "updated_at"]),
    "Lead": _obj({"id": UUID, "lead_magnet_id": NUUID, "post_id": NUUID, "full_name": S, "email": NS,
                  "linkedin_profile_url": S, "headline": S, "company": S,
                  "source": {"enum": ["comments", "messages"]}, "created_at": TS, "updated_at": TS},
                 ["id", "created_at", "updated_at"]),
    "Activity": _obj({"id": UUID, "source": {"enum": ["comments", "messages"]}, "post_id": NUUID,
                      "lead_magnet_id": NUUID, "author_name": S, "author_platform_id": S, "content": S,
                      "keyword_matched": {"type": "boolean"}, "created_at": TS}, ["id", "source", "created_at"]),
    "PostEngagement": _obj({"post_id": UUID, "impressions": INT, "reactions": INT, "comments": INT,
                            "reposts": INT, "clicks": INT, "captured_at": TS}),
    "LeadMagnetAnalytics": _obj({"lead_magnet_id": UUID, "views": INT, "requests": INT, "deliveries": INT,
                                 "captured_at": TS}),
    "UploadUrl": _obj({"upload_url": S, "token": S, "path": S, "public_url": S, "bucket": S, "content_type": S}),
    "Deleted": _obj({"id": UUID, "deleted": {"type": "boolean"}}),
    "PostCreate": _obj({"text": S, "status": {"enum": ["draft", "scheduled"], "default": "draft"},
                        "scheduled_at": {**NTS, "description": "required and in the future when status=scheduled"},
                        "theme_id": NS, "template_id": NS, "images": {"type": "array", "items": S},
                        "document_url": NS, "document_type": NS, "notes": NS,
                        "followups": {"type": ["array", "null"]}}, ["text"]),
    "LeadMagnetCreate": _obj({"status": {"enum": ["draft", "published"], "default": "draft"},
                              "delivery_mode": {"enum": ["external_link", "hosted_content", "gated_external"]},
                              "keyword": S, "resource_name": S, "resource_link": NS, "description": NS,
                              "text_template": NS, "linked_posts": {"type": "array", "items": UUID},
                              "hosted_page": {"oneOf": [HOSTED_PAGE, {"type": "null"}],
                                              "description": "required for hosted_content and gated_external"}},
                             ["delivery_mode", "keyword", "resource_name"]),
    "UploadUrlRequest": _obj({"filename": S, "content_type": {"enum": ["image/jpeg", "image/png", "image/gif",
                                                                       "image/webp", "application/pdf"]},
                              "file_size": {"type": "integer", "minimum": 1,
                                            "description": "max 5 MB for images, 15 MB for PDF"}},
                             ["filename", "content_type", "file_size"]),
}
SCHEMAS["PostUpdate"] = {**SCHEMAS["PostCreate"], "required": []}
SCHEMAS["LeadMagnetUpdate"] = {**SCHEMAS["LeadMagnetCreate"], "required": []}

RESPONSE_SCHEMA = {
    "list_clients": "Client", "get_client": "Client", "list_posts": "Post", "get_post": "Post",
    "create_post": "Post", "update_post": "Post", "delete_post": "Deleted", "get_engagement": "PostEngagement",
    "list_lead_magnets": "LeadMagnet", "get_lead_magnet": "LeadMagnet", "create_lead_magnet": "LeadMagnet",
    "update_lead_magnet": "LeadMagnet", "archive_lead_magnet": "LeadMagnet",
    "get_analytics": "LeadMagnetAnalytics", "upload_url": "UploadUrl", "list_leads": "Lead",
    "list_activity": "Activity",
}
PATH_PARAM = {"clientId": "The client's user_id from GET /clients", "postId": "Post id",
              "leadMagnetId": "Lead magnet id"}
ERRORS = {"400": "Bad request (bad limit/offset/filter, malformed body, wrong-typed field)",
          "401": "Missing, malformed or unknown API key", "403": "Missing scope or no active grant",
          "404": "Unknown path, client, or record", "429": "Rate limited (Retry-After header)",
          "500": "Server error", "502": "Bad gateway", "503": "Service unavailable"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in ROUTES:
        params: list[dict[str, Any]] = [
            {"name": seg[1:-1], "in": "path", "required": True, "schema": S, "description": PATH_PARAM[seg[1:-1]]}
            for seg in route.segments if seg.startswith("{")]
        data_schema: dict[str, Any] = _ref(RESPONSE_SCHEMA[route.handler])
        envelope_props: dict[str, Any] = {"request_id": S}
        if route.list_resource:
            params += [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 50},
                 "description": "Page size; values above 100 are served as 100"},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}]
            data_schema = {"type": "array", "items": data_schema}
            envelope_props["pagination"] = _ref("Pagination")
        if route.handler == "list_leads":
            params.append({"name": "has_email", "in": "query", "schema": {"type": "boolean"}})
        if route.handler == "list_activity":
            params.append({"name": "source", "in": "query", "schema": {"enum": ["comments", "messages"]}})
        envelope_props["data"] = data_schema
        ok = "201" if route.method == "POST" and route.handler.startswith("create") else "200"
        responses: dict[str, Any] = {ok: {"description": "OK", "content": {"application/json": {
            "schema": _obj(envelope_props, ["data", "request_id"])}}}}
        codes = ["401", "403", "404", "429", "500", "502", "503"]
        if route.list_resource or route.body:
            codes.insert(0, "400")
        if route.body or route.handler == "delete_post":
            codes.append("422")
        for code in sorted(codes):
            desc = ERRORS.get(code, "Validation failed (write rules)")
            responses[code] = {"description": desc, "content": {"application/json": {"schema": _ref("Error")}}}
        op: dict[str, Any] = {"operationId": route.handler, "summary": route.summary, "parameters": params,
                              "responses": responses, "security": [{"bearer": [route.scope]}],
                              "x-required-scope": route.scope}
        if route.body:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(route.body)}}}
        paths.setdefault(route.template, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "LeadPanther API v1 (agency mode) - emulator", "version": "1.0.0",
                 "description": "What leadpanther_emulator serves: documented routes plus the ASSUMED "
                                "engagement/analytics routes (see leadpanther-api-contract.md)."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer", "description": "lp_live_... API key; scopes per route"}}},
    }
