"""The README's configuration table, .env.example and the CLI agree."""

from __future__ import annotations

import re

from roomscribe.cli import build_parser
from tests.conftest import ROOT


def table_variables() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE)


def env_example_variables() -> list[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return re.findall(r"^([A-Z_]+)=", text, flags=re.MULTILINE)


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
