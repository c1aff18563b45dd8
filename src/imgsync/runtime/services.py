"""Build the adapters one process needs from its settings, once.

Both modes call this: the producer in embedded mode and every Celery worker
process, so a mapping is synced by the very same objects wherever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgsync.adapters.credentials import CredentialStore
from imgsync.adapters.notify import Notifier, build_notifiers
from imgsync.adapters.registry import RegistryPool
from imgsync.adapters.skopeo import SkopeoCopier
from imgsync.config.settings import Settings


@dataclass(slots=True)
class Services:
    """The registry client pool, the copier and the secrets to keep out of output."""

    registry: RegistryPool
    copier: SkopeoCopier
    credentials: CredentialStore

    def close(self) -> None:
        self.registry.close()


def load_credentials(settings: Settings) -> CredentialStore:
    token = settings.dockerhub_token.get_secret_value() if settings.dockerhub_token else None
    return CredentialStore.load(
        dockerhub_username=settings.dockerhub_username,
        dockerhub_token=token,
        authfile=settings.authfile,
    )


def build_services(settings: Settings) -> Services:
    """Registry pool sized for the check concurrency; skopeo with the retry/timeout settings."""
    credentials = load_credentials(settings)
    registry = RegistryPool(
        credentials,
        insecure=settings.insecure_registries,
        timeout=settings.registry_timeout,
        pool_size=settings.check_concurrency,
    )
    copier = SkopeoCopier(
        credentials,
        insecure=settings.insecure_registries,
        retry_times=settings.retry_times,
        timeout=settings.copy_timeout,
    )
    return Services(registry=registry, copier=copier, credentials=credentials)


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


def settings_secrets(settings: Settings) -> tuple[str, ...]:
    """Every secret the settings hold, for redaction of anything printed."""
    values = [
        settings.dockerhub_token,
        settings.wpush_key,
        settings.wxpusher_app_token,
        settings.broker_url,
        settings.result_backend,
        *settings.wxpusher_spts,
        *settings.notify_urls,
    ]
    return tuple(v.get_secret_value() for v in values if v is not None)
