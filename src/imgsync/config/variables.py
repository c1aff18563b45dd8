"""Every environment variable imgsync reads: its settings field and what it means.

One table for three readers: :meth:`Settings.from_variables` (name → field), the
click options that show a variable in ``--help`` (each must be listed here), and
the README's "Environment variables" table, which ``scripts/env_table.py`` writes
from :func:`markdown_table` and ``tests/test_env_table.py`` keeps current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Variable:
    """One variable. ``shown_default`` only where the field's default is ``None``
    because the real default is worked out elsewhere (another setting, a file)."""

    name: str
    field: str
    meaning: str
    shown_default: str | None = None


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "DOCKER_SYNC_MAPPINGS", "mappings", "mappings when none are given on the command line"
    ),
    Variable(
        "IMGSYNC_CONFIG", "config_file", "sync file, as `--config`; workers read its `registries:`"
    ),
    Variable(
        "DOCKERHUB_USERNAME",
        "dockerhub_username",
        "Docker Hub user; also the namespace for one-component destinations",
    ),
    Variable("DOCKERHUB_TOKEN", "dockerhub_token", "Docker Hub token (or password)"),
    Variable(
        "DOCKERHUB_ACCOUNTS",
        "dockerhub_accounts",
        "several Docker Hub accounts, `user:token` comma list; copies are spread over them "
        "(pull quota per account)",
    ),
    Variable(
        "IMGSYNC_RATE_LIMIT_MIN",
        "rate_limit_min",
        "pulls to leave per registry, `host=N` comma list; copies beyond end `deferred`",
    ),
    Variable(
        "REGISTRY_AUTH_FILE",
        "authfile",
        "auth file for any registry",
        "the first that exists of `$XDG_RUNTIME_DIR/containers/auth.json`, "
        "`~/.config/containers/auth.json`, `$DOCKER_CONFIG/config.json` (`~/.docker/config.json`)",
    ),
    Variable("IMGSYNC_DEST_PREFIX", "dest_prefix", "destination for bare sources"),
    Variable(
        "IMGSYNC_DEST_TEMPLATE",
        "dest_template",
        "how a bare source's path is laid out under the prefix: `path`, `last` or `flat:SEP`",
        "`path`",
    ),
    Variable(
        "IMGSYNC_INSECURE_REGISTRIES",
        "insecure_registries",
        "plain-http registries, `host:port` comma list",
    ),
    Variable("IMGSYNC_CONCURRENCY", "concurrency", "copies at once"),
    Variable(
        "IMGSYNC_CHECK_CONCURRENCY",
        "check_concurrency",
        "mappings whose digests are checked at once",
    ),
    Variable("IMGSYNC_RETRY_TIMES", "retry_times", "skopeo's own `--retry-times`"),
    Variable("IMGSYNC_COPY_TIMEOUT", "copy_timeout", "seconds before a copy is killed"),
    Variable(
        "IMGSYNC_REGISTRY_TIMEOUT",
        "registry_timeout",
        "seconds per registry HTTP request, connecting included",
    ),
    Variable("IMGSYNC_NOTIFY", "notify_urls", "Apprise URLs, comma list"),
    Variable("IMGSYNC_NOTIFY_ON", "notify_on", "when to notify: `always`, `change` or `failure`"),
    Variable("WPUSH_KEY", "wpush_key", "WPush API key"),
    Variable("WPUSH_CHANNEL", "wpush_channel", "WPush channel"),
    Variable("IMGSYNC_WPUSH_API", "wpush_api", "WPush API base URL"),
    Variable("WXPUSHER_APP_TOKEN", "wxpusher_app_token", "WxPusher app token"),
    Variable("WXPUSHER_UIDS", "wxpusher_uids", "WxPusher user ids, comma list"),
    Variable("WXPUSHER_TOPIC_IDS", "wxpusher_topic_ids", "WxPusher topic ids, comma list"),
    Variable("WXPUSHER_SPT", "wxpusher_spts", "WxPusher simple-push tokens, comma list"),
    Variable("IMGSYNC_WXPUSHER_API", "wxpusher_api", "WxPusher API base URL"),
    Variable(
        "IMGSYNC_BROKER_URL",
        "broker_url",
        "Celery broker; when set, `sync` runs distributed",
        "— (embedded)",
    ),
    Variable(
        "IMGSYNC_RESULT_BACKEND",
        "result_backend",
        "Redis result backend and run state",
        "the broker URL",
    ),
    Variable("IMGSYNC_QUEUE", "queue", "Celery queue"),
    Variable(
        "IMGSYNC_TASK_SOFT_TIME_LIMIT",
        "task_soft_time_limit",
        "per-task soft limit, seconds; must be below the hard one (exit 2 otherwise)",
        "hard − min(60, hard ÷ 10)",
    ),
    Variable(
        "IMGSYNC_TASK_TIME_LIMIT",
        "task_time_limit",
        "per-task hard limit, seconds. The producer's limits travel in each task's message; "
        "workers enforce them and size their locks by them",
    ),
    Variable(
        "IMGSYNC_VISIBILITY_TIMEOUT",
        "visibility_timeout",
        "Redis broker redelivery timeout; must exceed the hard limit",
    ),
    Variable(
        "IMGSYNC_RESULT_EXPIRES",
        "result_expires",
        "how long run state and results are kept, seconds",
    ),
    Variable(
        "IMGSYNC_MAX_RETRIES",
        "max_retries",
        "mapping-level retries of `network` / `rate_limited` / `timeout` failures, with "
        "exponential backoff and jitter (both modes)",
    ),
    Variable(
        "IMGSYNC_LOCK_RETRY_DELAY",
        "lock_retry_delay",
        "seconds between tries of a locked destination",
    ),
    Variable(
        "IMGSYNC_LOST_CHECK_AFTER",
        "lost_check_after",
        "producer with a Redis broker: seconds without progress before it looks for task "
        "messages the broker lost; such mappings are reported `failed` (`lost`) so the run "
        "still ends with one report",
    ),
    Variable(
        "IMGSYNC_METRICS_PORT",
        "metrics_port",
        "workers: serve Prometheus metrics on this port (`worker --metrics-port`)",
        "— (off)",
    ),
    Variable(
        "PROMETHEUS_MULTIPROC_DIR",
        "metrics_dir",
        "workers with metrics: where pool processes write samples",
        "a temporary directory per worker",
    ),
    Variable(
        "GITHUB_STEP_SUMMARY",
        "github_step_summary",
        "set by GitHub Actions: the Markdown summary is appended to it",
    ),
    Variable(
        "IMGSYNC_REQUEST_ALLOWLIST",
        "request_allowlist",
        "`request`: the allowlist file (YAML) of sources a GitHub issue may ask for",
    ),
    Variable(
        "GITHUB_EVENT_PATH",
        "github_event_path",
        "set by GitHub Actions: the event file `request` reads the issue from",
    ),
    Variable(
        "GITHUB_TOKEN",
        "github_token",
        "`request`: token that comments on, labels and closes issues (`issues: write`)",
    ),
    Variable("GITHUB_API_URL", "github_api_url", "set by GitHub Actions: the REST API's URL"),
    Variable(
        "GITHUB_REPOSITORY",
        "github_repository",
        "set by GitHub Actions: `owner/name` of the repository whose issue is answered",
    ),
)

#: Environment variable → settings field.
ENV_VARS: dict[str, str] = {variable.name: variable.field for variable in VARIABLES}


def markdown_table(default_of: Callable[[str], object]) -> str:
    """The README's table; ``default_of(field)`` is the settings field's own default."""
    rows = ["| variable | meaning | default |", "| --- | --- | --- |"]
    for variable in VARIABLES:
        shown = variable.shown_default or _shown(default_of(variable.field))
        rows.append(f"| `{variable.name}` | {variable.meaning} | {shown} |")
    return "\n".join(rows) + "\n"


def _shown(default: object) -> str:
    if default is None or default in ((), {}):
        return "—"
    if isinstance(default, float):
        return f"{default:g}"
    return f"`{default}`" if isinstance(default, str) else str(default)
