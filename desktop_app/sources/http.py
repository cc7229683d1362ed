"""The shared HTTP client: explicit timeouts, retries with capped exponential backoff
that honour ``Retry-After``, and failures mapped to :class:`DataSourceError` naming the
URL (secrets removed), the HTTP status and the provider's own ``reason`` text."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from desktop_app.errors import CancelledError, DataSourceError

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)
# The read timeout restarts at every byte, so a server trickling one byte a second would
# hold a request for ever: each request (each download) also has an overall deadline.
DEFAULT_DEADLINE_S = 300.0
DEFAULT_DOWNLOAD_DEADLINE_S = 6 * 3600.0
# Bodies are counted after decompression, chunk by chunk, so a 200 MB answer or a small
# gzip that inflates to gigabytes is refused while streaming, never held in memory.
DEFAULT_MAX_BODY_BYTES = 100 * 1024**2
DEFAULT_MAX_DOWNLOAD_BYTES = 50 * 1024**3
MAX_REDIRECTS = 5
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


@dataclass
class PollPolicy:
    """How to poll a job a server runs for us (the CDS): capped exponential backoff, and
    when to give up."""

    first_s: float = 1.0
    factor: float = 1.5
    max_s: float = 60.0
    timeout_s: float = 6 * 3600.0


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
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        download_deadline_s: float = DEFAULT_DOWNLOAD_DEADLINE_S,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> None:
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
        )
        self.deadline_s, self.max_body_bytes = deadline_s, max_body_bytes
        self.download_deadline_s = download_deadline_s
        self.max_download_bytes = max_download_bytes
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
                response = self._client.send(request, stream=True)
                try:
                    body = b"".join(self._chunks(response, who, safe_url, self.deadline_s,
                                                 self.max_body_bytes, cancel))
                finally:
                    response.close()
                response._content = body  # the body as read, within the caps
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
            except httpx.RequestError as exc:  # too many redirects, undecodable gzip
                raise DataSourceError(f"{who}: bad response from {safe_url}: "
                                      f"{exc or type(exc).__name__}", url=safe_url) from exc
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

    @staticmethod
    def _chunks(response: httpx.Response, who: str, safe_url: str, deadline_s: float,
                max_bytes: int, cancel: threading.Event | None) -> Iterator[bytes]:
        """The decoded body chunk by chunk, within ``deadline_s`` from now and
        ``max_bytes`` after decompression; else one :class:`DataSourceError`."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise DataSourceError(f"{who}: response from {safe_url} is {declared} bytes, "
                                  f"over the limit of {max_bytes}", url=safe_url)
        end = time.monotonic() + deadline_s
        total = 0
        for chunk in response.iter_bytes():  # as they arrive (a size would buffer)
            total += len(chunk)
            if total > max_bytes:
                raise DataSourceError(f"{who}: response from {safe_url} is over the limit "
                                      f"of {max_bytes} bytes (after decompression)",
                                      url=safe_url)
            if time.monotonic() > end:
                raise DataSourceError(f"{who}: response from {safe_url} took longer than "
                                      f"{deadline_s:g} s in all (server too slow)",
                                      url=safe_url)
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"{who}: cancelled")
            yield chunk

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
                for chunk in self._chunks(response, who, safe_url, self.download_deadline_s,
                                          self.max_download_bytes, cancel):
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
        except httpx.RequestError as exc:
            raise DataSourceError(f"{who}: bad response from {safe_url}: "
                                  f"{exc or type(exc).__name__}", url=safe_url) from exc
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
