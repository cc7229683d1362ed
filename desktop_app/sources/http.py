"""The shared HTTP client: explicit timeouts, retries with capped exponential backoff
that honour ``Retry-After``, and failures mapped to :class:`DataSourceError` naming the
URL (secrets removed), the HTTP status and the provider's own ``reason`` text."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from desktop_app.errors import CancelledError, DataSourceError

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SECRET_PARAMS = frozenset({"apikey", "api_key", "key", "token", "access_token", "password"})
USER_AGENT = "microclimate-desk (+sources)"


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts in all (first try included) and the backoff: base * 2**n, capped."""

    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.max_delay_s, self.base_delay_s * (2**attempt))
        if retry_after is not None:
            # The server says when; a hostile or broken Retry-After must not hang us.
            return min(self.max_delay_s, retry_after)
        return backoff


def redact_url(url: str | httpx.URL) -> str:
    """The URL with secret query parameters replaced by ``***`` (safe for attrs/logs)."""
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    query = [
        (k, "***" if k.lower() in SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe=",:*")))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def cache_max_age(headers: Mapping[str, str]) -> float | None:
    """Seconds an answer stays fresh by its ``Cache-Control`` header: ``max-age=N``;
    ``no-cache``/``no-store`` mean 0 (kept for offline use, never served fresh); None
    when the server says nothing, so the caller's own lifetime applies."""
    value = headers.get("Cache-Control") or headers.get("cache-control") or ""
    directives = [d.strip().lower() for d in value.split(",") if d.strip()]
    if any(d in ("no-cache", "no-store") for d in directives):
        return 0.0
    for directive in directives:
        name, _, number = directive.partition("=")
        if name.strip() == "max-age":
            try:
                return max(0.0, float(number.strip().strip('"')))
            except ValueError:
                return None
    return None


def provider_reason(response: httpx.Response) -> str:
    """The provider's explanation: Open-Meteo ``reason``, CDS ``detail``/``title``."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip().replace("\n", " ")
        return text[:200] if text else response.reason_phrase
    if isinstance(body, dict):
        for key in ("reason", "detail", "title", "message", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return response.reason_phrase


class HttpClient:
    """One httpx client shared by the providers; inject ``transport`` in tests."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        provider: str = "HTTP",
    ) -> None:
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.provider = provider

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        provider: str | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response with its body read, or raise."""
        who = provider or self.provider
        last: DataSourceError | None = None
        for attempt in range(self.retry.attempts):
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"{who}: cancelled")
            request = self._client.build_request(
                method, url, params=params, json=json_body, headers=headers
            )
            safe_url = redact_url(request.url)
            retry_after: float | None = None
            try:
                response = self._client.send(request)
                response.read()
            except httpx.TimeoutException as exc:
                last = DataSourceError(
                    f"{who}: timed out ({type(exc).__name__}) requesting {safe_url}",
                    url=safe_url,
                )
                last.__cause__ = exc
            except httpx.RemoteProtocolError as exc:
                last = DataSourceError(
                    f"{who}: truncated or malformed response from {safe_url}: {exc}",
                    url=safe_url,
                )
                last.__cause__ = exc
            except httpx.TransportError as exc:
                last = DataSourceError(
                    f"{who}: cannot reach {safe_url}: {exc or type(exc).__name__}",
                    url=safe_url,
                )
                last.__cause__ = exc
            else:
                if response.is_success:
                    return response
                status = response.status_code
                last = DataSourceError(
                    f"{who}: HTTP {status} from {safe_url}: {provider_reason(response)}",
                    url=safe_url,
                    status=status,
                )
                if status not in RETRY_STATUSES:
                    raise last
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt + 1 < self.retry.attempts:
                self._sleep(self.retry.delay(attempt, retry_after))
        assert last is not None
        if self.retry.attempts > 1:
            raise DataSourceError(
                f"{last} (gave up after {self.retry.attempts} attempts)",
                url=last.url,
                status=last.status,
            ) from last.__cause__
        raise last

    def get_json(self, url: str, **kwargs: Any) -> Any:
        response = self.request("GET", url, **kwargs)
        return decode_json(response, provider=kwargs.get("provider") or self.provider)

    def stream_to(
        self,
        url: str,
        write: Callable[[bytes], None],
        *,
        headers: Mapping[str, str] | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        cancel: threading.Event | None = None,
        provider: str | None = None,
    ) -> int:
        """Download ``url`` chunk by chunk into ``write``; return the byte count.

        A short body (fewer bytes than ``Content-Length``) is an error, never a file.
        """
        who = provider or self.provider
        safe_url = redact_url(url)
        done = 0
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if not response.is_success:
                    response.read()
                    raise DataSourceError(
                        f"{who}: HTTP {response.status_code} from {safe_url}: "
                        f"{provider_reason(response)}",
                        url=safe_url,
                        status=response.status_code,
                    )
                total_header = response.headers.get("Content-Length")
                total = int(total_header) if total_header and total_header.isdigit() else None
                for chunk in response.iter_bytes(chunk_size=1 << 20):
                    if cancel is not None and cancel.is_set():
                        raise CancelledError(f"{who}: download cancelled")
                    write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
        except httpx.TimeoutException as exc:
            raise DataSourceError(f"{who}: timed out downloading {safe_url}", url=safe_url) from exc
        except httpx.TransportError as exc:
            raise DataSourceError(
                f"{who}: download of {safe_url} failed or was truncated: {exc}", url=safe_url
            ) from exc
        if total is not None and done != total:
            raise DataSourceError(
                f"{who}: truncated download from {safe_url}: got {done} of {total} bytes",
                url=safe_url,
            )
        return done


def decode_json(response: httpx.Response, *, provider: str) -> Any:
    """Parse a JSON body; a truncated body or a bare ``nan`` is a clear error."""
    return parse_json_bytes(
        response.content, url=redact_url(response.url), provider=provider,
        status=response.status_code,
    )


def parse_json_bytes(
    data: bytes, *, url: str, provider: str, status: int | None = None
) -> dict[str, Any] | list[Any]:
    """JSON object or array from ``data``, else a :class:`DataSourceError` saying why."""
    text = data.decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
    except ValueError as exc:
        shown = text.strip()[:40] or "<empty>"
        raise DataSourceError(
            f"{provider}: response from {url} is not valid JSON "
            f"(truncated or not JSON; body starts {shown!r})",
            url=url,
            status=status,
        ) from exc
    if not isinstance(body, dict | list):
        raise DataSourceError(
            f"{provider}: response from {url} is not a JSON object but {text.strip()[:40]!r}",
            url=url,
            status=status,
        )
    return body


_shared: HttpClient | None = None
_shared_lock = threading.Lock()


def shared_client() -> HttpClient:
    """The process-wide client (connection pooling across providers)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = HttpClient()
        return _shared
