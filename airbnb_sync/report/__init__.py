"""The insights report: plain Python (no Dagster), used by the `insights_report` asset and by
`airbnb-sync report`. `build.build_report` is the entry point."""
