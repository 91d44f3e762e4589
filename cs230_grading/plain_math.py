"""Markdown with TeX math, as plain text for a terminal: Unicode math, no TeX source.

``cs230-selfgrade`` prints the after-answering notes (:mod:`cs230_grading.errata`), which
are markdown with math between dollar signs. :func:`plain_text` drops the markdown marks
and turns each formula into readable Unicode: Greek letters and operators become their
characters (``\\alpha`` α, ``\\times`` ×, ``\\partial`` ∂), ``\\frac{a}{b}`` becomes ``(a/b)``,
and sub- and superscripts become Unicode ones where every character has one (``X^i`` Xⁱ,
``z^{l+1}`` zˡ⁺¹, ``q_{ij}`` qᵢⱼ), else ``^(...)`` / ``_(...)``. It covers the TeX the notes
use; a command it does not know loses its backslash and keeps its name.
"""

from __future__ import annotations

import re

SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "Delta": "Δ", "Sigma": "Σ", "times": "×", "cdot": "·", "partial": "∂", "nabla": "∇",
    "sum": "Σ", "prod": "Π", "infty": "∞", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
    "ne": "≠", "neq": "≠", "approx": "≈", "pm": "±", "to": "→", "rightarrow": "→",
    "in": "∈", "top": "ᵀ", "|": "‖", "max": "max", "min": "min", "log": "log", "exp": "exp",
    "sqrt": "√", "ldots": "…", "dots": "…", "cdots": "⋯", ",": " ", ";": " ", "!": "",
    " ": " ", "quad": "  ", "{": "{", "}": "}", "$": "$",
}
#: commands whose argument is kept as it is (font and operator names)
KEEP_ARGUMENT = ("operatorname", "mathbf", "mathrm", "mathit", "boldsymbol", "text", "mathcal")
SUPERSCRIPT = dict(zip("0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW*'ᵀ",
                       "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ*'ᵀ",
                       strict=True))
SUBSCRIPT = dict(zip("0123456789+-=()aehijklmnoprstuvx",
                     "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))

_GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"
_FRAC = re.compile(r"\\frac\s*" + _GROUP + r"\s*" + _GROUP)
_KEEP = re.compile(r"\\(?:" + "|".join(KEEP_ARGUMENT) + r")\s*" + _GROUP)
#: operators written against what follows them (TeX drops the space after a command)
_PREFIX = re.compile(r"\\(partial|nabla|sum|prod|sqrt)(?![A-Za-z])\s*")
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_SCRIPT = re.compile(r"([\^_])(?:" + _GROUP + r"|(\\[A-Za-z]+|.))")
_MATH = re.compile(r"(?<!\\)\$\$?(.+?)(?<!\\)\$\$?", re.DOTALL)


def _simple(text: str) -> bool:
    return len(text) <= 1 or re.fullmatch(r"[\w.]+", text) is not None


def _script(match: re.Match[str]) -> str:
    kind, group, single = match.group(1), match.group(2), match.group(3)
    body = tex_to_unicode(group if group is not None else single)
    table = SUPERSCRIPT if kind == "^" else SUBSCRIPT
    if body and all(ch in table for ch in body):
        return "".join(table[ch] for ch in body)
    return f"{kind}{body}" if len(body) == 1 else f"{kind}({body})"


def tex_to_unicode(tex: str) -> str:
    """One TeX formula as plain Unicode text."""
    text = tex
    while True:  # innermost first: a fraction may hold a fraction
        new = _FRAC.sub(lambda m: f"({_wrap(m.group(1))}/{_wrap(m.group(2))})", text)
        new = _KEEP.sub(lambda m: m.group(1), new)
        if new == text:
            break
        text = new
    text = _SCRIPT.sub(_script, text)
    text = _PREFIX.sub(lambda m: f" {SYMBOLS[m.group(1)]}" if m.group(1) in ("sum", "prod")
                       else SYMBOLS[m.group(1)], text)
    text = _COMMAND.sub(lambda m: SYMBOLS.get(m.group(1), m.group(1)), text)
    text = text.replace("{", "").replace("}", "")
    return re.sub(r"[ \t]{2,}", " ", text).replace("( ", "(").strip()


def _wrap(part: str) -> str:
    part = tex_to_unicode(part)
    return part if _simple(part) else f"({part})"


def plain_text(markdown: str) -> str:
    """Markdown with ``$...$`` math as plain text: formulas in Unicode, no ``*`` or backticks."""
    out, pos = [], 0
    for match in _MATH.finditer(markdown):  # the marks outside the math, the math itself
        out += [_unmark(markdown[pos:match.start()]), tex_to_unicode(match.group(1))]
        pos = match.end()
    out.append(_unmark(markdown[pos:]))
    return "".join(out)


def _unmark(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*|\*(.+?)\*", lambda m: m.group(1) or m.group(2), text)
    return text.replace("`", "").replace("\\$", "$")
