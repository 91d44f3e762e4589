"""Notes that students read only after answering: errata of the printed key, "either way" options.

The released exam states each question corrected and says nothing about the printed
solutions or about how an answer is judged. What was checked against the printed key, and
which Q1 options are accepted either way (and why), lives here, keyed by notebook and by
the grade id of the graded cell it concerns. It is shown where a student sees it after
answering: the feedback HTML (:class:`cs230_grading.feedback.AppendNotes`), the output of
``cs230-selfgrade`` and the model solutions (``cs230-selfgrade --solutions``).

The facts are those of ``/work/shared/answer-key-notes.md`` (errata E1 to E9); the Q1
"either way" decisions are ``cs230_grading.reference.multiple_choice.KEY``, and a test keeps
the two in agreement. ``tests/test_release_gives_nothing_away.py`` checks that no sentence
of this module's notes appears in ``release/``.
"""

from __future__ import annotations

import dataclasses

__all__ = ["NOTES", "Note", "notes_for"]


@dataclasses.dataclass(frozen=True)
class Note:
    """One note: the graded cell it concerns (``""`` for the whole notebook), a title, markdown."""

    grade_id: str
    title: str
    text: str


_Q1 = "q1_multiple_choice"
_Q1_NOTES: tuple[Note, ...] = (
    Note("", "How the key departs from the printed solutions",
         "The key used here was re-derived and checked (see the course's answer-key notes). "
         "The printed solutions give one reading of options (b)(ii), (b)(iv), (c)(iii), (d)(ii) "
         "and (f)(ii) and mark the other one wrong. Each of them can be argued both ways (the "
         "reasons follow), so they are not counted: any choice on them is accepted."),
    Note("", "No forced choice",
         "The paper exam promised at least one true option per question. Since a debatable "
         "option may be the only candidate, an empty answer `set()` is a valid answer here for "
         "every question."),
    Note("", "Wording",
         "Some statements are reworded for clarity (for example (a)(iv) says the network was "
         "trained without mean subtraction, and (h)(iii) names the optimiser's $\\beta$). The "
         "intended meaning of each statement is unchanged."),
    Note("", "Partial credit",
         "Partial credit per option is an option of this notebook only; the paper exam gave "
         "2 points or none per question. When it is on, the 2 points are shared equally among "
         "the options that are counted (the options accepted either way are not)."),
    Note("q1_b_test", "(b)(ii) accepted either way",
         "Normalising the activations keeps their scale, and hence the gradients' scale, under "
         "control, which is the usual argument for \"yes\". But batch normalization can itself "
         "cause gradients to explode in deep networks at initialisation (Yang et al., *A Mean "
         "Field Theory of Batch Normalization*, ICLR 2019), which supports \"no\"."),
    Note("q1_b_test", "(b)(iv) accepted either way",
         "Residual connections were introduced against *vanishing* gradients, which supports "
         "\"no\". But residual networks also have much smaller gradient explosion than plain "
         "networks of the same depth (Philipp et al., *The exploding gradient problem "
         "demystified*, 2018), which supports \"yes\"."),
    Note("q1_c_test", "(c)(iii) accepted either way",
         "The statement does not say whether the classifier has a separate bias. If the scores "
         "are $Wx$ (no bias, or the bias is scaled too), multiplying them by 3 keeps every "
         "prediction, and since every example is already classified correctly, the sharper "
         "softmax lowers the loss: true. If there is a bias $b$ that stays unscaled, the scores "
         "become $3Wx + b$, which can change a prediction: not guaranteed, so false."),
    Note("q1_d_test", "(d)(ii) accepted either way",
         "Batch normalization has a mild regularising effect (each example's normalisation "
         "depends on the other examples in its batch), which supports \"yes\". But it is not a "
         "remedy for overfitting: it mainly speeds up and stabilises training, and it often "
         "lets the network fit the training set even better, so the gap may not shrink, which "
         "supports \"no\"."),
    Note("q1_f_test", "(f)(ii) accepted either way",
         "The running average of the gradients (the velocity) can carry the parameters through "
         "shallow local minima and flat regions, which is the usual motivation and supports "
         "\"yes\". But momentum gives no guarantee about local minima, and its one running "
         "average is a weak reading of \"gradient statistics\", which supports \"no\"."),
)

_Q2_NOTES: tuple[Note, ...] = (
    Note("", "How the rubric departs from the printed solutions",
         "The answers are graded with a rubric that was checked against the course's "
         "answer-key notes. Some questions are reworded for clarity; their meaning is "
         "unchanged. The other errata ids of the notes (E1 to E7, E9) concern Questions 3 to 6."),
    Note("q2_c", "E8, part (c)",
         "The printed answer to (c) says that pooling lets us \"use fewer parameters\". A "
         "pooling layer has no parameters at all; it shrinks the activations, and with them "
         "the compute, the memory and the size of the *later* fully connected layers. The "
         "rubric is corrected and states precisely which effects of pooling earn credit."),
    Note("q2_f", "Part (f)",
         "The printed answer to (f) says the softmax output fulfils the constraints of a "
         "probability *density*; over a finite set of classes it is a probability "
         "*distribution*. The rubric uses the right term, and an answer that uses the printed "
         "term with the right meaning is not penalised."),
)

