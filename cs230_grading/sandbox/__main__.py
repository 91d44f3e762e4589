"""``python -m cs230_grading.sandbox exec [LIMITS] -- CMD``: the launcher inside the sandbox."""

from . import main

main()
