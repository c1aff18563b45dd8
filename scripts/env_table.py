"""Write the README's "Environment variables" table from ``imgsync.config.variables``.

    python scripts/env_table.py          # rewrite the table in README.md
    python scripts/env_table.py --check  # exit 1 (and show the table) when it is stale

Defaults come from the ``Settings`` fields themselves, so the table cannot drift
from the code; ``tests/test_env_table.py`` runs ``--check``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from imgsync.config.settings import Settings
from imgsync.config.variables import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- env-table: written by scripts/env_table.py from imgsync/config/variables.py -->\n"
END = "<!-- env-table end -->\n"


def field_default(name: str) -> object:
    return Settings.model_fields[name].get_default(call_default_factory=True)


def with_current_table(readme: str) -> str:
    """``readme`` with the text between the markers replaced by the generated table."""
    head, begin, rest = readme.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not (begin and end):
        raise SystemExit(f"README.md lacks the markers {BEGIN.strip()} … {END.strip()}")
    return f"{head}{BEGIN}\n{markdown_table(field_default)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    current = with_current_table(text)
    if "--check" in argv:
        if current != text:
            print(
                "README.md's environment table is stale; run scripts/env_table.py", file=sys.stderr
            )
            print(markdown_table(field_default), file=sys.stderr)
            return 1
        return 0
    README.write_text(current, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
