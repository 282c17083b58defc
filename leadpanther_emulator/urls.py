"""The route table: every route served under /api/v1 (used by the dispatcher, the request log and OpenAPI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # relative to /api/v1, with {param} segments
    handler: str  # method name on responses.ApiHandlers
    scope: str
    summary: str
    list_resource: str | None = None  # list routes: the resource kind they page over
    body: str | None = None  # request body schema name (OpenAPI)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


C = "/clients/{clientId}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/clients", "list_clients", "clients:read", "List the agency's granted clients", "clients"),
    Route("GET", C, "get_client", "clients:read", "Get one client (active grant required)"),
    Route("GET", C + "/posts", "list_posts", "posts:read", "List a client's posts", "posts"),
    Route("POST", C + "/posts", "create_post", "posts:write", "Create a draft or scheduled post", body="PostCreate"),
    Route("GET", C + "/posts/{postId}", "get_post", "posts:read", "Get one post"),
    Route("PATCH", C + "/posts/{postId}", "update_post", "posts:write", "Update a draft or scheduled post",
          body="PostUpdate"),
    Route("DELETE", C + "/posts/{postId}", "delete_post", "posts:write",
          "Delete a post (published or publishing posts cannot be deleted)"),
    Route("GET", C + "/posts/{postId}/engagement", "get_engagement", "analytics:read",
          "Post engagement (ASSUMED path; zeros for posts that are not published)"),
    Route("GET", C + "/lead-magnets", "list_lead_magnets", "lead_magnets:read", "List a client's lead magnets",
          "lead_magnets"),
    Route("POST", C + "/lead-magnets", "create_lead_magnet", "lead_magnets:write", "Create a lead magnet",
          body="LeadMagnetCreate"),
    Route("GET", C + "/lead-magnets/{leadMagnetId}", "get_lead_magnet", "lead_magnets:read", "Get one lead magnet"),
    Route("PATCH", C + "/lead-magnets/{leadMagnetId}", "update_lead_magnet", "lead_magnets:write",
          "Update a lead magnet", body="LeadMagnetUpdate"),
    Route("POST", C + "/lead-magnets/{leadMagnetId}/archive", "archive_lead_magnet", "lead_magnets:write",
          "Archive a lead magnet (status=archived; it stays listed)"),
    Route("GET", C + "/lead-magnets/{leadMagnetId}/analytics", "get_analytics", "analytics:read",
          "Lead magnet analytics (ASSUMED path)"),
    Route("POST", C + "/media/upload-url", "upload_url", "media:write", "Create a signed upload URL",
          body="UploadUrlRequest"),
    Route("GET", C + "/leads", "list_leads", "leads:read", "List a client's leads (personal data)", "leads"),
    Route("GET", C + "/activity", "list_activity", "activity:read", "List a client's inbound activity",
          "activity"),
)


def _build_index() -> dict[int, list[Route]]:
    index: dict[int, list[Route]] = {}
    for route in ROUTES:
        index.setdefault(len(route.segments), []).append(route)
    return index


_BY_LEN = _build_index()


def match(path: str) -> tuple[list[Route], dict[str, str]]:
    """Routes whose template matches the path (any method) and the path parameters."""
    parts = path.strip("/").split("/") if path.strip("/") else []
    found: list[Route] = []
    params: dict[str, str] = {}
    for route in _BY_LEN.get(len(parts), ()):
        got: dict[str, str] = {}
        for seg, part in zip(route.segments, parts, strict=True):
            if seg.startswith("{"):
                if not part:
                    break
                got[seg[1:-1]] = part
            elif seg != part:
                break
        else:
            found.append(route)
            params = got
    return found, params
