"""The ``/v1`` routers, one module per resource: HTTP glue only, the work is in ``Tether``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.http.deps import State
    from api.tether import Tether


def tether_of(state: State) -> Tether:
    """The ``Tether`` object over the app's workspace, store and config (cheap: no I/O)."""
    from api.tether import Tether

    return Tether(workspace=state.workspace, store=state.store, config=state.settings.config)
