"""Sample submissions of Q2 (short answers, graded by hand), written the way students write.

Answered cells await a manual grade; cells left as released score 0. The sample class
(:mod:`cs230_grading.samples`) never submits the model answer here: the source's model
answer carries the TA-only rubric, and nobody writes like it. Instead each part has a few
answers of the kind a class hands in (:data:`ANSWERS`): right, partly right, wrong, terse,
long-winded, with the odd typo. :func:`student_answers` deals them out so that no two
sample students hand in the same set.
"""

from __future__ import annotations

from . import Variant

NOTEBOOK = "q2_short_answers"
PARTS = tuple(f"q2_{q}" for q in "abcdefgh")

#: grade id -> answers students wrote (best first, roughly), none of them the model answer
ANSWERS: dict[str, tuple[str, ...]] = {
    "q2_a": (
        "1. The learning rate is too small so the weights barely move.\n"
        "2. All the weights were initialised to zero, so every unit gets the same gradient.",
        "Maybe the learning rate is way too low. Or there is a bug, e.g. the optimizer "
        "step is never called.",
        "the loss is flat because of vanishing gradients with sigmoid, and maybe the data "
        "is not normalised",
        "Regularization is too strong, and the dataset is too small.",
        "Learning rate.",
    ),
    "q2_b": (
        "F1 score, since we care about precision (not jailing innocent people) and recall "
        "(catching the criminals) at the same time.",
        "Precision, because a false positive means an innocent person goes to prison.",
        "I would use recall so that the city is safe and we catch all criminals.",
        "Accuracy, it tells us how often the model is right.",
        "precision and recall",
    ),
    "q2_c": (
        "Pooling shrinks the height and width of the activations, so the next layers need "
        "less computation and memory, and the network gets some invariance to small shifts.",
        "It reduces the size of the feature maps.",
        "Pooling reduces the number of parameters because the pooling layer has fewer "
        "weights than a conv layer.",
        "to make the receptive field bigger and reduce overfitting",
        "Max pooling keeps the strongest feature in each region, which is the important "
        "information, so not much is really lost.",
    ),
    "q2_d": (
        "High variance = overfitting: training error is low but dev error is much higher. "
        "To reduce it, get more training data or add L2 regularization / dropout.",
        "The model overfits the training set. Use early stopping.",
        "It means the predictions vary a lot between runs. Train for more epochs.",
        "high variance means the model is too complex; use a bigger network",
        "Overfitting",
    ),
    "q2_e": (
        "Advantage: less memory per step and the noise can help generalisation. "
        "Disadvantage: the gradient estimate is noisy so training is less stable.",
        "Pro: more updates per epoch. Con: doesn't use the GPU well, each epoch is slower.",
        "Advantage: faster. Disadvantage: less accurate.",
        "Small batches converge to the exact minimum, but they take longer.",
        "It uses less memory.",
    ),
    "q2_f": (
        "Softmax turns the scores into positive numbers that sum to 1, i.e. a probability "
        "for each class, and it works nicely with the cross-entropy loss.",
        "Because it outputs probabilites between 0 and 1.",
        "It makes the largest output 1 and the others 0, so we can pick the class.",
        "softmax is differentiable unlike argmax, so we can backprop through it",
        "It normalizes the outputs.",
    ),
    "q2_g": (
        "I disagree. When covariates are correlated L1 picks one of them more or less at "
        "random, so a zero weight does not mean the feature has no effect.",
        "Disagree, sparse models are not necessarily more explainable.",
        "Agree. In medicine doctors need to know which features the model uses, so a "
        "sparse model is worth a small loss in accuracy.",
        "I agree because L1 sets weights to exactly zero so we can remove those features.",
        "Agree.",
    ),
    "q2_h": (
        "Re-weight the predictions for the real class frequencies, e.g. raise the decision "
        "threshold for 'true', since the model saw too many trues during training.",
        "Give more weight to the downsampled class in the loss.",
        "Lower the threshold so we predict 'true' more often.",
        "Downsample the test set the same way so it matches the training distribution.",
        "Nothing, the model already learned the right boundary.",
    ),
}

#: how often a sample student leaves a part as released (every ``SKIP``-th dealt part)
SKIP = 7


def student_answers(k: int, *, complete: bool = False) -> dict[str, str]:
    """The Q2 answers of the ``k``-th sample student: part j gets answer
    (k + j (1 + k div n)) mod n of its n answers, so students k and k + n share at most two
    answers; every :data:`SKIP`-th part dealt is left unanswered (unless ``complete``)."""
    out: dict[str, str] = {}
    for j, gid in enumerate(PARTS):
        if not complete and (k * len(PARTS) + j) % SKIP == SKIP - 1:
            continue
        pool = ANSWERS[gid]
        out[gid] = pool[(k + j * (1 + k // len(pool))) % len(pool)]
    return out


def student_variant(k: int, *, complete: bool = False) -> Variant:
    """:func:`student_answers` as a submission (cells left out stay as released)."""
    answers = student_answers(k, complete=complete)
    return Variant(NOTEBOOK, f"student_{k}", f"a student's own answers, set {k} "
                   f"({len(answers)} of {len(PARTS)} answered)", answers=answers, base="blank")


VARIANTS: list[Variant] = [
    Variant(
        NOTEBOOK,
        "some_answered",
        "three questions answered in a student's own words, five left blank",
        base="blank",
        answers={
            "q2_a": "The learning rate may be too small, or all weights started at zero.",
            "q2_c": "Pooling makes the feature maps smaller, so later layers are cheaper.",
            "q2_f": "It gives probabilities for each class that add up to one.",
        },
    ),
    student_variant(0, complete=True),
    student_variant(3),
]
