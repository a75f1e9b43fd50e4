"""One cheap authenticated request that tells whether an account's stored session still works:
`airbnb-sync accounts check` and the REST API's `POST /api/v1/accounts/{id}/check`.

Like a sync, it runs under the account's lease and honours a Retry-After another run saw, and
keeps what Airbnb rotated meanwhile; it records `ok` or `expired` as the account's auth status.
"""

from __future__ import annotations

from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.client import AirbnbClient
from airbnb_sync.airbnb.errors import AirbnbError, AuthExpired
from airbnb_sync.airbnb.pacing import Pacer
from airbnb_sync.core.settings import Settings
from airbnb_sync.sync.lease import DatabasePacingStore, LeaseTimeout, account_lease


class CheckFailed(Exception):
    """The check could not tell (Airbnb unreachable, the lease busy); nothing was recorded."""

    def __init__(self, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


def check_session(store: AccountStore, settings: Settings, account_id: str,
                  lease_timeout: float) -> None:
    """Record 'ok' and return, or record 'expired' and raise AuthExpired; CheckFailed when it
    cannot tell. Waits up to `lease_timeout` seconds for a running sync of the account."""
    session = store.session(account_id, require_active=False)
    pacer = Pacer(settings.min_request_interval, store=DatabasePacingStore(store.engine))
    try:
        with account_lease(store.engine, account_id, timeout=lease_timeout), \
                AirbnbClient(session, settings, pacer=pacer) as client:
            try:
                client.listings_section()
            finally:
                changes = client.changed_session()
                if changes is not None:
                    store.keep_rotated(account_id, session.cookies, changes.rotated,
                                       changes.expires)
    except AuthExpired:
        store.set_auth_status(account_id, "expired")
        raise
    except LeaseTimeout as exc:
        raise CheckFailed(f"could not check account {account_id}: {exc}", busy=True) from None
    except AirbnbError as exc:
        raise CheckFailed(f"could not check account {account_id}: {exc}") from None
    store.set_auth_status(account_id, "ok")
