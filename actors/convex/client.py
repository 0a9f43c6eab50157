"""Bounded calls to Convex through the ``convex`` package's HTTP client.

``convex.http_client.ConvexHttpClient`` posts with ``requests.post(url, json=…,
headers=…)`` and passes no timeout, so a server that accepts a connection and never
answers would hold the caller forever. We keep the package's client (its encoding of
arguments, decoding of results and reading of error bodies) and give its
``requests.post`` a timeout: the ``requests`` name inside ``convex.http_client`` is
replaced, once, by a stand-in that forwards everything to ``requests`` and adds the
timeout of the calling thread's :class:`ConvexCalls` call. Calls made by other code
through that client, outside :meth:`ConvexCalls.call`, are forwarded unchanged.

Every failure becomes a :class:`ConvexCallError` naming the function, with a message
safe to log: the deploy key lives only in the client's ``Authorization`` header, which
no message includes.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from convex import ConvexError
from convex import http_client as _http

from actors.convex.errors import ConvexCallError

__all__ = ["ConvexCalls"]

_local = threading.local()
_install_lock = threading.Lock()


class _RequestsWithTimeout:
    """Stands in for the ``requests`` module inside ``convex.http_client``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        timeout = getattr(_local, "timeout", None)
        if timeout is not None:
            kwargs.setdefault("timeout", timeout)
        return requests.post(url, **kwargs)


def _install_timeout_hook() -> None:
    with _install_lock:
        if not isinstance(vars(_http).get("requests"), _RequestsWithTimeout):
            vars(_http)["requests"] = _RequestsWithTimeout()


class ConvexCalls:
    """Queries and mutations on one deployment, each bounded by a connect and a read timeout.

    ``deploy_key`` (optional) is sent as admin auth; it is kept only by the client.
    """

    def __init__(
        self,
        url: str,
        *,
        deploy_key: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
    ) -> None:
        _install_timeout_hook()
        self.url = url.rstrip("/")
        self._timeout = (connect_timeout, read_timeout)
        self._client = _http.ConvexHttpClient(self.url)
        if deploy_key:
            self._client.set_admin_auth(deploy_key)

    def __repr__(self) -> str:
        return f"ConvexCalls({self.url!r})"

    def query(self, function: str, args: dict[str, Any]) -> Any:
        """Run query ``function`` (``module:name``) with ``args``; its decoded result."""
        return self.call("query", function, args)

    def mutation(self, function: str, args: dict[str, Any]) -> Any:
        """Run mutation ``function`` (``module:name``) with ``args``; its decoded result."""
        return self.call("mutation", function, args)

    def call(self, kind: str, function: str, args: dict[str, Any]) -> Any:
        """One bounded call; every failure is raised as :class:`ConvexCallError`."""
        send = self._client.query if kind == "query" else self._client.mutation
        _local.timeout = self._timeout
        try:
            return send(function, args)
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = "timed out" if isinstance(exc, requests.Timeout) else "unreachable"
            raise ConvexCallError(
                function, f"{reason} ({type(exc).__name__})", transport=True
            ) from None
        except ConvexError as exc:
            data = exc.data
            code = str(data.get("code", "")) if isinstance(data, dict) else ""
            message = str(data.get("message", exc)) if isinstance(data, dict) else str(exc)
            raise ConvexCallError(
                function, message, transport=False, code=code, data=data
            ) from None
        except requests.RequestException as exc:
            raise ConvexCallError(
                function, f"request failed ({type(exc).__name__})", transport=True
            ) from None
        except Exception as exc:  # the client raises bare Exception for HTTP error bodies
            raise ConvexCallError(
                function, str(exc) or type(exc).__name__, transport=False
            ) from None
        finally:
            _local.timeout = None
