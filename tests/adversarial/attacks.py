"""Adversarial submissions, built by code, each with the outcome it must get.

Every attack is one student who submits one notebook (Q3 or Q6; the other notebooks are
missing and score 0). ``final`` is the score each test cell must end with in the gradebook:
what the student's honest code deserves (full points unless listed; a cheat built on wrong
answers lists every cell at 0). ``flags`` are phrases that must appear in the student's
report lines; ``probes`` are labels that must print ``BLOCKED`` in the kernel (bwrap only).
Every attack is bounded by itself: a memory bomb stops at 5 GiB, a fork bomb at 300
processes, an output bomb at 300 MB, so a missing limit fails a test, not the CI machine.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from nbformat import NotebookNode

from cs230_grading.notebooks import fill_answers, grade_cells, nbgrader_meta, write_notebook
from cs230_grading.variants import model

Q3 = "q3_conv_architectures"
Q5 = "q5_gan_backprop"
Q6 = "q6_numpy_attention"
Q3_TESTS = ("q3_i_test", "q3_ii_test", "q3_iii_test", "q3_iv_test", "q3_v_test",
            "q3_vi_test", "q3_vii_test")
Q6_TESTS = ("q6_num_params_test", "q6_normalize_test", "q6_loops_test", "q6_vectorized_test")
ZERO_Q3 = {t: 0.0 for t in Q3_TESTS}

WRONG_Q3 = {
    "q3_conv_output_shape": "def conv_output_shape(input_shape, filter_size, stride, padding, "
                            "num_filters):\n    return (1, 1, 1)\n",
    "q3_conv_num_params": "def conv_num_params(in_channels, filter_size, num_filters):\n"
                          "    return 1\n",
    "q3_maxpool_output_shape": "def maxpool_output_shape(input_shape, pool_size=2, stride=2):\n"
                               "    return (1, 1, 1)\n",
    "q3_network_output": "def network_output(input_shape, filter_size, stride, padding, "
                         "num_filters, num_modules=3):\n    return ((1, 1, 1), 1)\n",
    "q3_fc_num_params": "def fc_num_params(input_shape, num_classes):\n    return 1\n",
    **{f"q3_{p}_answer": f"part_{p} = ((1, 1, 1), 1)" for p in ("i", "ii", "iii", "iv", "v",
                                                                   "vi")},
    "q3_vii_answer": 'part_vii = ("iv", 1)',
}
#: The visible self-check after the hidden region would still fail the wrong answers in the
#: kernel; a cheat that fakes the graders silences it too.
SILENCE_SELFCHECK = "collect = lambda *a, **k: (True, '')\n"
FAKE_CHECKS = ("types.SimpleNamespace(**{f'check_part_{p}': (lambda ns: None) for p in "
               "('i', 'ii', 'iii', 'iv', 'v', 'vi', 'vii')})")

PROBE = '''
import os, socket
root = os.path.abspath(os.path.join(os.getcwd(), "..", "..", ".."))
def probe(label, action):
    try:
        action()
        print("LEAKED", label)
    except Exception as exc:
        print("BLOCKED", label, type(exc).__name__)
def must(value):
    assert value, "nothing there"
'''


#: Copies the answer key's source into the Linux user keyring wherever the key can be imported
#: (a kernel that held it, in the old design), and loads it back from the keyring wherever it
#: cannot (the process that scores): the answers then delegate to the key.
SMUGGLE = '''
import ctypes, importlib, inspect, platform
_libc = ctypes.CDLL(None, use_errno=True)
_ADD_KEY, _KEYCTL = {"aarch64": (217, 219)}.get(platform.machine(), (248, 250))
_KEY = {}
for _name in ("cs230_grading.reference.conv", "cs230_grading.reference.gan",
              "cs230_grading.reference.attention"):
    try:
        _text = inspect.getsource(importlib.import_module(_name)).encode()
        _libc.syscall(_ADD_KEY, b"user", _name.encode(), _text, len(_text), -4)
    except Exception as exc:
        print("no key to copy:", type(exc).__name__)
    _id = _libc.syscall(_KEYCTL, 10, -4, b"user", _name.encode(), 0)  # KEYCTL_SEARCH
    if _id > 0:
        _buf = ctypes.create_string_buffer(1 << 20)
        _n = _libc.syscall(_KEYCTL, 11, _id, _buf, len(_buf))  # KEYCTL_READ
        if _n > 0:
            _src = _buf.raw[:_n].decode().replace("from ..", "from cs230_grading.")
            exec(compile(_src, _name, "exec"), _KEY)
'''
#: Tries every way to read the answer key, the graders and the hidden tests, and prints what
#: it finds (so it would land in the autograded notebook and the feedback).
READ_KEY = '''
import glob, importlib, importlib.util, inspect, os, sys
for _name in ("cs230_grading.reference.conv", "cs230_grading.graders.q3", "cs230_grading"):
    try:
        print(inspect.getsource(importlib.import_module(_name)))
    except Exception as exc:
        print("import", _name, "failed:", type(exc).__name__)
_places = set(sys.path) | {os.getcwd(),
                           os.path.abspath(os.path.join(os.getcwd(), "..", "..", ".."))}
for _finder in sys.meta_path:  # an editable install maps the package to its folder
    for _path in getattr(_finder, "MAPPING", {}).values():
        _places.add(os.path.dirname(_path))
for _place in sorted(p for p in _places if p):
    for _pattern in ("cs230_grading/reference/*.py", "cs230_grading/graders/*.py",
                     "source/midterm/*.ipynb", "**/reference/conv.py"):
        for _file in glob.glob(os.path.join(_place, _pattern), recursive=True)[:20]:
            try:
                print(open(_file).read())
            except Exception as exc:
                print("read", _file, "failed:", type(exc).__name__)
'''
#: Student functions of each notebook, named as in the answer key.
KEY_FUNCTIONS = {
    Q3: ("conv_output_shape", "conv_num_params", "maxpool_output_shape", "network_output",
         "fc_num_params"),
    Q5: ("output_layer_grads", "backprop_layer", "discriminator_grads",
         "grad_wrt_generator_output", "generator_grads", "discriminator_step", "generator_step",
         "wgan_output_grads"),
    Q6: ("num_params", "normalize_channels", "attention_loops", "attention_vectorized"),
}


def smuggled(notebook: str) -> Callable[[Path, Path], NotebookNode]:
    """Every function of ``notebook`` delegates to the answer key smuggled through the
    keyring (:data:`SMUGGLE`, run first)."""
    prefix = notebook.split("_")[0]
    replace = {f"{prefix}_{name}": (SMUGGLE if i == 0 else "")
               + f"def {name}(*args, **kwargs):\n    return _KEY[{name!r}](*args, **kwargs)\n"
               for i, name in enumerate(KEY_FUNCTIONS[notebook])}
    return answers(notebook, replace)


@dataclasses.dataclass
class Attack:
    student: str
    notebook: str
    description: str
    build: Callable[[Path, Path], NotebookNode | bytes | str | None]
    #: test grade id -> final score (others: full points)
    final: dict[str, float] = dataclasses.field(default_factory=dict)
    flags: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    #: file name the notebook is submitted under (default: the notebook's own name)
    filename: str = ""
    #: the whole notebook scores 0 (rejected at intake)
    rejected: bool = False
    #: scores exactly what the released notebook, unanswered, scores (graded in the same run)
    blank: bool = False


def answers(notebook: str, replace: dict[str, str]) -> Callable[[Path, Path], NotebookNode]:
    """Model answers with some answer cells replaced."""
    def build(source: Path, release: Path) -> NotebookNode:
        return fill_answers(model(notebook).build(source, release), replace)
    return build


def mutate(notebook: str, change: Callable[[NotebookNode], None]
           ) -> Callable[[Path, Path], NotebookNode]:
    """Model answers, then ``change`` applied to the notebook."""
    def build(source: Path, release: Path) -> NotebookNode:
        nb = model(notebook).build(source, release)
        change(nb)
        return nb
    return build


def _index(nb: NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)


def _delete(grade_id: str) -> Callable[[NotebookNode], None]:
    return lambda nb: nb.cells.pop(_index(nb, grade_id))


def _move_to_top(grade_id: str) -> Callable[[NotebookNode], None]:
    return lambda nb: nb.cells.insert(0, nb.cells.pop(_index(nb, grade_id)))


def _duplicate(grade_id: str) -> Callable[[NotebookNode], None]:
    def change(nb: NotebookNode) -> None:
        i = _index(nb, grade_id)
        twin = copy.deepcopy(nb.cells[i])
        twin["id"] = "duplicate"  # Jupyter gives a pasted cell a new id
        nb.cells.insert(i + 1, twin)
    return change


def _edit(grade_id: str, source: str) -> Callable[[NotebookNode], None]:
    def change(nb: NotebookNode) -> None:
        grade_cells(nb)[grade_id].source = source
    return change


def _strip(grade_ids: tuple[str, ...] | None) -> Callable[[NotebookNode], None]:
    def change(nb: NotebookNode) -> None:
        for cell in nb.cells:
            if grade_ids is None or nbgrader_meta(cell).get("grade_id") in grade_ids:
                cell.metadata.pop("nbgrader", None)
    return change


def _kernelspec(nb: NotebookNode) -> None:
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}


def _append_cell(source: str) -> Callable[[NotebookNode], None]:
    def change(nb: NotebookNode) -> None:
        from nbformat.v4 import new_code_cell

        nb.cells.append(new_code_cell(source))
    return change


def _first_answer(code: str) -> dict[str, str]:
    """The wrong Q3 answers, with ``code`` run first in the first answer cell."""
    wrong = dict(WRONG_Q3)
    wrong["q3_conv_output_shape"] = code + "\n" + wrong["q3_conv_output_shape"]
    return wrong


def _prefixed(grade_id: str, code: str) -> Callable[[Path, Path], NotebookNode]:
    """Model answers, with ``code`` run first in one answer cell."""
    def build(source: Path, release: Path) -> NotebookNode:
        from cs230_grading.notebooks import read_notebook, solution_sources

        model_answer = solution_sources(read_notebook(source / f"{Q3}.ipynb"))[grade_id]
        return fill_answers(model(Q3).build(source, release),
                            {grade_id: code + "\n" + model_answer})
    return build


def _foreign(source: Path, release: Path) -> NotebookNode:
    nb = model(Q3).build(source, release)
    _strip(None)(nb)
    nb.metadata["title"] = "ps1: another assignment"
    return nb


def _seventh(code: str) -> Callable[[Path, Path], NotebookNode]:
    """Model answers, but part vii's answer cell runs ``code`` instead."""
    return answers(Q3, {"q3_vii_answer": code})


