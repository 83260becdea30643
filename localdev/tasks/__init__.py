"""The local Cloud Tasks: PyPI `gcloud-tasks-emulator` (in .venv-tasks) made to refuse what Cloud Tasks refuses.

`python -m localdev.tasks --port 8823` (run with .venv-tasks/bin/python). The emulator package is used as
installed; `server.py` subclasses its queue state and API thread (see README.md for what is enforced and why).
"""
