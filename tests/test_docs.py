"""docs/configuration.md, the README's short table, .env.example and the CLI agree."""

from __future__ import annotations

import re

from roomscribe.cli import build_parser
from tests.conftest import ROOT


def table_variables() -> list[str]:
    """The full table, one variable per row."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([A-Z0-9_]+)` \|", text, flags=re.MULTILINE)


def readme_variables() -> list[str]:
    """The README's short table (a row may name several variables)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \|", section, flags=re.MULTILINE)
    return [v for row in rows for v in re.findall(r"`([A-Z0-9_]+)`", row)]


def env_example_variables() -> list[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return re.findall(r"^([A-Z0-9_]+)=", text, flags=re.MULTILINE)


def test_env_example_matches_the_readme_table_one_to_one() -> None:
    table = table_variables()
    assert len(table) >= 20
    assert env_example_variables() == table


def test_every_documented_variable_is_read_by_some_command() -> None:
    helps = []
    parser = build_parser()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for sub in action.choices.values():  # type: ignore[union-attr]
            helps.append(sub.format_help())
    text = " ".join(helps)
    missing = [v for v in table_variables() if v not in text]
    assert missing == []


def test_the_readme_names_only_real_settings() -> None:
    short = readme_variables()
    assert len(short) >= 8
    assert set(short) <= set(table_variables())


def test_the_readme_stays_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"README.md has {lines} lines; detail goes to docs/"
