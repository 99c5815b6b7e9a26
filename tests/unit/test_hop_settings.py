"""The hop's settings (options, their environment fallbacks, errors that name the fix) and the record formats it
shares with the harness (an operation row the harness's reader parses, an answer's optional body size)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.io.ledger import operation_from_json, operation_to_json
from harness.model import Operation
from hop.main import main
from hop.settings import HopSettings, HopSettingsError
from target_app.contract import AnswerRecord, record_from_json
from target_app.operations import jobs_call, operation_json

ARGV = ["--app-listen", "6001", "--app-port", "6000", "--dapr-listen", "3501", "--dapr-port", "3500"]
ENV = {"ONCEONLY_REPLICA": "1", "ONCEONLY_RUN_ID": "r1", "ONCEONLY_REDIS_PORT": "6379", "ONCEONLY_JOURNAL": "/j"}


def test_options_with_the_environment_as_fallback() -> None:
    settings = HopSettings.parse(ARGV, {**ENV, "ONCEONLY_REDIS_PASSWORD": "pw", "ONCEONLY_HOP_HOST": "10.0.0.5"})
    assert settings == HopSettings(6001, 6000, 3501, 3500, 1, "r1", 6379, Path("/j"), "10.0.0.5", "127.0.0.1", "pw")
    assert (settings.app_url, settings.dapr_url) == ("http://10.0.0.5:6000", "http://10.0.0.5:3500")
    assert HopSettings.parse([*ARGV, "--replica", "4"], ENV).replica == 4  # the option wins over the variable


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (ARGV[:6], ENV, "--dapr-port is missing: give it, or set ONCEONLY_HOP_DAPR_PORT"),
        (ARGV, {k: v for k, v in ENV.items() if k != "ONCEONLY_RUN_ID"}, "--run-id is missing"),
        ([*ARGV[:-1], "http"], ENV, "--dapr-port is 'http', not a number from 1 to 65535"),
        ([*ARGV[:-1], "6000"], ENV, "the hop's four ports must differ"),
        (ARGV, {**ENV, "ONCEONLY_REPLICA": "-1"}, "--replica is -1"),
    ],
)
def test_a_bad_setting_is_named_with_its_fix(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(HopSettingsError, match=message):
        HopSettings.parse(argv, env)


def test_main_exits_3_on_a_bad_setting_before_listening(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--app-listen", "nope"]) == 3
    assert "hop: --app-port is missing" in capsys.readouterr().err


def test_an_operation_row_is_the_harness_operation_byte_for_byte() -> None:
    op = Operation("id1", "schedule", "cleanup", "invoke", 17, {"method": "POST", "body": {"schedule": "@every 5s"}})
    row = operation_json(op.op_id, "schedule", op.name, "invoke", op.at_ns, op.detail)
    assert row == operation_to_json(op)
    assert operation_from_json(row) == op


def test_an_answers_body_size_is_written_only_when_set() -> None:
    plain = AnswerRecord("d", 0, 1, 200, 5)
    sized = AnswerRecord("d", 0, 1, 200, 5, answer_bytes=12)
    assert "answer_bytes" not in plain.to_json()
    assert record_from_json(sized.to_json()) == sized
    assert record_from_json(plain.to_json()) == plain


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "/v1.0-alpha1/jobs/cleanup", ("schedule", "cleanup")),
        ("get", "/v1.0/jobs/a/b", ("get", "a/b")),
        ("DELETE", "/v1.0/jobs/x", ("delete", "x")),
        ("PUT", "/v1.0/jobs/x", None),
        ("POST", "/v1.0/jobs/", None),
        ("POST", "/v1.0/state/jobs/x", None),
    ],
)
def test_which_calls_are_jobs_api_calls(method: str, path: str, call: tuple[str, str] | None) -> None:
    assert jobs_call(method, path) == call