VII_LOST = {"q3_vii_test": 0.0}


def attacks(control: str = "adv-control-q3") -> list[Attack]:
    """Every adversarial submission (``control`` is an honest student they target)."""
    write = PROBE + f'''
for target in ("autograded", "submitted", "staged"):
    path = os.path.join(root, target, "{control}", "midterm", "pwned.txt")
    probe("write-" + target, lambda: open(path, "w").write("x"))
probe("write-gradebook", lambda: open(os.path.join(root, "gradebook.db"), "ab").write(b"x"))
probe("write-source", lambda: open(os.path.join(root, "source", "pwned.txt"), "w").write("x"))
'''
    read = PROBE + f'''
probe("read-source", lambda: must(open(os.path.join(root, "source", "midterm",
      "q3_conv_architectures.ipynb")).read()))
probe("read-gradebook", lambda: must(open(os.path.join(root, "gradebook.db"), "rb").read(64)))
probe("read-other", lambda: must(open(os.path.join(root, "submitted", "{control}", "midterm",
      "q3_conv_architectures.ipynb")).read()))
probe("list-autograded", lambda: must(len(os.listdir(os.path.join(root, "autograded"))) > 1))
probe("network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
'''
    return [
        Attack("adv-infinite-loop", Q3, "an infinite loop in an answer cell",
               _seventh("while True:\n    pass"), VII_LOST, ("time limit",)),
        Attack("adv-long-sleep", Q3, "a one-hour sleep in an answer cell",
               _seventh("import time\ntime.sleep(3600)"), VII_LOST, ("time limit",)),
        # np.empty reserves address space without touching it (touching pages costs ~1 s per
        # 100 MB on these VMs): what the limit caps, at no cost to the CI machine
        Attack("adv-memory-bomb", Q3, "allocates up to 5 GiB, 256 MB at a time",
               _seventh("import numpy as np\nblocks = []\nfor _ in range(20):\n"
                        "    blocks.append(np.empty(32 << 20))"), VII_LOST,
               ("memory limit",)),
        Attack("adv-os-exit", Q3, "os._exit(1) in an answer cell",
               _seventh("import os\nos._exit(1)"), VII_LOST, ("killed the kernel",)),
        Attack("adv-sys-exit", Q3, "sys.exit(3) in an answer cell",
               _seventh("import sys\nsys.exit(3)"), VII_LOST),
        Attack("adv-ctypes-crash", Q3, "a segfault through ctypes",
               _seventh("import ctypes\nctypes.string_at(0)"), VII_LOST,
               ("killed the kernel",)),
        Attack("adv-fork-bomb", Q3, "forks up to 300 sleeping children",
               _seventh("import os, time\nfor _ in range(300):\n    if os.fork() == 0:\n"
                        "        time.sleep(30)\n        os._exit(0)"), VII_LOST,
               ("process limit",)),
        Attack("adv-output-bomb", Q3, "prints 300 MB, then answers",
               _prefixed("q3_vii_answer", "for _ in range(300):\n    print('x' * (1 << 20))"),
               {}, ("output limit",)),
        Attack("adv-stderr-noise", Q3, "answers that print to stderr",
               answers(Q3, {"q3_conv_num_params": "import sys\n"
                            "def conv_num_params(in_channels, filter_size, num_filters):\n"
                            "    print('noise', file=sys.stderr)\n"
                            "    return (filter_size * filter_size * in_channels + 1)"
                            " * num_filters\n"})),
        Attack("adv-deleted-test", Q3, "deletes the test cell of part i",
               mutate(Q3, _delete("q3_i_test")), {}, ("put back from the release",)),
        Attack("adv-edited-test", Q3, "replaces a test cell's code with `pass`",
               mutate(Q3, _edit("q3_ii_test", "pass"))),
        Attack("adv-moved-test", Q3, "moves the test of part iv above every definition",
               mutate(Q3, _move_to_top("q3_iv_test"))),
        Attack("adv-duplicated-test", Q3, "duplicates the test cell of part v",
               mutate(Q3, _duplicate("q3_v_test")), {}, ("duplicated cell q3_v_test",)),
        Attack("adv-stripped-answer", Q3, "strips the nbgrader metadata of one answer cell",
               mutate(Q3, _strip(("q3_vi_answer",)))),
        Attack("adv-stripped-all", Q3, "strips the nbgrader metadata of every cell",
               mutate(Q3, _strip(None)), ZERO_Q3, ("holds none",), rejected=True),
        Attack("adv-renamed", Q3, "submits the notebook under another name",
               answers(Q3, {}), ZERO_Q3, ("not a notebook of this exam",),
               filename="q3_conv_architectures (1).ipynb", rejected=True),
        Attack("adv-missing", Q3, "submits nothing", lambda s, r: None, ZERO_Q3,
               ("missing notebook",), rejected=True),
        Attack("adv-empty", Q3, "an empty file", lambda s, r: "", ZERO_Q3, ("empty",),
               rejected=True),
        Attack("adv-corrupt", Q3, "not JSON", lambda s, r: b"{ \"cells\": [", ZERO_Q3,
               ("not notebook JSON",), rejected=True),
        Attack("adv-other-assignment", Q3, "a notebook of another assignment", _foreign,
               ZERO_Q3, ("holds none",), rejected=True),
        Attack("adv-kernelspec", Q3, "asks for an R kernel", mutate(Q3, _kernelspec)),
        Attack("adv-always-equal", Q3, "returns objects equal to anything",
               answers(Q3, {**WRONG_Q3, "q3_conv_output_shape":
                            "class AnyShape:\n    def __eq__(self, other):\n        return True\n"
                            "    def __hash__(self):\n        return 0\n"
                            "def conv_output_shape(*args):\n    return AnyShape()\n"}), ZERO_Q3),
        Attack("adv-patch-builtins", Q3, "replaces builtins.__import__ to fake the graders",
               answers(Q3, _first_answer(
                   SILENCE_SELFCHECK + "import builtins, types\n_real = builtins.__import__\n"
                   f"_fake = {FAKE_CHECKS}\n"
                   "def _imp(name, *args, **kw):\n"
                   "    if name.startswith('cs230_grading.graders'):\n"
                   "        return types.SimpleNamespace(q3=_fake)\n"
                   "    return _real(name, *args, **kw)\n"
                   "builtins.__import__ = _imp")), ZERO_Q3,
               ("touches builtins",)),
        Attack("adv-assertion-error", Q3, "rebinds AssertionError (and answers wrong)",
               answers(Q3, _first_answer("import builtins\nbuiltins.AssertionError = "
                                         "type('AssertionError', (Exception,), {})")), ZERO_Q3,
               ("static scan",)),
        Attack("adv-input-transformer", Q3, "an input transformer that blanks later cells",
               answers(Q3, _first_answer(
                   "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"
               )), ZERO_Q3, ("hooks into IPython",)),
        Attack("adv-sys-modules", Q3, "replaces cs230_grading's graders in sys.modules",
               answers(Q3, _first_answer(
                   SILENCE_SELFCHECK + "import sys, types\n"
                   f"sys.modules['cs230_grading.graders.q3'] = {FAKE_CHECKS}\n"
                   "sys.modules['cs230_grading.graders'] = types.SimpleNamespace("
                   "q3=sys.modules['cs230_grading.graders.q3'])")), ZERO_Q3,
               ("sys.modules",)),
        Attack("adv-answer-key", Q3, "imports the answer key and returns its values",
               answers(Q3, {"q3_conv_output_shape":
                            "from cs230_grading.reference.conv import conv_output_shape\n"}),
               {"q3_i_test": 0.0, "q3_ii_test": 0.0, "q3_iii_test": 0.0, "q3_iv_test": 0.0,
                "q3_v_test": 0.0, "q3_vi_test": 0.0, "q3_vii_test": 0.0},
               ("imports the grading package",)),
        Attack("adv-read-private", Q3, "reads source/, the gradebook, another student",
               mutate(Q3, _append_cell(read)), {},
               probes=("read-source", "read-gradebook", "read-other", "list-autograded",
                       "network")),
        Attack("adv-write-private", Q3, "writes into other students' folders and the gradebook",
               mutate(Q3, _append_cell(write)), {},
               probes=("write-autograded", "write-submitted", "write-staged",
                       "write-gradebook", "write-source")),
        Attack("adv-patch-numpy", Q6, "zeros, with np.allclose and np.testing patched",
               answers(Q6, {
                   "q6_normalize_channels":
                       "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: "
                       "np.ones(np.broadcast(a, b).shape, bool)\n"
                       "np.testing.assert_allclose = lambda *a, **k: None\n"
                       "def normalize_channels(image):\n    return np.zeros_like(image)\n",
                   "q6_attention_loops":
                       "def attention_loops(image, k, v):\n"
                       "    return np.zeros((image.shape[0] - 2, image.shape[1] - 2, "
                       "k.shape[3]))\n",
                   "q6_attention_vectorized":
                       "def attention_vectorized(image, k, v):\n"
                       "    return np.zeros((image.shape[0] - 2, image.shape[1] - 2, "
                       "k.shape[3]))\n"}),
               {"q6_normalize_test": 0.0, "q6_loops_test": 0.0, "q6_vectorized_test": 0.0},
               ("assigns to a NumPy attribute",)),
        # issue 30: the key never enters a student's process, so there is nothing to smuggle
        *(Attack(f"adv-keyring-{nb.split('_')[0]}", nb, "smuggles the answer key through "
                 "the Linux user keyring and delegates to it", smuggled(nb), blank=True)
          for nb in (Q3, Q5, Q6)),
        Attack("adv-read-key", Q3, "prints the answer key, the graders and the hidden tests",
               mutate(Q3, _append_cell(READ_KEY)), {}),
    ]


def write_submission(course, attack: Attack) -> None:
    """Put the attack's submission into ``submitted/``."""
    content = attack.build(course.source_dir, course.release_dir)
    folder = course.submission_dir(attack.student)
    folder.mkdir(parents=True, exist_ok=True)
    if content is None:
        return
    name = attack.filename or f"{attack.notebook}.ipynb"
    if isinstance(content, bytes):
        (folder / name).write_bytes(content)
    elif isinstance(content, str):
        (folder / name).write_text(content)
    else:
        write_notebook(content, folder / name)


def dump(attack_list: list[Attack]) -> str:
    """A readable list of the attacks (for the docs)."""
    return json.dumps([(a.student, a.notebook, a.description) for a in attack_list], indent=1)
