"""The NumPy answer key: one module per auto-graded question.

Function names and signatures match the student stubs in ``source/midterm``.

* :mod:`.multiple_choice` (Q1): ``KEY`` and ``score(question, answer, partial=False)``
* :mod:`.conv` (Q3): output shapes and parameter counts
* :mod:`.l1` (Q4): the L1 gradient and the soft threshold
* :mod:`.gan` (Q5): discriminator and generator gradients
* :mod:`.attention` (Q6): the 3x3 windowed attention layer
"""
