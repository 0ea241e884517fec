"""A stand-in for a staging API of another shape than ours, to test the scenarios against.

```bash
python -m loadtests.standin --port 0          # prints "stand-in http://127.0.0.1:PORT"
locust --config loadtests/locust.conf --host http://127.0.0.1:PORT \\
    --target-profile loadtests/profiles/standin.toml --tokens-csv keys.csv \\
    --videos-file videos.txt --channels-file channels.txt --check-profile
```

``profiles/standin.toml`` describes it: an ``X-Api-Key: key-<user id>`` header, jobs with string
ids under ``/job/id``, 201 for a queued import and 409 for a video the key has imported before.
It keeps everything in memory, checks only the shapes (a body of another shape is a 422, a path
it does not serve a 404) and binds loopback only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import socket
import sys
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import uvicorn

from ytscale.net import is_loopback

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_KEY = re.compile(r"key-(\d+)")
_JOB = re.compile(r"/api/v2/jobs/(j\d+)")


class StandIn:
    """The ASGI app: an import-jobs API over in-memory state."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.imported: set[tuple[int, str]] = set()
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, document = self.answer(scope["method"], scope["path"], scope["headers"], body)
        payload = json.dumps(document).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def answer(
        self, method: str, path: str, headers: Sequence[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, Any]:
        if (method, path) == ("GET", "/status"):
            return 200, {"status": "up"}
        key = next((v.decode() for k, v in headers if k == b"x-api-key"), "")
        if not (found := _KEY.fullmatch(key)):
            return 401, {"error": "an X-Api-Key of the form key-<user id> is required"}
        user = int(found.group(1))
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, {"error": "the body is not JSON"}
        if method == "POST" and path == "/api/v2/jobs/video-import":
            link = _get(data, "video", "link")
            if not isinstance(link, str) or "youtu" not in link:
                return 422, {"error": "video.link must be a YouTube URL"}
            if (user, link) in self.imported:
                return 409, {"error": "already in the library"}
            self.imported.add((user, link))
            return 201, {"job": self._job(user, "video")}
        if method == "POST" and path == "/api/v2/jobs/channel-import":
            if not isinstance(_get(data, "source", "channel"), str):
                return 422, {"error": "source.channel is required"}
            return 201, {"job": self._job(user, "channel")}
        if method == "GET" and (job := _JOB.fullmatch(path)):
            found_job = self.jobs.get(job.group(1))
            if found_job is None or found_job["owner"] != user:
                return 404, {"error": "no such job"}
            return 200, {"job": found_job}
        if method == "POST" and path == "/api/v2/library/lookup":
            links = data.get("links") if isinstance(data, dict) else None
            if not isinstance(links, list) or not all(isinstance(u, str) for u in links):
                return 422, {"error": "links must be a list of URLs"}
            return 200, {
                "results": [{"link": u, "held": (user, u) in self.imported} for u in links]
            }
        if method == "GET" and path == "/api/v2/account/limits":
            return 200, {"limits": {"daily": 10_000, "used": 0}}
        if method == "GET" and path == "/api/v2/subscriptions":
            return 200, {"items": [], "next_page": None}
        return 404, {"error": f"no route {method} {path}"}

    def _job(self, user: int, kind: str) -> dict[str, Any]:
        job = {"id": f"j{next(self._ids)}", "kind": kind, "owner": user, "state": "queued"}
        self.jobs[job["id"]] = job
        return job


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.standin", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="a loopback address")
    p.add_argument("--port", type=int, default=8100, help="0: any free port")
    args = p.parse_args(argv)
    if not is_loopback(args.host):
        print(f"refusing to bind {args.host}: the stand-in serves loopback only", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.bind((args.host, args.port))
    sock.listen(1024)
    host, port = sock.getsockname()[:2]
    print(f"stand-in http://{host}:{port}", flush=True)
    config = uvicorn.Config(StandIn(), log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
