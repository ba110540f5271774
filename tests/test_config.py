"""The one settings source: environment, flags, checks, messages, and the docs that list it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from roomscribe import cli
from roomscribe.asr.models import default_cache_dir
from roomscribe.asr.scheduler import RECORD_FIRST_OVERDUE_S
from roomscribe.settings import (
    CHECKOUT,
    Settings,
    SettingsError,
    env_name,
    flag_name,
    load_settings,
)
from roomscribe.settings.access import AccessOptions
from roomscribe.settings.asr import AsrOptions
from roomscribe.settings.embedded import EmbeddedOptions
from tests.conftest import ROOT

FIELDS = tuple(Settings.model_fields)


@pytest.fixture(autouse=True)
def no_settings_in_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for field in FIELDS:
        monkeypatch.delenv(env_name(field), raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's


def parse(*argv: str) -> Settings:
    """What ``roomscribe ARGV`` runs with."""
    defaults = load_settings()
    return defaults.with_flags(vars(cli.build_parser(defaults).parse_args(argv)))


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``roomscribe ARGV`` in this process: it must refuse with exit code 2; its stderr."""
    assert cli.main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


# -- a value that does not fit: one line naming it, exit code 2 -----------------------


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ROOMSCRIBE_MAX_STREAMS", "abc", "expected an integer"),
        ("ROOMSCRIBE_MAX_STREAMS", "0", "expected at least 1"),
        ("ROOMSCRIBE_HEALTH_PORT", "-1", "expected at least 0"),
        ("ROOMSCRIBE_PORT", "70000", "expected at most 65535"),
        ("ROOMSCRIBE_IDLE_TIMEOUT", "soon", "expected a number"),
        ("ROOMSCRIBE_CONNECT_TIMEOUT", "0", "expected more than 0"),
        ("ROOMSCRIBE_MAX_SDP_BYTES", "100", "expected at least 1024"),
        ("ROOMSCRIBE_ALLOW_OPEN", "maybe", "expected 1 or 0 (or true/false, yes/no, on/off)"),
        ("ROOMSCRIBE_DEVICE", "gpu", "expected 'auto', 'cpu' or 'cuda'"),
        ("ROOMSCRIBE_TASK", "summarize", "expected 'transcribe' or 'translate'"),
        ("ROOMSCRIBE_REVISIONS", "later", "expected 'live-first', 'record-first' or 'off'"),
        ("ROOMSCRIBE_LANGUAGE", "xx", "unknown language 'xx'; Whisper knows: af, am,"),
        ("ROOMSCRIBE_RATE_LIMIT", "lots", "expected a rate like 20/minute or 100/hour, or off"),
        (
            "ROOMSCRIBE_ALLOWED_ORIGINS",
            "https://ok.example, meet.example.org",
            "'meet.example.org' is not an origin like https://meet.example.org",
        ),
        ("ROOMSCRIBE_TRUST_PROXY_HEADER", "X User", "expected an HTTP header name"),
    ],
)
def test_a_malformed_variable_is_one_line_naming_it(
    variable: str,
    value: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    err = refusal(capsys, "serve", "--help")  # refused before any help or work
    assert err.startswith(f"roomscribe: invalid setting {variable}={value!r}: {expected}")
    assert err.endswith("\n")
    assert err.count("\n") == 1


def test_every_malformed_variable_gets_its_own_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROOMSCRIBE_MAX_STREAMS", "many")
    monkeypatch.setenv("ROOMSCRIBE_HEALTH_PORT", "-1")
    assert refusal(capsys, "agent").splitlines() == [
        "roomscribe: invalid setting ROOMSCRIBE_MAX_STREAMS='many': expected an integer",
        "roomscribe: invalid setting ROOMSCRIBE_HEALTH_PORT='-1': expected at least 0",
    ]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["agent", "--max-streams", "abc"], "--max-streams='abc': expected an integer"),
        (["agent", "--health-port", "-1"], "--health-port='-1': expected at least 0"),
        (["serve", "--idle-timeout", "0"], "--idle-timeout='0': expected more than 0"),
        (["serve", "--rate-limit", "lots"], "--rate-limit='lots': expected a rate like"),
        (["transcribe", "a.wav", "--beam-size", "0"], "--beam-size='0': expected at least 1"),
        (["dev", "--port", "http"], "--port='http': expected an integer"),
    ],
)
def test_a_malformed_flag_is_one_line_naming_it(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refusal(capsys, *argv).startswith(f"roomscribe: invalid setting {line}")


def test_livekit_url_without_its_keys_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "ws://127.0.0.1:1")
    assert refusal(capsys, "agent") == (
        "roomscribe: LIVEKIT_URL is set but LIVEKIT_API_KEY / LIVEKIT_API_SECRET are not\n"
    )


