"""Every secret a :class:`Settings` holds, listed once so logs and output can mask them.

Kept apart from :mod:`imgsync.runtime.services` so that setting up logging (which
every command does) does not import the registry, skopeo and notifier adapters.
"""

from __future__ import annotations

from imgsync.config.settings import Settings


def account_pair(text: str) -> tuple[str, str]:
    """``user:token`` of ``DOCKERHUB_ACCOUNTS`` as ``(user, token)``, both stripped."""
    user, _, token = text.partition(":")
    return user.strip(), token.strip()


def settings_secrets(settings: Settings) -> tuple[str, ...]:
    """Every secret the settings hold, for redaction of anything printed."""
    values = [
        *(options.password for options in settings.registries.values()),
        settings.dockerhub_token,
        settings.wpush_key,
        settings.wxpusher_app_token,
        settings.broker_url,
        settings.result_backend,
        settings.github_token,
        *settings.wxpusher_spts,
        *settings.notify_urls,
        *settings.dockerhub_accounts,
        *(a.password for options in settings.registries.values() for a in options.accounts),
    ]
    tokens = [account_pair(pair.get_secret_value())[1] for pair in settings.dockerhub_accounts]
    return (*(v.get_secret_value() for v in values if v is not None), *tokens)
