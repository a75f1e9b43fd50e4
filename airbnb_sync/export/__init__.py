"""`airbnb-sync export`: stream a warehouse table to CSV, Parquet or JSON Lines.

The command is split by job: `source` decides what is read (table or newest-snapshot view,
filters, key order) and fetches it in chunks; `formats` turns each chunk into typed Arrow
columns and writes them; `destination` makes a file appear only when it is complete;
`command` is the command line around them.
"""

from airbnb_sync.export.command import add_arguments, run

__all__ = ["add_arguments", "run"]
