"""featurelake's Airflow plugin: a lock-out for repeated failed logins to the API server.

Airflow's simple auth manager checks a password on ``POST /auth/token`` (the UI's login form)
and ``POST /auth/token/cli`` with no limit on attempts. :class:`LoginThrottle`, an ASGI
middleware the plugin adds to the API server, counts the failed logins (answers 401) of each
client address. After ``FEATURELAKE_AIRFLOW_LOGIN_ATTEMPTS`` failures within the lock-out
window, that address gets 429 with ``Retry-After`` on every login until the window has passed
since its last failure. A successful login clears its count.

Registered through the ``airflow.plugins`` entry point of featurelake's package.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from airflow.plugins_manager import AirflowPlugin

__all__ = ["FeaturelakePlugin", "LoginThrottle"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_LOGIN_PATHS = ("/auth/token", "/auth/token/cli")


class LoginThrottle:
    """Refuse logins from an address after ``attempts`` failures within ``window_s`` seconds."""

    def __init__(self, app: ASGIApp, attempts: int | None = None, window_s: float | None = None) -> None:
        from featurelake.config import get_settings

        settings = get_settings()
        self.app = app
        self.attempts = attempts or settings.airflow_login_attempts
        self.window_s = window_s or settings.airflow_login_lockout_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(client, ()) if now - t < self.window_s]
        if kept:
            self._failures[client] = kept
        else:
            self._failures.pop(client, None)
        return kept

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(_LOGIN_PATHS):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        now = time.monotonic()
        with self._lock:
            recent = self._recent(client, now)
        if len(recent) >= self.attempts:
            wait = int(self.window_s - (now - recent[-1])) + 1
            body = json.dumps(
                {"detail": f"too many failed logins from {client}: try again in {wait} s"}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(wait).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                with self._lock:
                    if message["status"] == 401:
                        self._failures.setdefault(client, []).append(time.monotonic())
                    elif message["status"] < 400:
                        self._failures.pop(client, None)
            await send(message)

        await self.app(scope, receive, observe)


class FeaturelakePlugin(AirflowPlugin):
    """Adds :class:`LoginThrottle` to Airflow's API server."""

    name = "featurelake"
    fastapi_root_middlewares = [  # noqa: RUF012 - the attribute Airflow reads
        {"middleware": LoginThrottle, "name": "featurelake login throttle"}
    ]
