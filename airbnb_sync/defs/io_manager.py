"""The Dagster IO manager that upserts asset frames into the warehouse and reads them back.

Custom because Dagster's database IO managers fail on dynamic partitions (Dagster bug #32631)
and there is none for PostgreSQL. A run may cover any rectangle of account x week partitions,
so partitions are always decoded from `asset_partition_keys`, the one attribute that works
for every shape. Each account is written in its own transaction.
"""

from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from airbnb_sync.defs.assets import weeks_of_keys
from airbnb_sync.defs.partitions import run_totals_label
from airbnb_sync.defs.resources import RunSettings, WarehouseResource
from airbnb_sync.defs.retries import StepRetries
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.frames import to_frame
from airbnb_sync.warehouse.migrate import current_revision, head_revision, upgrade_to_head
from airbnb_sync.warehouse.upsert import (
    WriteResult,
    metric_table,
    read_latest,
    write_frames_by_account,
)

MAX_LISTED_STRAYS = 5


class RowsOutsidePartitions(ValueError):
    """The asset produced rows for partitions its run does not cover: a bug upstream."""


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Upserts the frames of `listings`, `conversion_metrics` and `visibility_metrics` into the
    table named by the asset key, and loads an upstream asset's newest snapshot."""

    warehouse: WarehouseResource = Field(
        description="The deployment's one warehouse, shared with the assets and sensors.")
    run_settings: RunSettings = Field(description=(
        "The run's knobs, shared with the assets: dry run (write nothing, report what would "
        "have been written) and the retries of a failed write or read."))

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        with self._step_retries(context).retry_what_may_pass(self._attempts(context)):
            self._handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        with self._step_retries(context).retry_what_may_pass(self._attempts(context)):
            return self._load_input(context)

    def _step_retries(self, context: dg.OutputContext | dg.InputContext) -> StepRetries:
        # The assets carry no RetryPolicy (see defs/retries.py), so the writes ask for theirs.
        return self.run_settings.step_retries()

    @staticmethod
    def _attempts(context: dg.OutputContext | dg.InputContext) -> int:
        return context.step_context.previous_attempt_count

    def _handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        table_name = context.asset_key.path[-1]
        metric_table(table_name)
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{table_name}: expected a pandas DataFrame, got {type(obj).__name__}")
        weeks_by_account = _partitions(context)
        refuse_rows_outside(table_name, obj, weeks_by_account)
        accounts = sorted({str(account) for account in obj["account_id"]})
        if self.run_settings.dry_run:
            _keep_dry_run_frame(_dry_run_path(context.step_context.instance, context.run_id,
                                              table_name), obj)
            context.log.info(
                f"dry run: would write {len(obj)} rows to {table_name} for accounts "
                f"{', '.join(accounts) or '(none)'}; wrote nothing"
            )
            context.add_output_metadata({
                "dry_run": True, "warehouse_table": table_name, "rows_would_write": len(obj),
                "accounts_written": dg.MetadataValue.json(accounts),
                "figures": run_totals_label(weeks_by_account),
            })
            return
        engine = self._engine()
        upgrade_to_head(engine)
        results = write_frames_by_account(engine, table_name, obj)
        total = sum(results.values(), WriteResult())
        context.log.info(
            f"{table_name}: {total.inserted} rows inserted, {total.updated} updated, "
            f"{total.unchanged} unchanged, accounts {', '.join(accounts) or '(none)'}"
        )
        context.add_output_metadata({
            "dry_run": False,
            "warehouse_table": table_name,
            "rows_inserted": total.inserted,
            "rows_updated": total.updated,
            "rows_unchanged": total.unchanged,
            "accounts_written": dg.MetadataValue.json(accounts),
            "figures": run_totals_label(weeks_by_account),
        })

    def _load_input(self, context: dg.InputContext) -> pd.DataFrame:
        table_name = context.asset_key.path[-1]
        metric_table(table_name)
        weeks_by_account = _partitions(context)
        engine = self._engine()
        if self.run_settings.dry_run:
            kept = _dry_run_path(context.instance, context.upstream_output.run_id, table_name)
            if kept.exists():
                # The upstream step of this dry run wrote nothing: hand on what it produced.
                context.log.info(f"dry run: using the {table_name} frame this run produced")
                return pd.read_pickle(kept)
            if not _schema_at_head(engine):
                # Nothing could have been written, and a dry run must not create the schema.
                context.log.warning(f"dry run: the warehouse has no {table_name} yet; "
                                    "loading no rows")
                return to_frame(table_name, [])  # type: ignore[arg-type]
        else:
            upgrade_to_head(engine)
        frame = read_latest(engine, table_name, weeks_by_account)
        context.log.info(f"loaded {len(frame)} rows of {table_name} for "
                         f"{len(weeks_by_account)} account(s)")
        return frame

    def _engine(self) -> sa.Engine:
        return create_warehouse_engine(self.warehouse.database_url)


def _dry_run_path(instance: dg.DagsterInstance, run_id: str, table_name: str) -> Path:
    """Where a dry run keeps an output for its downstream steps (which may run in other
    processes): the run's folder in Dagster's storage, never the warehouse."""
    return Path(instance.storage_directory()) / run_id / "dry_run" / f"{table_name}.pkl"


def _keep_dry_run_frame(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_pickle(path)


def _partitions(context: dg.OutputContext | dg.InputContext) -> dict[str, list[date]]:
    if not context.has_asset_partitions:
        raise ValueError(f"{context.asset_key.to_user_string()} is not partitioned; the "
                         "warehouse IO manager stores account x week partitions only")
    return weeks_of_keys(context.asset_partitions_def, context.asset_partition_keys)


def refuse_rows_outside(table_name: str, frame: pd.DataFrame,
                        weeks_by_account: dict[str, list[date]]) -> None:
    """Raise if a row's (account, week) is not a partition of this output: writing it would
    silently change partitions that Dagster believes untouched."""
    missing = [name for name in ("account_id", "week_start") if name not in frame.columns]
    if missing:
        raise ValueError(f"{table_name} frame lacks the partition columns {missing}")
    allowed = pd.MultiIndex.from_tuples(
        [(account, pd.Timestamp(week)) for account, weeks in weeks_by_account.items()
         for week in weeks],
        names=["account_id", "week_start"],
    )
    weeks = frame["week_start"]
    if not pd.api.types.is_datetime64_any_dtype(weeks):
        # Asset frames hold datetimes already; to_datetime would only spend time on them.
        weeks = pd.to_datetime(weeks)
    rows = pd.MultiIndex.from_arrays(
        [frame["account_id"].astype(str), weeks], names=["account_id", "week_start"],
    )
    outside = ~rows.isin(allowed)
    if not outside.any():
        return
    strays = sorted({(account, week.date().isoformat()) for account, week in rows[outside]})
    shown = ", ".join(f"{account}|{week}" for account, week in strays[:MAX_LISTED_STRAYS])
    more = f" and {len(strays) - MAX_LISTED_STRAYS} more" if len(strays) > MAX_LISTED_STRAYS else ""
    raise RowsOutsidePartitions(
        f"{table_name}: {int(outside.sum())} row(s) belong to partitions this run does not "
        f"cover ({shown}{more}); nothing was written. This is a bug in the asset."
    )


def _schema_at_head(engine: sa.Engine) -> bool:
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and not Path(database).exists():
        return False
    return current_revision(engine) == head_revision()
