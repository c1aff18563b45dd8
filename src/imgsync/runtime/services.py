"""Build the adapters one process needs from its settings, once.

Both modes call this: the producer in embedded mode and every Celery worker
process, so a mapping is synced by the very same objects wherever it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from imgsync.adapters.auth_config import WatchedAuthFile
from imgsync.adapters.credential_helper import HelperCache
from imgsync.adapters.credentials import Credential, CredentialStore
from imgsync.adapters.log_redaction import KNOWN_SECRETS
from imgsync.adapters.notify import Notifier, build_notifiers
from imgsync.adapters.push_check import PushChecks
from imgsync.adapters.quota_board import MemoryQuotaBoard, QuotaBoard
from imgsync.adapters.registry_api import ManifestPool
from imgsync.adapters.skopeo import SkopeoCopier
from imgsync.config.secrets import account_pair
from imgsync.config.settings import Settings
from imgsync.config.variables import ENV_VARS
from imgsync.core.reference import DOCKER_HUB
from imgsync.runtime.quota_gate import QuotaGate


@dataclass(slots=True)
class Services:
    """The registry client pool, the quota-minding copier, and the shared quota board."""

    registry: ManifestPool
    copier: QuotaGate
    credentials: CredentialStore
    board: QuotaBoard
    #: Destinations that must be created first, found before a copy (adapters/push_check.py).
    push_checks: PushChecks | None = None

    def close(self) -> None:
        self.registry.close()


def load_credentials(settings: Settings) -> CredentialStore:
    """Settings' credentials over the auth files; helpers asked per copy, secrets masked.

    A registry's own ``authfile`` in the sync file comes after its named variables
    and instead of its first ``accounts:`` entry, as the default credential.
    """
    token = settings.dockerhub_token.get_secret_value() if settings.dockerhub_token else None
    helpers = credential_helpers()
    store = CredentialStore.load(
        dockerhub_username=settings.dockerhub_username,
        dockerhub_token=token,
        authfile=settings.authfile,
        helpers=helpers,
    )
    named = _named_credentials(settings)
    files = _registry_files(settings, helpers, named)
    firsts = {h: a[0] for h, a in account_lists(settings).items() if h not in files}
    return store.with_registry_files(files).with_overrides({**firsts, **named})


def _registry_files(
    settings: Settings, helpers: HelperCache, named: Mapping[str, Credential]
) -> dict[str, WatchedAuthFile]:
    """The sync file's per-registry auth files (read now: a broken one stops the run)."""
    return {
        host: WatchedAuthFile(options.authfile, helpers.on_secret)
        for host, options in settings.registries.items()
        if options.authfile is not None and host not in named
    }


def credential_helpers() -> HelperCache:
    """Helper answers of this process: their secrets join the log mask the moment they
    arrive; helpers see our environment without imgsync's own variables (its tokens)."""
    return HelperCache(hidden=frozenset(ENV_VARS), on_secret=KNOWN_SECRETS.add)


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


def _named_credentials(settings: Settings) -> dict[str, Credential]:
    """Registries' credentials from the variables the sync file names."""
    return {
        host: Credential(options.username, options.password.get_secret_value())
        for host, options in settings.registries.items()
        if options.username and options.password
    }


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
    return Services(
        registry=registry,
        copier=gate,
        credentials=credentials,
        board=shared,
        push_checks=PushChecks(registry),
    )


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
