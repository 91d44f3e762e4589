"""The grading path, one module per stage."""
