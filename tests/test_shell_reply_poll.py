"""The book build's workaround for a missed wake-up in notebook execution (_ext/shell_reply_poll.py)."""

import asyncio
import sys
from pathlib import Path
from queue import Empty

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))
import shell_reply_poll  # noqa: E402


class FakeChannel:
    """A socket whose message becomes visible only at the n-th poll (a missed wake-up before it)."""

    def __init__(self, ready_at_poll):
        self.ready_at_poll, self.polls, self.timeouts_ms = ready_at_poll, 0, []
        self.socket = self

    async def poll(self, timeout_ms):
        self.polls += 1
        self.timeouts_ms.append(timeout_ms)
        return self.ready_at_poll is not None and self.polls >= self.ready_at_poll

    async def _recv(self):
        return {"msg_id": "reply"}


def test_polls_in_short_slices_until_the_message_is_there():
    channel = FakeChannel(ready_at_poll=3)
    assert asyncio.run(shell_reply_poll._get_msg(channel, timeout=600)) == {"msg_id": "reply"}
    assert channel.polls == 3
    assert max(channel.timeouts_ms) <= shell_reply_poll._SLICE_SECONDS * 1000


def test_still_times_out_and_waits_forever_without_timeout():
    channel = FakeChannel(ready_at_poll=None)
    with pytest.raises(Empty):
        asyncio.run(shell_reply_poll._get_msg(channel, timeout=0.05))
    endless = FakeChannel(ready_at_poll=5)
    assert asyncio.run(shell_reply_poll._get_msg(endless, timeout=None)) == {"msg_id": "reply"}


def test_apply_replaces_the_channel_method():
    from jupyter_client.channels import AsyncZMQSocketChannel

    original = AsyncZMQSocketChannel.get_msg
    try:
        shell_reply_poll.apply()
        assert AsyncZMQSocketChannel.get_msg is shell_reply_poll._get_msg
    finally:
        AsyncZMQSocketChannel.get_msg = original
