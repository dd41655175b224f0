"""hitl/_whole.py: one strict reader of whole numbers from outside."""

from __future__ import annotations

import pytest

from hitl._whole import MOST, whole_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("42", 42), ("007", 7), (str(MOST), MOST), (12, 12)],
)
def test_ascii_digits_in_range_are_read(text: object, expected: int) -> None:
    assert whole_number(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "²", "١٢", " 1", "1 ", "1_000", "+1", "-1", "1.0", "1e3", "1" * 5000, str(MOST + 1), -1, True, None, 1.0],
)
def test_anything_else_is_none_and_never_raises(text: object) -> None:
    assert whole_number(text) is None


def test_the_range_is_the_callers() -> None:
    assert whole_number("-5", least=-10) == -5 and whole_number("-11", least=-10) is None
    assert whole_number("-", least=-10) is None and whole_number("--1", least=-10) is None
    assert whole_number("65536", least=1, most=65535) is None and whole_number("0", least=1) is None


SUPERSCRIPT_AND_HUGE = ["²", "1" * 5000]


@pytest.mark.parametrize("text", SUPERSCRIPT_AND_HUGE)
def test_the_cli_link_and_environment_readers_refuse_in_one_line(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each reader that took `str.isdigit()` or `int()` on outside text: a clear refusal, never a ValueError."""
    import argparse

    from hitl import cli
    from hitl.client import signed_links as links
    from hitl.payloads import blobs as _claim_check
    from hitl.types import HitlError, InvalidInputError

    with pytest.raises(argparse.ArgumentTypeError, match="is not a checkpoint number"):
        cli._seq(text)
    with pytest.raises(argparse.ArgumentTypeError, match="is not a port"):
        cli._port(text)
    with pytest.raises(InvalidInputError, match="takes a whole number and a unit"):
        cli.parse_duration(text + "s", "--for")
    with pytest.raises(InvalidInputError, match="--pollers takes a whole number of at least 2"):
        cli._worker_options(
            argparse.Namespace(max_cached_runs=None, nodes_at_once=None, workflow_tasks_at_once=None, pollers=text)
        )
    with pytest.raises(InvalidInputError, match=r"expiry '.{1,45}' is (not a duration|out of range)"):
        links.parse_duration(text + "d")
    monkeypatch.setenv(_claim_check.THRESHOLD_VARIABLE, text)
    with pytest.raises(HitlError, match="accepted: a whole number of bytes"):
        _claim_check.threshold_from_env()
