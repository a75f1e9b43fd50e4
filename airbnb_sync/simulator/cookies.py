"""Realistic Cookie headers of simulated hosts, for the demo and the tests.

The values are derived from the account id, so that the same host always gets the same
cookie: a test can recompute a token and look for it where it must not be.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote


def _token(account_id: str, name: str, length: int = 32) -> str:
    digest = hashlib.blake2b(f"sim-cookie|{account_id}|{name}".encode(), digest_size=32)
    return digest.hexdigest()[:length]


def make_cookie(account_id: str) -> str:
    """A browser's whole Cookie header for the host: the nine authentication cookies plus
    tracking cookies that a client must drop."""
    attributes = {
        "curr": "USD",
        "guest_exchange": 1.0,
        "device_profiling_session_id": _token(account_id, "device", 20),
        "giftcard_profiling_session_id": _token(account_id, "giftcard", 20),
        "reservation_profiling_session_id": _token(account_id, "reservation", 20),
        "id_str": account_id,
        **({"id": int(account_id)} if account_id.isdigit() else {}),
        "is_admin": False,
    }
    session = _token(account_id, "session")
    pairs = [
        ("bev", f"1700000000_{_token(account_id, 'bev', 16)}"),
        ("_airbed_session_id", session),
        ("_aaj", f"27%7C1%7C{_token(account_id, 'aaj', 40)}"),
        ("_aat", _token(account_id, "aat", 48)),
        ("auth_jitney_session_id", _uuid(account_id, "jitney")),
        ("hli", "1"),
        ("li", "1"),
        ("_user_attributes", quote(json.dumps(attributes, separators=(",", ":")), safe="")),
        ("_pt", f"1--WyJ{_token(account_id, 'pt', 40)}"),
        ("rclu", f"%7B%22{account_id}%22%3D%3E%222%22%7D--{_token(account_id, 'rclu', 40)}"),
        ("_ga", "GA1.1.1234567890.1700000000"),
        ("cdn_exp_0d2d7e4f0ab3", "treatment"),
    ]
    return "; ".join(f"{name}={value}" for name, value in pairs)


def _uuid(account_id: str, name: str) -> str:
    hexed = _token(account_id, name)
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:32]}"
