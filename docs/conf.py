"""Sphinx configuration: myst-nb executes the jupytext tutorials; built with -W offline."""

import os

project = "bdprocess"
author = "bdprocess developers"
copyright = "2026, bdprocess developers"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
source_suffix = {".md": "myst-nb", ".py": "myst-nb"}
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = "cache" if os.environ.get("BDPROCESS_DOCS_CACHE") else "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "conf.py"]
myst_enable_extensions = ["dollarmath", "amsmath"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
html_theme = "alabaster"
html_static_path = []
suppress_warnings = ["mystnb.unknown_mime_type"]
# Tutorials read this to run at documentation size rather than test size.
os.environ.setdefault("BDPROCESS_TUTORIAL_SIZE", "docs")