def test_the_real_command_line_prints_no_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ROOMSCRIBE_HEALTH_PORT": "-1"}
    run = subprocess.run(
        [sys.executable, "-m", "roomscribe.cli", "agent", "--help"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == (
        "roomscribe: invalid setting ROOMSCRIBE_HEALTH_PORT='-1': expected at least 0\n"
    )


def test_nothing_reads_the_environment_at_import(tmp_path: Path) -> None:
    code = (
        "import roomscribe.cli, roomscribe.settings, roomscribe.commands.serve, "
        "roomscribe.commands.dev, roomscribe.commands.agent"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ROOMSCRIBE_MAX_STREAMS": "abc"}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr


def test_every_setting_is_a_flag_with_its_own_help_and_variable() -> None:
    """The flags are the settings: one per field, its help and its variable from the field."""
    parser = cli.build_parser(load_settings())
    actions = {
        action.dest: action
        for sub in parser._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
        for action in sub._actions
    }
    for field, info in Settings.model_fields.items():
        action = actions[field]
        assert action.option_strings == [flag_name(field)], field
        assert info.description, f"{field} has no help"
        assert action.help == f"{info.description} [{env_name(field)}]", field


# -- where values come from ---------------------------------------------------------


def test_defaults_are_the_components_defaults() -> None:
    settings = parse("serve")
    assert settings.asr() == AsrOptions()
    assert settings.access() == AccessOptions()
    assert settings.embedded() == EmbeddedOptions()
    assert settings.livekit() is None
    assert (settings.host, settings.port, settings.health_port) == ("127.0.0.1", 8000, 8081)
    assert settings.web_dir == CHECKOUT / "web-client" / "dist"
    # every default passes its own checks (which start-up skips for defaults)
    defaults = Settings.model_construct()
    checked = defaults.with_flags({"port": 8001})  # a flag revalidates every value
    assert checked.model_dump(exclude={"port"}) == defaults.model_dump(exclude={"port"})


def test_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMSCRIBE_MAX_STREAMS", "3")
    monkeypatch.setenv("ROOMSCRIBE_HEALTH_PORT", "9100")
    monkeypatch.setenv("ROOMSCRIBE_MODEL", "tiny.en")
    monkeypatch.setenv("ROOMSCRIBE_LANGUAGE", "de")
    monkeypatch.setenv("ROOMSCRIBE_CACHE_DIR", "~/models")
    monkeypatch.setenv("ROOMSCRIBE_PASSCODE", "")  # empty: the default
    monkeypatch.setenv("LIVEKIT_URL", "ws://lk.internal:7880")
    monkeypatch.setenv("LIVEKIT_API_KEY", "key")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "s" * 32)
    env = parse("agent")
    assert (env.max_streams, env.health_port, env.model, env.passcode) == (3, 9100, "tiny.en", "")
    assert env.cache_dir == Path("~/models").expanduser()
    asr = env.asr()
    assert (asr.engine.max_streams, asr.engine.policy.language, asr.whisper.model) == (
        3,
        "de",
        "tiny.en",
    )
    livekit = env.livekit()
    assert livekit is not None
    assert (livekit.url, livekit.api_key, livekit.browser_url) == (
        "ws://lk.internal:7880",
        "key",
        "ws://lk.internal:7880",
    )

    flags = parse("agent", "--max-streams", "5", "--health-port", "0", "--language", "auto")
    assert (flags.max_streams, flags.health_port, flags.asr().engine.policy.language) == (
        5,
        0,
        None,
    )
    assert flags.model == "tiny.en"  # not given: the environment's
    other = parse("agent", "--livekit-url", "ws://other:7880").livekit()
    assert other is not None
    assert (other.url, other.api_key) == ("ws://other:7880", "key")
    # bench compares against English references unless told otherwise
    assert parse("bench", "a.wav").language == "en"


@pytest.mark.parametrize(
    ("value", "enabled", "late_s"),
    [
        ("live-first", True, 0.0),
        ("record-first", True, RECORD_FIRST_OVERDUE_S),
        ("off", False, 0.0),
    ],
)
def test_revisions_choose_how_the_revision_pass_shares_the_model(
    value: str, enabled: bool, late_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOMSCRIBE_REVISIONS", value)
    for settings in (parse("agent"), parse("serve", "--revisions", value)):
        engine = settings.asr().engine
        assert engine.policy.revision.enabled is enabled
        assert engine.scheduler.late_revision_overdue_s == late_s
        assert not engine.policy.revision.revise_at_close  # live streams never wait for one


def test_flags_check_nothing_twice_and_change_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field holds a non-default value; re-checking them all must keep each as it is."""
    values = {
        "LIVEKIT_URL": "ws://a:1",
        "LIVEKIT_PUBLIC_URL": "wss://b",
        "LIVEKIT_API_KEY": "k",
        "LIVEKIT_API_SECRET": "s",
        "ROOMSCRIBE_MODEL": "small",
        "ROOMSCRIBE_LANGUAGE": "fr",
        "ROOMSCRIBE_TASK": "translate",
        "ROOMSCRIBE_DEVICE": "cpu",
        "ROOMSCRIBE_COMPUTE_TYPE": "int8",
        "ROOMSCRIBE_THREADS": "2",
        "ROOMSCRIBE_BEAM_SIZE": "3",
        "ROOMSCRIBE_MAX_STREAMS": "2",
        "ROOMSCRIBE_REVISIONS": "record-first",
        "ROOMSCRIBE_CACHE_DIR": "/tmp/c",
        "ROOMSCRIBE_HOST": "0.0.0.0",
        "ROOMSCRIBE_PORT": "8443",
        "ROOMSCRIBE_WEB_DIR": "/srv/web",
        "ROOMSCRIBE_TLS_CERT": "/etc/c.pem",
        "ROOMSCRIBE_TLS_KEY": "/etc/k.pem",
        "ROOMSCRIBE_PASSCODE": "pw",
        "ROOMSCRIBE_TRUST_PROXY_HEADER": " X-Forwarded-User ",
        "ROOMSCRIBE_ALLOW_OPEN": "on",
        "ROOMSCRIBE_RATE_LIMIT": "none",
        "ROOMSCRIBE_FAILED_ATTEMPT_LIMIT": "3/hour",
        "ROOMSCRIBE_ALLOWED_ORIGINS": "https://a.example,https://b.example:8443",
        "ROOMSCRIBE_TRUSTED_PROXIES": "10.0.0.5,10.1.0.0/16",
        "ROOMSCRIBE_METRICS_FROM": "10.2.0.0/16",
        "ROOMSCRIBE_ALLOWED_HOSTS": "meet.example.org",
        "ROOMSCRIBE_HEALTH_HOST": "0.0.0.0",
        "ROOMSCRIBE_HEALTH_PORT": "0",
        "ROOMSCRIBE_E2EE_KEY": "a shared key",
        "ROOMSCRIBE_TEST_FAULT": "hang",
        "ROOMSCRIBE_STORE": "off",
        "ROOMSCRIBE_DATA_DIR": "/tmp/d",
        "ROOMSCRIBE_RETENTION": "7d",
        "ROOMSCRIBE_LIVEKIT_SERVER": "/opt/livekit-server",
        "ROOMSCRIBE_MAX_SESSIONS": "9",
        "ROOMSCRIBE_MAX_SDP_BYTES": "2048",
        "ROOMSCRIBE_IDLE_TIMEOUT": "1.5",
        "ROOMSCRIBE_CONNECT_TIMEOUT": "2",
        "ROOMSCRIBE_ICE_SERVERS": "stun:a,turn:b",
    }
    assert sorted(values) == sorted(env_name(f) for f in FIELDS)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    defaults = Settings.model_construct()
    assert [f for f in FIELDS if getattr(settings, f) == getattr(defaults, f)] == []
    assert settings.trust_proxy_header == "X-Forwarded-User"
    assert settings.access().rate_limit is None
    assert settings.embedded().ice_servers == ("stun:a", "turn:b")
    assert settings.retention == 7 * 86400
    assert settings.record() is None  # the store is off
    # a flag that changes one value revalidates them all: the others must come out the same
    again = settings.with_flags({"max_sessions": "4"})
    assert again.max_sessions == 4
    assert again.model_dump(exclude={"max_sessions"}) == settings.model_dump(
        exclude={"max_sessions"}
    )


def test_repeated_ice_server_flags_replace_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMSCRIBE_ICE_SERVERS", "stun:env.example")
    assert parse("serve").ice_servers == ("stun:env.example",)
    assert parse("serve", "--ice-server", "stun:a", "--ice-server", "turn:b").ice_servers == (
        "stun:a",
        "turn:b",
    )


# -- the docs list exactly these settings --------------------------------------------


def settings_table_rows() -> list[tuple[str, str, str]]:
    """(variable, flag, default) of each row of docs/configuration.md's table."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| `(--[a-z0-9-]+)` \| ([^|]+) \|", text, flags=re.M)
    assert len(rows) >= 20, "docs/configuration.md lost its table"
    return rows


def test_the_settings_table_has_one_row_per_setting_with_its_flag() -> None:
    rows = settings_table_rows()
    assert sorted(variable for variable, _, _ in rows) == sorted(env_name(f) for f in FIELDS)
    assert {variable: flag for variable, flag, _ in rows} == {
        env_name(f): flag_name(f) for f in FIELDS
    }


def test_env_example_and_documented_defaults_are_the_settings_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = dotenv_values(ROOT / ".env.example")
    for variable, _, default in settings_table_rows():
        value = example[variable] or ""
        if default.startswith("*(empty"):
            assert value == "", variable
        else:
            assert default == f"`{value}`", variable
    for name, value in example.items():
        monkeypatch.setenv(name, value or "")
    documented = load_settings()
    defaults = Settings.model_construct()  # the defaults alone, no environment
    relative = {"web_dir", "livekit_server"}  # documented relative to the checkout
    for field in FIELDS:
        if field in relative:
            assert CHECKOUT / getattr(documented, field) == getattr(defaults, field), field
        else:
            assert getattr(documented, field) == getattr(defaults, field), field
    assert defaults.cache_dir == default_cache_dir()


def test_settings_load_without_the_web_stack() -> None:
    """``transcribe`` and ``bench`` read the same settings as ``serve``; they must
    not pay for importing FastAPI and aiortc (nor need them to work)."""
    heavy = ("fastapi", "starlette", "aiortc", "av")
    code = (
        "import sys, roomscribe.settings, roomscribe.cli\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_retention_takes_durations_and_the_store_sqlite_redis_or_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for given, seconds in [("24h", 86400), ("90m", 5400), ("2d", 172800), ("3600", 3600)]:
        monkeypatch.setenv("ROOMSCRIBE_RETENTION", given)
        assert load_settings().retention == seconds
    for bad in ("forever", "0", "-1h"):
        monkeypatch.setenv("ROOMSCRIBE_RETENTION", bad)
        with pytest.raises(SettingsError, match="ROOMSCRIBE_RETENTION"):
            load_settings()
    monkeypatch.delenv("ROOMSCRIBE_RETENTION")
    monkeypatch.setenv("ROOMSCRIBE_STORE", "rediss://:Secret@cache:6380/2")
    record = load_settings().record()
    assert record is not None
    assert record.redis_url == "rediss://:Secret@cache:6380/2"
    monkeypatch.setenv("ROOMSCRIBE_STORE", "SQLite")
    record = load_settings().record()
    assert record is not None
    assert record.redis_url == ""
    monkeypatch.setenv("ROOMSCRIBE_STORE", "postgres://db")
    with pytest.raises(SettingsError, match="ROOMSCRIBE_STORE"):
        load_settings()
    monkeypatch.setenv("ROOMSCRIBE_STORE", "off")
    assert load_settings().record() is None