_Q3_NOTES: tuple[Note, ...] = (
    Note("q3_i_test", "E1 (part i)",
         "The printed key gives the activation volume of part i as $14 \\times 14 \\times 64$. "
         "That cannot be right: a single $3 \\times 3$ convolution with stride 1 and no padding "
         "shrinks each side of the image only slightly, to $126 \\times 126 \\times 64$. The "
         "printed value is the *final* volume of the three-module network of part iv, copied "
         "into part i by mistake. The printed parameter count for part i (1792) is right."),
)

_Q4_NOTES: tuple[Note, ...] = (
    Note("q4_ii_test", "E2 (part ii)",
         "The printed key's one-line formula for part ii, "
         "$\\operatorname{sign}(w^*) \\max(|w^* - \\alpha/H|, 0)$, misplaces an absolute value: "
         "for most inputs (about two thirds of random cases) it returns a weight that does not "
         "minimise the objective of part ii (for example $w^* = 0.1$, $\\alpha/H = 1$ gives 0.9 "
         "instead of 0). The true minimiser, graded here and checked against a brute-force "
         "search, is the soft threshold $\\operatorname{sign}(w^*) \\max(|w^*| - \\alpha/H, 0)$; "
         "the case-wise version printed below the one-liner is right."),
    Note("", "Wording",
         "The exam's \"L1 normalization term\" means the L1 *regularisation* term "
         "$\\alpha\\|\\mathbf{w}\\|_1$, and its solution \"when the gradient equals zero\" means, "
         "for $|w_i|$ at 0, that 0 is a subgradient. The functions take the Hessian's diagonal "
         "`H_diag` rather than the matrix $\\mathbf{H}$, and the L2 comparison uses the penalty "
         "$\\frac{\\alpha}{2}\\|\\mathbf{w}\\|_2^2$ (as in Goodfellow et al.)."),
)

_Q5_NOTES: tuple[Note, ...] = (
    Note("", "E7 (setup)",
         "The printed $L$ uses one $n$ for both batches and omits the brackets around the sum. "
         "The batch sizes may differ (the exam says so itself), so the two terms are averaged "
         "over $n$ and $m$ separately. Part iv is printed with both \"(5 points)\" and "
         "\"(3 points)\": it is worth 3, so that Question 5 totals 25."),
    Note("q5_ii_test", "E4 (part ii)",
         "The printed answer is a single number, an average over the batch. But "
         "$\\partial L / \\partial z^{L_d}$ is a different number for every sample, and "
         "backpropagation needs all of them: $(1 - D(X^i))/n$ for real samples and "
         "$-D(G(Z^j))/m$ for generated ones. The printed scalar is the sum of those entries."),
    Note("q5_iii_test", "E3 (part iii)",
         "The printed recursion multiplies by $g(z^l)$. The right one multiplies "
         "$(W^{l+1})^\\top \\partial L / \\partial z^{l+1}$ elementwise by the derivative "
         "$g'(z^l)$, as the finite-difference checks confirm."),
    Note("q5_v_test", "E5 (part v)",
         "The printed answer averages over the batch once more, although the averaging is "
         "already contained in $\\partial L / \\partial G(Z)$ from part iv. Counting it twice "
         "makes the gradient $m$ times too small."),
    Note("q5_viii_test", "E6 (part viii)",
         "The printed $L'$ has a plus sign; the printed key itself says it should be a minus. "
         "With the batch sizes of E7, the corrected objective is "
         "$L' = \\frac{1}{n}\\sum_i D(X^i) - \\frac{1}{m}\\sum_j D(G(Z^j))$. Two further "
         "corrections to the printed remark: a WGAN keeps its critic in check with **weight "
         "clipping** (every weight is clipped to $[-c, c]$ after each update), not gradient "
         "clipping; and a true WGAN critic has a **linear** output. The notebook keeps the "
         "exam's network, sigmoid output included, so the gradient goes through the sigmoid."),
)

_Q6_NOTES: tuple[Note, ...] = (
    Note("q6_loops_test", "E9, the output size",
         "The exam says the output is $H \\times W \\times oC$. A 3x3 window with stride 1 and "
         "no padding fits only $(H-2) \\times (W-2)$ times, so the output is "
         "$(H-2) \\times (W-2) \\times oC$. Padding the image to keep $H \\times W$ is graded "
         "as wrong."),
    Note("q6_num_params_test", "The bare \"180\"",
         "The printed answer to part 1 is a single number, 180, although the exam never fixes "
         "iC or oC, and a parameter count depends on both. The notebook states the sizes (an "
         "RGB input, iC = 3, and oC = 5) and asks for the count as a function of iC and oC, "
         "$9\\,oC\\,(iC + 1)$; the tests try several sizes."),
    Note("", "Which pixel meets which key",
         "The exam's formula pairs one query $q_{ij}$ with all nine keys $k_{a,b}$ and numbers "
         "them from (1, 1). Read together with \"like a convolution, stride 1, no padding\", "
         "the key at offset $(a, b)$ meets the pixel at that offset of the window, as a "
         "convolution kernel would; offsets are numbered 0..2 in the notebook."),
)

#: ``{notebook: notes}``, in the order they are shown.
NOTES: dict[str, tuple[Note, ...]] = {
    _Q1: _Q1_NOTES,
    "q2_short_answers": _Q2_NOTES,
    "q3_conv_architectures": _Q3_NOTES,
    "q4_l1_regularization": _Q4_NOTES,
    "q5_gan_backprop": _Q5_NOTES,
    "q6_numpy_attention": _Q6_NOTES,
}


def notes_for(notebook: str) -> tuple[Note, ...]:
    """The notes of one notebook (none for a notebook without errata, such as the cover)."""
    return NOTES.get(notebook, ())
