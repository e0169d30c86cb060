"""Client for the Spawning Do-Not-Train registry (signals.md section 7).

The API takes newline-separated URLs (at most 10,000 per request) as ``text/plain`` with the header
``Authorization: API <key>`` and answers ``{"urls": [{"url": ..., "optOut": bool, "optIn": bool}]}``.
A missing key is a :class:`RegistryConfigError` at construction: never a silent allow. Rate limits
(429) and server errors (5xx) are retried with exponential backoff; after the last retry, or on any
other error status, :class:`RegistryError` carries the status. Retries are urllib3's
:class:`~urllib3.util.retry.Retry` (connection errors, 429 and every 5xx; a ``Retry-After`` of at
most :data:`MAX_RETRY_AFTER` seconds is honoured, a longer one falls back to the backoff schedule).
The crawl (``transforms.crawl.QueryRegistry``) records every URL of a batch that failed this way as
``unreachable`` and goes on.

Observed in public clients (not in a spec): the API rejects a request with a single URL, so a batch
of one is padded with an empty line and the empty entry is dropped from the answer.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable

import requests
import requests.adapters
import urllib3.exceptions
from urllib3.util.retry import Retry

__all__ = [
    "DEFAULT_ENDPOINT",
    "API_KEY_ENV",
    "MAX_BATCH",
    "RegistryClient",
    "RegistryConfigError",
    "RegistryError",
    "api_key_from_env",
]

DEFAULT_ENDPOINT = "https://opts-api.spawningaiapi.com/api/v2/query/urls"
API_KEY_ENV = "SPAWNING_API_KEY"
MAX_BATCH = 10_000
#: Longest Retry-After (seconds) that is honoured; a longer one falls back to the backoff schedule.
MAX_RETRY_AFTER = 30.0


class RegistryConfigError(ValueError):
    """The client cannot be used as configured (no API key, bad batch size, ...)."""


class RegistryError(RuntimeError):
    """The registry did not answer usably; ``status`` is the last HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def api_key_from_env(environ: dict | None = None) -> str | None:
    """The key from ``SPAWNING_API_KEY``, or None when unset or blank."""
    value = (os.environ if environ is None else environ).get(API_KEY_ENV, "")
    return value.strip() or None


class _CappedRetry(Retry):
    """urllib3's Retry, except that a Retry-After longer than MAX_RETRY_AFTER uses the backoff."""

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return seconds if seconds is not None and 0 <= seconds <= MAX_RETRY_AFTER else None

    def sleep_for_retry(self, response=None) -> bool:
        seconds = self.get_retry_after(response) if response is not None else None
        if seconds is None:
            return False  # the backoff schedule applies
        time.sleep(seconds)  # the server's Retry-After, also 0 ("retry now"), which urllib3 itself skips
        return True


_RETRY_STATUSES = frozenset({429} | set(range(500, 600)))


class RegistryClient:
    def __init__(
        self,
        endpoint: str,
        api_key: str | None,
        batch_size: int = MAX_BATCH,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float = 30,
    ) -> None:
        if not api_key or not api_key.strip():
            raise RegistryConfigError(
                f"the Spawning registry needs an API key (set {API_KEY_ENV} or pass api_key); "
                "without one the registry is not checked, which must be explicit in the policy"
            )
        if not endpoint.startswith(("http://", "https://")):
            raise RegistryConfigError(f"registry endpoint must be an http(s) URL, got {endpoint!r}")
        if not 1 <= batch_size <= MAX_BATCH:
            raise RegistryConfigError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size!r}")
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise RegistryConfigError(
                f"retries and backoff must be >= 0 and timeout > 0, got {retries!r}, {backoff!r}, {timeout!r}"
            )
        self.endpoint = endpoint
        self.batch_size = batch_size
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._session = requests.Session()
        retry = _CappedRetry(
            total=retries, connect=retries, read=retries, status=retries, other=retries,
            backoff_factor=backoff, backoff_max=MAX_RETRY_AFTER, status_forcelist=_RETRY_STATUSES,
            allowed_methods=frozenset({"POST"}), raise_on_status=False, respect_retry_after_header=True,
        )
        adapter = requests.adapters.HTTPAdapter(max_retries=retry)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update(
            {"Authorization": f"API {api_key.strip()}", "Content-Type": "text/plain; charset=utf-8"}
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def check(self, urls: Iterable[str]) -> dict[str, dict[str, bool]]:
        """``{url: {"opt_out": bool, "opt_in": bool}}`` for every distinct URL given."""
        distinct = list(dict.fromkeys(u for u in urls))
        for url in distinct:
            if not isinstance(url, str) or not url or "\n" in url or "\r" in url:
                raise ValueError(f"registry URLs must be non-empty strings without line breaks, got {url!r}")
        result: dict[str, dict[str, bool]] = {}
        for start in range(0, len(distinct), self.batch_size):
            batch = distinct[start : start + self.batch_size]
            result.update(self._check_batch(batch))
        return result

    def _check_batch(self, batch: list[str]) -> dict[str, dict[str, bool]]:
        lines = batch + [""] if len(batch) == 1 else batch
        payload = "\n".join(lines).encode("utf-8")
        answer = self._post(payload)
        entries = answer.get("urls") if isinstance(answer, dict) else None
        if not isinstance(entries, list):
            raise RegistryError("registry answer has no 'urls' list", status=200)
        entries = [e for e in entries if isinstance(e, dict) and e.get("url") != ""]
        by_url = {e.get("url"): e for e in entries}
        positional = len(entries) == len(batch)
        result = {}
        for index, url in enumerate(batch):
            entry = by_url.get(url)
            if entry is None and positional:
                entry = entries[index]  # the API may normalise URLs; answers keep request order
            if entry is None:
                raise RegistryError(f"registry answer lacks {url!r} ({len(entries)} answers for {len(batch)} URLs)", 200)
            opt_out, opt_in = entry.get("optOut"), entry.get("optIn")
            if not isinstance(opt_out, bool) or not isinstance(opt_in, bool):
                raise RegistryError(f"registry answer for {url!r} lacks boolean optOut/optIn: {entry!r}", 200)
            result[url] = {"opt_out": opt_out, "opt_in": opt_in}
        return result

    def _post(self, payload: bytes) -> object:
        attempts = self.retries + 1
        try:
            response = self._session.post(self.endpoint, data=payload, timeout=self.timeout)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise RegistryError(f"registry failed after {attempts} attempts: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 200:
            try:
                return response.json()
            except ValueError as exc:
                raise RegistryError(f"registry answered 200 with invalid JSON: {exc}", 200) from exc
        detail = response.text[:200]
        if status in _RETRY_STATUSES:
            raise RegistryError(f"registry failed after {attempts} attempts; last status {status}: {detail}", status)
        raise RegistryError(f"registry refused the request with HTTP {status}: {detail}", status)
