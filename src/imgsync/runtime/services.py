"""Build the adapters one process needs from its settings, once.

Both modes call this: the producer in embedded mode and every Celery worker
process, so a mapping is synced by the very same objects wherever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgsync.adapters.credentials import Credential, CredentialStore, read_authfile
from imgsync.adapters.log_redaction import KNOWN_SECRETS
from imgsync.adapters.notify import Notifier, build_notifiers
from imgsync.adapters.quota_board import MemoryQuotaBoard, QuotaBoard
from imgsync.adapters.registry_api import ManifestPool
from imgsync.adapters.skopeo import SkopeoCopier
from imgsync.config.secrets import account_pair
from imgsync.config.settings import RegistryOptions, Settings
from imgsync.core.reference import DOCKER_HUB
from imgsync.runtime.quota_gate import QuotaGate


@dataclass(slots=True)
class Services:
    """The registry client pool, the quota-minding copier, and the shared quota board."""

    registry: ManifestPool
    copier: QuotaGate
    credentials: CredentialStore
    board: QuotaBoard

    def close(self) -> None:
        self.registry.close()


def load_credentials(settings: Settings) -> CredentialStore:
    """The auth file and DOCKERHUB_*, with the sync file's per-registry credentials on top."""
    token = settings.dockerhub_token.get_secret_value() if settings.dockerhub_token else None
    store = CredentialStore.load(
        dockerhub_username=settings.dockerhub_username,
        dockerhub_token=token,
        authfile=settings.authfile,
    )
    found = {host: _credential(host, o) for host, o in settings.registries.items()}
    firsts = {host: accounts[0] for host, accounts in account_lists(settings).items()}
    return store.with_overrides({**firsts, **{h: c for h, c in found.items() if c is not None}})


def account_lists(settings: Settings) -> dict[str, tuple[Credential, ...]]:
    """Several accounts per registry: ``DOCKERHUB_ACCOUNTS`` and the sync file's ``accounts:``.

    The first account is also the registry's default credential unless one is set.
    """
    found = {
        host: tuple(Credential(a.username, a.password.get_secret_value()) for a in o.accounts)
        for host, o in settings.registries.items()
        if o.accounts
    }
    hub = tuple(_pair(s.get_secret_value()) for s in settings.dockerhub_accounts)
    return {DOCKER_HUB: hub, **found} if hub else found


def _pair(text: str) -> Credential:
    return Credential(*account_pair(text))


def _credential(host: str, options: RegistryOptions) -> Credential | None:
    """A registry's own credential: named env vars, else its own auth file's entry."""
    if options.username and options.password:
        return Credential(options.username, options.password.get_secret_value())
    if options.authfile is not None:
        return CredentialStore(read_authfile(options.authfile)).lookup(host)
    return None


def insecure_hosts(settings: Settings) -> tuple[str, ...]:
    """Plain-http registries: the setting's list plus those the sync file marks insecure."""
    marked = (host for host, options in settings.registries.items() if options.insecure)
    return tuple(dict.fromkeys((*settings.insecure_registries, *marked)))


def build_services(settings: Settings, board: QuotaBoard | None = None) -> Services:
    """Registry pool sized for the check concurrency; skopeo behind the quota gate.

    ``board`` is where quotas are shared: the process's own by default (embedded
    mode), Redis for Celery workers.
    """
    credentials = load_credentials(settings)
    KNOWN_SECRETS.add(credentials.secrets())  # auth-file passwords: masked in logs too
    shared: QuotaBoard = board if board is not None else MemoryQuotaBoard()
    registry = ManifestPool(
        credentials,
        insecure=insecure_hosts(settings),
        timeout=settings.registry_timeout,
        pool_size=settings.check_concurrency,
        max_requests={h: o.concurrency for h, o in settings.registries.items() if o.concurrency},
        observer=shared.record,
    )
    skopeo = SkopeoCopier(
        credentials,
        insecure=insecure_hosts(settings),
        retry_times=settings.retry_times,
        timeout=settings.copy_timeout,
    )
    gate = QuotaGate(registry, skopeo, shared, account_lists(settings), settings.rate_limit_min)
    return Services(registry=registry, copier=gate, credentials=credentials, board=shared)


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter else None


def build_channels(settings: Settings) -> list[Notifier]:
    """Every notification channel the settings name (may be none)."""
    return build_notifiers(
        wpush_key=_secret(settings.wpush_key),
        wpush_api=settings.wpush_api,
        wpush_channel=settings.wpush_channel,
        wxpusher_app_token=_secret(settings.wxpusher_app_token),
        wxpusher_uids=settings.wxpusher_uids,
        wxpusher_topic_ids=settings.wxpusher_topic_ids,
        wxpusher_spts=[s.get_secret_value() for s in settings.wxpusher_spts],
        wxpusher_api=settings.wxpusher_api,
        apprise_urls=[u.get_secret_value() for u in settings.notify_urls],
    )
