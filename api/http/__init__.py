"""The HTTP API (FastAPI): the app, its dependencies, schemas and routes.

Routes call only the ``Tether`` object (``api/tether/``); errors become
statuses through ``api.errors``, the one mapping shared with the CLI.
"""
