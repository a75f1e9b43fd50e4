"""Dagster instance plug-ins and the CLI's access to the instance, apart from the definitions.

`dagster.yaml` names what lives here (the run launcher, and the former local storage's name
for installations whose profile still names it); the CLI reads and changes the instance
through `access.py`. Nothing here is part of the code location's definitions (`defs/`).
"""
