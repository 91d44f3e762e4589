"""Jupyter server settings for TAs who grade in the formgrader (course root).

Start JupyterLab from the course root with this file:

    jupyter lab --config=jupyter_server_config.py

It turns on :mod:`cs230_grading.lab_csp`: the formgrader's submission pages get a
Content-Security-Policy that runs no inline script but nbgrader's own and no script from
another origin (see docs/security.md, "What a student can make staff run").
"""

c = get_config()  # noqa: F821  (provided by Jupyter when it loads this file)

c.ServerApp.jpserver_extensions.update({"cs230_grading.lab_csp": True})
