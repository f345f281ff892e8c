"""Alert notifications: one JSON POST per new alert to a webhook URL from the
environment. A failure is logged and left for the next run; it never fails a run."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0


def post_alert(url: str, payload: Mapping[str, Any], timeout: float = TIMEOUT_S) -> str | None:
    """POST `payload` as JSON; None on a 2xx answer, else the reason (never raises)."""
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "userops-alerts"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the URL is the operator's
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return str(getattr(exc, "reason", exc))
