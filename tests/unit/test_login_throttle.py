"""The Airflow plugin's login throttle, as an ASGI middleware around a stand-in login endpoint."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from featurelake.orchestration.airflow_plugin import FeaturelakePlugin, LoginThrottle

PASSWORD = b"right"


async def login_endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers 201 for the right password, 401 for any other (as Airflow's /auth/token does)."""
    body = (await receive())["body"]
    status = 201 if body == PASSWORD else 401
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def attempt(
    app: LoginThrottle, password: bytes, client: str = "10.0.0.1", path: str = "/auth/token"
) -> tuple[int, dict[bytes, bytes]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": password, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "client": (client, 5555)}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], dict(sent[0]["headers"])


def test_an_address_is_locked_out_after_repeated_failures_and_others_are_not() -> None:
    app = LoginThrottle(login_endpoint, attempts=3, window_s=0.5)
    assert [attempt(app, b"wrong")[0] for _ in range(3)] == [401, 401, 401]
    status, headers = attempt(app, PASSWORD)  # locked out: even the right password is refused
    assert status == 429
    assert int(headers[b"retry-after"]) >= 1
    assert attempt(app, b"wrong", path="/auth/token/cli")[0] == 429  # the CLI's login too
    assert attempt(app, PASSWORD, client="10.0.0.2")[0] == 201  # another address is not
    import time

    time.sleep(0.6)  # the window has passed since the last failure
    assert attempt(app, PASSWORD)[0] == 201


def test_a_successful_login_clears_the_count() -> None:
    app = LoginThrottle(login_endpoint, attempts=3, window_s=60)
    assert attempt(app, b"wrong")[0] == 401
    assert attempt(app, b"wrong")[0] == 401
    assert attempt(app, PASSWORD)[0] == 201
    assert [attempt(app, b"wrong")[0] for _ in range(3)] == [401, 401, 401]
    assert attempt(app, b"wrong")[0] == 429


def test_other_requests_pass_untouched_and_the_plugin_registers_the_middleware() -> None:
    app = LoginThrottle(login_endpoint, attempts=1, window_s=60)
    assert attempt(app, b"wrong")[0] == 401
    assert attempt(app, b"wrong", path="/api/v2/dags")[0] == 401  # not a login: never throttled
    (entry,) = FeaturelakePlugin.fastapi_root_middlewares
    assert entry["middleware"] is LoginThrottle


@pytest.mark.parametrize("attempts", ["0", "x"])
def test_the_settings_are_checked(attempts: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from featurelake.errors import ConfigError

    monkeypatch.setenv("FEATURELAKE_AIRFLOW_LOGIN_ATTEMPTS", attempts)
    with pytest.raises(ConfigError, match="FEATURELAKE_AIRFLOW_LOGIN_ATTEMPTS"):
        LoginThrottle(login_endpoint)
