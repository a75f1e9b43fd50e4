"""The REST API (`airbnb-sync api serve`): accounts and their sessions over HTTP, under
/api/v1, for people and programs that cannot run the CLI on the server.

It sits beside `cli/` in the layering (docs/ARCHITECTURE.md): it reads the same warehouse and
account store, registers accounts through the same code as the CLI (accounts/register.py),
and launches syncs through Dagster's GraphQL API (defs/graphql_runs.py).
"""
