"""The student half of the scoring pass, and the wire format both halves speak.

This file runs *inside the sandbox* as ``python -I -c <this source> RFD WFD FOLDER``: it
imports nothing from ``cs230_grading`` (which the sandbox hides, answer key included), runs
the notebook's cells in a plain namespace when told to, and calls the student's functions
on request. Only plain data crosses the pipe, in :func:`encode`'s tagged JSON (numbers,
strings, tuples, lists, sets, dicts, NumPy arrays of non-object dtype): never a pickle, never
an object of the student's, so nothing the student defines runs in the grading process.

Messages are a 4-byte big-endian length followed by UTF-8 JSON. Requests:
``reset`` (a fresh namespace), ``exec`` (run one cell), ``names`` (what the cells defined),
``call`` (call a function; names in ``overrides`` become stubs that call back into the grader
while the call runs), ``time`` (call a function ``repeat`` times and answer the least CPU time
one call took, in seconds: the clocks are this process's own, taken when this file starts,
before any of the student's code runs).
"""

from __future__ import annotations

import base64
import json
import os
import resource
import struct
import sys
import time
from typing import Any

#: CPU clocks captured before any student code runs (a student who rebinds ``time`` or
#: ``resource`` in the notebook changes their own names, not these).
_PROCESS_TIME = time.process_time
_GETRUSAGE = resource.getrusage
_CHILDREN = resource.RUSAGE_CHILDREN


def cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of its children that were waited for."""
    children = _GETRUSAGE(_CHILDREN)
    return _PROCESS_TIME() + children.ru_utime + children.ru_stime

MAX_MESSAGE = 64 << 20


class WireError(Exception):
    """A value cannot cross the pipe, or a message is malformed or too large."""


# --- wire format ---------------------------------------------------------------------------
def encode(value: Any, depth: int = 0, register: Any = None) -> Any:
    """Plain data as tagged JSON; anything else raises WireError.

    ``register`` (grader side only) turns a callable into a numbered stub that the student
    process calls back through the pipe; NumPy ufuncs travel by name.
    """
    if depth > 50:
        raise WireError("the value is nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value if abs(value) < 2**62 else {"$": "bigint", "v": str(value)}
    if kind is float:
        return {"$": "float", "v": repr(value)}
    if kind is complex:
        return {"$": "complex", "v": [repr(value.real), repr(value.imag)]}
    if kind in (tuple, list, set, frozenset):
        items = sorted(value, key=repr) if kind in (set, frozenset) else value
        return {"$": kind.__name__, "v": [encode(v, depth + 1, register) for v in items]}
    if kind is dict:
        return {"$": "dict", "v": [[encode(k, depth + 1, register), encode(v, depth + 1, register)]
                                   for k, v in value.items()]}
    if register is not None and isinstance(value, tuple) and hasattr(value, "_fields"):
        return {"$": "namedtuple", "name": kind.__name__, "fields": list(value._fields),
                "v": [encode(v, depth + 1, register) for v in value]}
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.hasobject:
            if array.ndim == 0:
                return encode(array.item(), depth + 1)
            return {"$": "ndobj", "shape": list(array.shape),
                    "v": [encode(v, depth + 1) for v in array.ravel().tolist()]}
        return {"$": "ndarray" if isinstance(value, np.ndarray) else "npscalar",
                "dtype": array.dtype.str, "shape": list(array.shape),
                "b64": base64.b64encode(array.tobytes(order="C")).decode("ascii")}
    if register is not None and np is not None and isinstance(value, np.ufunc):
        return {"$": "ufunc", "name": value.__name__}
    if register is not None and callable(value):
        return {"$": "fn", "id": register(value), "name": getattr(value, "__name__", "f")}
    raise WireError(f"a value of type {kind.__name__} cannot be checked outside the kernel")


def decode(data: Any, stub: Any = None) -> Any:
    """The inverse of :func:`encode`; builds only built-in types and NumPy arrays.

    ``stub`` (student side only) builds the stand-in of a callable sent by the grader.
    """
    if data is None or isinstance(data, (bool, int, str)):
        return data
    if isinstance(data, list):  # untagged lists are not produced; refuse them
        raise WireError("malformed value")
    if not isinstance(data, dict):
        raise WireError("malformed value")
    tag = data.get("$")
    if tag == "bigint":
        return int(data["v"])
    if tag == "float":
        return float(data["v"])
    if tag == "complex":
        return complex(float(data["v"][0]), float(data["v"][1]))
    if tag in ("tuple", "list", "set", "frozenset"):
        items = [decode(v, stub) for v in data["v"]]
        return {"tuple": tuple, "list": list, "set": set, "frozenset": frozenset}[tag](items)
    if tag == "dict":
        return {decode(k, stub): decode(v, stub) for k, v in data["v"]}
    if tag == "namedtuple" and stub is not None:
        import collections

        cls = collections.namedtuple(str(data["name"]), [str(f) for f in data["fields"]])
        return cls(*(decode(v, stub) for v in data["v"]))
    if tag == "ufunc" and stub is not None:
        import numpy as np

        func = getattr(np, str(data["name"]), None)
        if isinstance(func, np.ufunc):
            return func
    if tag == "fn" and stub is not None:
        return stub(int(data["id"]), str(data["name"]))
    if tag in ("ndarray", "npscalar", "ndobj"):
        import numpy as np

        shape = tuple(int(n) for n in data["shape"])
        if tag == "ndobj":
            array = np.empty(len(data["v"]), dtype=object)
            array[:] = [decode(v) for v in data["v"]]
            return array.reshape(shape)
        dtype = np.dtype(str(data["dtype"]))
        if dtype.hasobject:
            raise WireError("object arrays are not accepted")
        array = np.frombuffer(base64.b64decode(data["b64"]), dtype=dtype).reshape(shape).copy()
        return array if tag == "ndarray" else array[()]
    raise WireError(f"unknown value tag {tag!r}")


def send(fd: int, message: dict[str, Any]) -> None:
    payload = json.dumps(message).encode("utf-8")
    if len(payload) > MAX_MESSAGE:
        raise WireError(f"message of {len(payload) >> 20} MB is over the "
                        f"{MAX_MESSAGE >> 20} MB limit")
    data = struct.pack(">I", len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(fd: int) -> dict[str, Any]:
    (size,) = struct.unpack(">I", _read_exact(fd, 4))
    if size > MAX_MESSAGE:
        raise WireError(f"message of {size >> 20} MB is over the limit")
    message = json.loads(_read_exact(fd, size).decode("utf-8"))
    if not isinstance(message, dict):
        raise WireError("malformed message")
    return message


# --- the runner ------------------------------------------------------------------------------
def _error(exc: BaseException) -> dict[str, Any]:
    return {"status": "error", "ename": type(exc).__name__, "evalue": str(exc)[:2000]}


class Runner:
    """Runs cells and calls functions of one notebook namespace, on request."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self.ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.sources: dict[str, str] = {}

    def serve(self) -> None:
        while True:
            try:
                request = receive(self.rfd)
            except EOFError:
                return
            op = request.get("op")
            if op == "reset":  # a fresh namespace for the next notebook
                self.ns = {"__name__": "__main__", "__builtins__": __builtins__}
                reply = {"status": "ok"}
            elif op == "exec":
                reply = self.exec_cell(request["source"], request["file"])
            elif op == "names":
                reply = self.names()
            elif op in ("call", "time"):
                reply = self.call(request)
            else:
                reply = {"status": "error", "ename": "WireError", "evalue": f"bad op {op!r}"}
            send(self.wfd, reply)

    def exec_cell(self, source: str, filename: str) -> dict[str, Any]:
        import linecache

        self.sources[filename] = source
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
        try:
            exec(compile(source, filename, "exec"), self.ns)  # noqa: S102 - the point
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
            return _error(exc)
        return {"status": "ok"}

    def names(self) -> dict[str, Any]:
        import types

        found: dict[str, Any] = {}
        for name, value in list(self.ns.items()):
            if name.startswith("_") or isinstance(value, types.ModuleType):
                continue
            if isinstance(value, types.FunctionType):
                code = value.__code__
                found[name] = {"kind": "function", "file": code.co_filename,
                               "line": code.co_firstlineno,
                               "source": self.sources.get(code.co_filename, "")}
            elif callable(value):
                found[name] = {"kind": "callable"}
            else:
                try:
                    found[name] = {"kind": "value", "value": encode(value)}
                except Exception:  # noqa: BLE001 - any value of the student's
                    found[name] = {"kind": "other"}
        return {"status": "ok", "names": found}

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["name"]
        saved = {n: self.ns[n] for n in request.get("overrides", []) if n in self.ns}
        try:
            func = self.ns[name]
            args = decode(request["args"], self._stub)
            kwargs = decode(request["kwargs"], self._stub)
            for other, ident in request.get("overrides", {}).items():
                self.ns[other] = self._stub(int(ident), other)
            if request.get("op") == "time":
                best = float("inf")
                for _ in range(max(1, int(request.get("repeat", 1)))):
                    start = cpu_seconds()
                    func(*args, **kwargs)
                    best = min(best, cpu_seconds() - start)
                return {"status": "ok", "value": encode(best)}
            result = func(*args, **kwargs)
            return {"status": "ok", "value": encode(result)}
        except BaseException as exc:  # noqa: BLE001 - reported to the grader
            return _error(exc)
        finally:
            for other in request.get("overrides", []):
                if other in saved:
                    self.ns[other] = saved[other]
                else:
                    self.ns.pop(other, None)

    def _stub(self, ident: int, name: str) -> Any:
        def stub(*args: Any, **kwargs: Any) -> Any:
            send(self.wfd, {"status": "callback", "id": ident,
                            "args": encode(args, register=_stub_id),
                            "kwargs": encode(kwargs, register=_stub_id)})
            reply = receive(self.rfd)
            if reply.get("status") != "ok":
                raise RuntimeError(reply.get("evalue", "the grader's function failed"))
            return decode(reply["value"], self._stub)

        stub.__name__ = name
        stub._cs230_id = ident  # type: ignore[attr-defined]
        return stub


def _stub_id(func: Any) -> int:
    """Only the grader's own functions (stubs) may go back to it."""
    ident = getattr(func, "_cs230_id", None)
    if not isinstance(ident, int):
        raise WireError("only the grader's functions can be passed back to it")
    return ident


def main(argv: list[str]) -> None:
    rfd, wfd, folder = int(argv[0]), int(argv[1]), argv[2]
    os.chdir(folder)
    sys.path.insert(0, folder)
    sys.argv = [""]
    Runner(rfd, wfd).serve()


if __name__ == "__main__" and len(sys.argv) == 4:
    main(sys.argv[1:])
