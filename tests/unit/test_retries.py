"""read_with_retries: a transient RPC error on a read is tried again; anything else is not."""

from __future__ import annotations

import pytest
import temporalio.service
from temporalio.service import RPCStatusCode

from hitl._temporal_errors import read_with_retries


def _failing(statuses: list[RPCStatusCode], result: str = "ok"):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    async def read() -> str:
        calls.append(1)
        if len(calls) <= len(statuses):
            raise temporalio.service.RPCError("operation was canceled", statuses[len(calls) - 1], b"")
        return result

    return read, calls


async def test_a_cancelled_read_is_tried_again() -> None:
    read, calls = _failing([RPCStatusCode.CANCELLED, RPCStatusCode.UNAVAILABLE])
    assert await read_with_retries(read, pause=0) == "ok"
    assert len(calls) == 3


async def test_a_lasting_transient_error_is_raised_after_the_last_attempt() -> None:
    read, calls = _failing([RPCStatusCode.CANCELLED] * 10)
    with pytest.raises(temporalio.service.RPCError, match="canceled"):
        await read_with_retries(read, attempts=3, pause=0)
    assert len(calls) == 3


@pytest.mark.parametrize(
    "status", [RPCStatusCode.NOT_FOUND, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.INVALID_ARGUMENT]
)
async def test_other_errors_are_raised_at_once(status: RPCStatusCode) -> None:
    read, calls = _failing([status])
    with pytest.raises(temporalio.service.RPCError):
        await read_with_retries(read, pause=0)
    assert len(calls) == 1
