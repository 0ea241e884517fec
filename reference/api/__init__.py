"""The reference HTTP API (FastAPI), built by an app factory from the settings.

```python
app = create_app(settings)                 # or create_app(services=..., celery_app=...)
uvicorn.run(app, host="127.0.0.1")         # ``ytscale serve`` runs the whole stack
```

| endpoint | answer |
|---|---|
| ``POST /v1/imports/videos {url}`` | 202 ``{request_id}`` queued; 200 ``{project_id}``: had it |
| ``POST /v1/imports/channels {channel}`` | 202 ``{request_id}`` queued |
| ``GET /v1/imports/{id}`` | the request's status (the owner's only: 404 otherwise) |
| ``POST /v1/videos/check {urls}`` | per URL: its video id and the user's project, or an error |
| ``GET /v1/quota`` / ``GET /v1/sources`` | today's quota; the user's content sources, paged |
| ``GET /healthz`` / ``GET /metrics`` / ``GET /v1/ping`` | backends; Prometheus; a trivial answer |
| ``GET /websub/{channel_id}`` / ``POST`` | the hub's intent check; signed upload notifications |

``/websub`` is for the WebSub hub and is authenticated by HMAC signatures (:mod:`reference.push`).
Every ``/v1`` endpoint but ping needs ``Authorization: Bearer <token>`` (:mod:`reference.auth`).
Errors are ``{"detail": "..."}`` naming the problem: 401, 404, 413, 422, and 503 naming the backend
that is down.
"""

from reference.api.app import MAX_BODY_BYTES, create_app

__all__ = ["MAX_BODY_BYTES", "create_app"]
