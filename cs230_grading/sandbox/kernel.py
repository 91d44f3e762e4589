"""The sandboxed kernel nbgrader grades in, and the output cap of the grading process.

``nbgrader_config.py`` puts :class:`SandboxedExecute` in place of nbgrader's ``Execute`` in
``Autograde.autograde_preprocessors``. It starts every kernel through
:class:`SandboxKernelManager` and keeps at most ``Limits.output_bytes`` of each cell's output
(the rest is dropped with a note that the report picks up): the cap lives in the grading
process, where nothing the kernel does can lift it.

The kernel runs under :func:`cs230_grading.sandbox.wrap_command`. With bubblewrap there is no
network, so the kernel talks ZMQ over ``ipc`` sockets in a private run folder; ipykernel's
parent poller is switched off (``JPY_PARENT_PID`` unset: in a PID namespace the kernel would
take its parent for init and exit), and interrupts go as messages on the control channel
(a signal to bwrap would not reach the kernel).
"""

from __future__ import annotations

import collections
import math
import os
import subprocess
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from ..budget import NotebookTimer, current_clock
from ..folders import course_root_of
from . import Limits, effective_mode, forkserver, private_paths, sandbox_uid, wrap_command
from .environment import student_environment
from .outputs import OUTPUT_CUT as OUTPUT_CUT  # re-exported: the report looks for it
from .outputs import fit_notebook, message_size, note
from .removal import remove_tree

REPO_ROOT = Path(__file__).resolve().parents[2]
#: the kit's package folder, wherever it is installed: hidden from kernels (answer key, graders)
KIT_PACKAGE = Path(__file__).resolve().parents[1]
#: Seconds this process's kernels spent, by phase: ``kernel_start`` (sandbox, kernel process,
#: client handshake), ``kernel_stop`` and ``kernel`` (the whole notebook, start to stop).
#: The shared-nothing worker reads and resets it per student (the benchmark's breakdown).
KERNEL_SECONDS: collections.Counter[str] = collections.Counter()


class QuickReadyClient(AsyncKernelClient):
    """jupyter_client's kernel client, ready 0.2 s sooner.

    Its ``wait_for_ready`` ends by waiting until IOPub stays quiet for 0.2 s: 0.2 s of
    nothing per notebook (1.4 s per student). Here the wait is the same (a kernel_info
    reply on the shell channel, then a message on IOPub, which shows IOPub is connected)
    but the final drain takes what is already there: nbclient ignores IOPub messages that
    answer another request, so a late status message of kernel_info is harmless.
    """

    async def _quick_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (math.inf if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass  # IOPub not connected yet: ask again
                else:
                    self._handle_kernel_info_reply(msg)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0.005)
            except Empty:
                break

    wait_for_ready = _quick_wait_for_ready


class SandboxKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` that starts the kernel inside the sandbox."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("client_class", f"{__name__}.QuickReadyClient")
        super().__init__(**kwargs)
        self.sandbox_mode = effective_mode()
        self._rundir: str | None = None
        self._forked = False
        if self.sandbox_mode == "bwrap":
            # under the fork server's run folder when one is in use (the zygote's sandbox
            # shows that folder, and empties it between kernels)
            served = forkserver.current_rundir()
            self._rundir = tempfile.mkdtemp(prefix="cs230-kernel-",
                                            dir=None if served is None else str(served))
            self.transport = "ipc"
            self.ip = os.path.join(self._rundir, "k")
            self.connection_file = os.path.join(self._rundir, "kernel.json")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        cwd = Path(kw.get("cwd") or os.getcwd()).resolve()
        # the allow-list, never the grader's environment (gradebook URL, tokens...)
        kw["env"] = student_environment(kw.get("env") or os.environ)
        # The kernel's own start-up banners (printed with no parent process) are not the
        # student's output, which reaches nbgrader over ZMQ: keep them off the terminal.
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        if self.sandbox_mode != "off":
            if self.kernel_spec is not None:
                self.kernel_spec.interrupt_mode = "message"
            uid = sandbox_uid("kernel")
            if self._rundir and uid is not None:
                os.chown(self._rundir, uid, uid)
                os.chown(self.connection_file, uid, uid)
            if self._fork(kernel_cmd, cwd, kw["env"]):
                return
            roots = [r for r in {course_root_of(cwd), REPO_ROOT} if r is not None]
            kernel_cmd = wrap_command(
                kernel_cmd, kind="kernel", cwd=cwd,
                writable=[Path(self._rundir)] if self._rundir else [],
                readable=[cwd], hidden=[*private_paths(roots), KIT_PACKAGE],
                mode=self.sandbox_mode)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    def _fork(self, kernel_cmd: list[str], cwd: Path, env: dict[str, str]) -> bool:
        """Start the kernel as a child of the fork server, when it serves ``cwd``."""
        module = forkserver.kernel_module(kernel_cmd)
        if self.sandbox_mode != "bwrap" or module is None or self.provisioner is None:
            return False
        server = forkserver.server_for(cwd, env)
        if server is None or self._rundir is None or \
                Path(self._rundir).parent != server.rundir:
            return False
        try:
            # a kernel that lives for one notebook keeps no input history (no SQLite file and
            # no saving thread per kernel)
            child = server.spawn(module[0], [*module[1], "--HistoryManager.enabled=False"],
                                 cwd, env, Path(self._rundir))
        except forkserver.ForkServerError:
            return False  # the next kernel gets a new zygote; this one starts as usual
        provisioner: Any = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = child, child.pid, None
        provisioner.cwd = cwd
        self._forked = True
        self._reconcile_connection_info(provisioner.connection_info)
        return True

    def client(self, **kwargs: Any) -> Any:
        kc = super().client(**kwargs)
        if self._forked:
            # A forked kernel binds its sockets within milliseconds, usually just after the
            # client's first attempt to connect: retry after 5 ms, not ZMQ's default 100 ms.
            kc.context.setsockopt(zmq.RECONNECT_IVL, 5)
        return kc

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        if self._forked and not restart:
            # The zygote has already killed and reaped the kernel: nothing sent on the control
            # channel can still be delivered, so close without jupyter_client's 100 ms linger.
            if self._control_socket is not None:
                self._control_socket.close(linger=0)
                self._control_socket = None
            if self._created_context:
                self.context.destroy(linger=0)
                self._created_context = False
        await super()._async_cleanup_resources(restart=restart)
        if self._rundir and not restart:
            remove_tree(self._rundir)


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, with the sandboxed kernel and a cap on each cell's output.

    When the kernel dies (``os._exit``, a segfault, a limit that kills), nbgrader would fail
    the whole notebook; here the cell gets a ``DeadKernelError`` output and every later code
    cell a "not run" error, so the notebook is still graded (the scoring pass,
    :class:`cs230_grading.grading.score.ScoreParts`, gives the test cells what the student's
    code deserves).
    """

    #: After a cell's reply, nbclient waits this long for the rest of its output; nbgrader then
    #: fails the whole notebook. A cell that prints hundreds of megabytes on a busy machine
    #: takes longer than nbclient's 4 s to drain: wait longer, and keep what arrived rather
    #: than fail (no score depends on the kernel's outputs: the scoring pass scores).
    iopub_timeout = Integer(30).tag(config=True)
    raise_on_iopub_timeout = Bool(False).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        # The notebook is done when its last cell has run: kill the kernel's process group
        # at once rather than ask it to shut down and wait (~0.2 s a notebook, for nothing).
        kwargs.setdefault("shutdown_kernel", "immediate")
        super().__init__(*args, **kwargs)
        limits = Limits.from_env()
        self._output_limit = limits.output_bytes
        self._notebook_limit = limits.notebook_bytes
        self._output_used: dict[int, int] = {}
        self._cell_index = 0
        self._dead = False
        self._timer: NotebookTimer | None = None

    def preprocess(self, nb: NotebookNode, resources: Any = None, retries: Any = None) -> Any:
        if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
            return nb, resources  # nothing would run (Q2's written answers): no kernel
        self._dead = False
        self._output_used = {}
        name = str((resources or {}).get("unique_key") or "notebook")
        self._timer = current_clock().notebook_timer(name, "kernel")
        start = time.perf_counter()
        try:
            nb, resources = super().preprocess(nb, resources, retries)
        finally:
            self._timer.close()
            KERNEL_SECONDS["kernel"] += time.perf_counter() - start
        for line in fit_notebook(nb, self._notebook_limit):
            self.log.warning("%s: %s removed (over the notebook's output limit)", name, line)
        return nb, resources

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        start = time.perf_counter()
        try:
            await super().async_start_new_kernel(**kwargs)
        finally:
            KERNEL_SECONDS["kernel_start"] += time.perf_counter() - start

    async def async_start_new_kernel_client(self) -> Any:
        start = time.perf_counter()
        try:
            return await super().async_start_new_kernel_client()
        finally:
            KERNEL_SECONDS["kernel_start"] += time.perf_counter() - start

    async def _async_cleanup_kernel(self) -> None:
        start = time.perf_counter()
        try:
            await super()._async_cleanup_kernel()
        finally:
            KERNEL_SECONDS["kernel_stop"] += time.perf_counter() - start

    start_new_kernel = run_sync(async_start_new_kernel)
    start_new_kernel_client = run_sync(async_start_new_kernel_client)
    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def _get_timeout(self, cell: NotebookNode | None) -> int | None:
        """nbgrader's cell timeout, cut to what is left of the notebook's time budget."""
        timeout = super()._get_timeout(cell)
        if self._timer is None or cell is None:
            return timeout
        left = max(1, math.ceil(self._timer.remaining()))
        return left if timeout is None else min(timeout, left)

    async def async_execute_cell(self, cell: NotebookNode, cell_index: int,
                                 execution_count: int | None = None,
                                 store_history: bool = True) -> NotebookNode:
        runs = cell.cell_type == "code" and bool(cell.source.strip())
        if self._dead:
            if runs:
                cell.outputs = [_error("DeadKernelError", "not run: the kernel died in an "
                                       "earlier cell")]
            return cell
        if runs and self._timer is not None and self._timer.out_of_time():
            cell.outputs = [_error("TimeBudgetExceeded", self._timer.skip())]
            return cell
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
        except DeadKernelError:
            self._dead = True
            cell.outputs.append(_error("DeadKernelError", "the kernel died while running "
                                       "this cell (os._exit, a crash, or a resource limit)"))
            return cell

    execute_cell = run_sync(async_execute_cell)

    def _charge(self, outs: list[NotebookNode], cell_index: int, msg: dict[str, Any],
                times: int = 1) -> bool:
        """Count ``msg``'s size (``times`` over) against the cell's output cap; False (and a
        note in the cell, once) when it does not fit."""
        used = self._output_used.get(cell_index, 0)
        if used > self._output_limit:
            return False  # (without counting: the cap is reached)
        size = message_size(msg) * times
        self._output_used[cell_index] = used + size
        if used + size > self._output_limit:
            outs.append(note(self._output_limit))
            self._output_used[cell_index] = self._output_limit + 1
            return False
        return True

    def process_message(self, msg: dict[str, Any], cell: NotebookNode,
                        cell_index: int) -> NotebookNode | None:
        self._cell_index = cell_index  # display updates count against the running cell
        return super().process_message(msg, cell, cell_index)

    def _update_display_id(self, display_id: str, msg: dict[str, Any]) -> None:
        """nbclient's display update (``update_display_data``, or a new display with the id
        of earlier ones), counted against the running cell's cap: it rewrites every earlier
        output with that id, so it costs its size once per output it rewrites."""
        targets = sum(len(v) for v in self._display_id_map.get(display_id, {}).values())
        if not targets:
            return
        cell = self.nb.cells[self._cell_index]
        if self._charge(cell.outputs, self._cell_index, msg, targets):
            super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs: list[NotebookNode], msg: dict[str, Any],
                        cell_index: int) -> None:
        """Widget messages, whose state nbclient keeps in the notebook: counted too."""
        if self._charge(outs, cell_index, msg):
            super().handle_comm_msg(outs, msg, cell_index)

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        if not self._charge(outs, cell_index, msg):
            return None
        return super().output(outs, msg, display_id, cell_index)


def _error(name: str, value: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=value,
                        traceback=[f"{name}: {value}"])
