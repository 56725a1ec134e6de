"""Sphinx extension: let notebook execution see a kernel's reply as soon as it arrives.

Under load, the asyncio ZMQ poll that nbclient uses to wait for a cell's ``execute_reply``
sometimes does not wake when the reply arrives: the reply is only read when the cell's
whole timeout (600 s here) has run out, and the cell then succeeds. The book's explorer
cells (many widget messages at once) showed it on two cores: a 20-second notebook took
10 minutes more. Reported upstream as jupyter/nbclient#312 (fix proposed in #311).

This wraps ``jupyter_client``'s ``AsyncZMQSocketChannel.get_msg`` so that it polls in
slices of at most half a second until its own timeout: the same messages, the same
timeout, no missed wake-up longer than half a second. Loaded through ``_config.yml``
(``sphinx.local_extensions``) by the book build only; nothing else is changed.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.channels import AsyncZMQSocketChannel

_SLICE_SECONDS = 0.5


async def _get_msg(self, timeout: float | None = None):
    """Like ``AsyncZMQSocketChannel.get_msg``, polling in slices of ``_SLICE_SECONDS``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        remaining = _SLICE_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
        if await self.socket.poll(int(min(_SLICE_SECONDS, remaining) * 1000)):
            return await self._recv()
        if deadline is not None and time.monotonic() >= deadline:
            raise Empty


def apply() -> None:
    """Install the polling ``get_msg`` (idempotent)."""
    AsyncZMQSocketChannel.get_msg = _get_msg  # type: ignore[method-assign]


def setup(app):  # noqa: D401 - Sphinx entry point
    apply()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
