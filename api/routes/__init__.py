"""The ``/v1`` routers, one module per resource: HTTP glue only, the work is in the domain."""
