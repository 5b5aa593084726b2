"""HTTP for connectors: one requests Session per connector with timeouts, proxies, CA bundle and TLS
verification on by default, and requests' exceptions turned into the outbox's errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from desktop import __version__
from desktop.connectors.base import ConfigurationError, DeliveryError, TransientError, classify_http


@dataclass(frozen=True)
class HttpOptions:
    """Connection settings shared by the HTTP connectors (from the ``[helpdesk]`` settings)."""

    base_url: str
    timeout: float = 20.0  # seconds, for connect and for each read
    verify_tls: bool = True
    ca_bundle: str = ""  # a PEM file of extra trusted CAs; empty: the system's
    proxy: str = ""  # explicit proxy URL (may hold credentials); empty: the system's (environment)


def make_session(options: HttpOptions, headers: Mapping[str, str] | None = None) -> requests.Session:
    """A Session set up from ``options``; ``headers`` are added to every request (auth tokens)."""
    if not options.base_url.startswith(("http://", "https://")):
        raise ConfigurationError(f"the helpdesk address {options.base_url!r} is not an http(s) URL", "helpdesk.url")
    session = requests.Session()
    session.headers["User-Agent"] = f"Deskline/{__version__}"
    session.headers.update(headers or {})
    session.verify = options.ca_bundle or options.verify_tls
    if options.proxy:
        _check_proxy(options.proxy)
        session.proxies = {"http": options.proxy, "https": options.proxy}
        session.trust_env = False
    return session


def call(
    session: requests.Session,
    method: str,
    url: str,
    what: str,
    options: HttpOptions,
    ok: tuple[int, ...] = (200, 201, 204),
    **kwargs: Any,
) -> requests.Response:
    """One request; raises TransientError / PermanentError / ConfigurationError as :mod:`base` says."""
    try:
        response = session.request(method, url, timeout=(min(options.timeout, 10.0), options.timeout), **kwargs)
    except requests.exceptions.SSLError as exc:
        raise ConfigurationError(
            f"the helpdesk's certificate is not trusted while {what}: {_short(exc)}", "helpdesk.ca_bundle"
        ) from exc
    except requests.exceptions.ProxyError as exc:
        raise TransientError(f"the proxy did not pass the request while {what}: {_short(exc)}") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise TransientError(f"the helpdesk could not be reached while {what}: {_short(exc)}") from exc
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema) as exc:
        raise ConfigurationError(f"the helpdesk address is not valid: {_short(exc)}", "helpdesk.url") from exc
    except requests.exceptions.RequestException as exc:
        raise DeliveryError(f"request failed while {what}: {_short(exc)}") from exc
    if response.status_code not in ok:
        raise classify_http(response.status_code, what, response.headers, _detail(response))
    return response


def _check_proxy(proxy: str) -> None:
    """A malformed ``helpdesk.proxy`` is named as such (not blamed on the helpdesk's address), masked."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    shown = re.sub(r"//[^/@]*@", "//***:***@", proxy)
    try:
        parsed = parse_url(proxy)
    except (LocationParseError, ValueError) as exc:
        raise ConfigurationError(f"the proxy address {shown!r} is not valid: {type(exc).__name__}",
                                 "helpdesk.proxy") from exc
    if parsed.scheme not in ("http", "https", "socks5", "socks5h") or not parsed.host:
        raise ConfigurationError(f"the proxy address {shown!r} is not an http(s) or socks5 URL", "helpdesk.proxy")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def _detail(response: requests.Response) -> str:
    """The server's own short error message, from JSON (``error``, ``detail``, ``message``) or text."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip().splitlines()[0] if response.text.strip() else ""
        return text[:200] if "<" not in text[:1] else ""
    if isinstance(data, dict):
        for key in ("error", "detail", "message", "errors", "error_human"):
            if key in data:
                value = data[key]
                return str(value)[:200]
    if isinstance(data, list) and data:
        return str(data[0])[:200]
    return ""
