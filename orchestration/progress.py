"""Progress of a CLI run: the stage, step i of n and the time since the start.

Dagster tells every logger of a run when a step starts; `progress_logger` is one more such
logger, and forwards those events to the display the CLI opened (nothing otherwise, so
`dagster dev` runs are unaffected). On a terminal the display is one line rewritten in
place; elsewhere (a log file, CI) a plain line per stage, without escape codes.
"""

from __future__ import annotations

import logging
import time
from typing import TextIO

from dagster import Field, InitLoggerContext, logger

# The stage a step belongs to, by its step key (the op's name); checks are "quality checks".
STAGES = {
    "raw_landing": "landing",
    "dbt_models": "dbt models and tests",
    "dbt_scored_models": "dbt models of the scores",
    "marts__fct_alerts": "business alerts",
    "serving__report": "report",
    "serving__published_marts": "publish",
}


# checks run between the steps they check: on a plain stream they get no lines of their own
QUIET_STAGE = "quality checks"


def stage_of(step_key: str) -> str:
    if step_key in STAGES:
        return STAGES[step_key]
    if step_key.startswith("gx_") or step_key.endswith(("_not_anomalous", "_check")):
        return QUIET_STAGE
    return "scoring and Python tables"


class Progress:
    def __init__(self, stream: TextIO, total: int, tty: bool | None = None) -> None:
        self.stream, self.total = stream, total
        self.tty = stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self.done = 0
        self.stage = ""

    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def step(self, step_key: str) -> None:
        self.done += 1
        stage = stage_of(step_key)
        text = f"[{self.done:>2}/{self.total} {self.elapsed():>5}] {stage}"
        if self.tty:  # one line, rewritten: carriage return and erase to the line's end
            self.stream.write(f"\r\x1b[K{text}: {step_key}")
        elif stage not in (self.stage, QUIET_STAGE):  # a line when a stage begins
            self.stream.write(text + "\n")
            self.stage = stage
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[Kran {self.done} steps in {self.elapsed()}\n")
            self.stream.flush()


_active: Progress | None = None


def activate(progress: Progress | None) -> None:
    """Show the steps of the runs of this process on `progress` (None: stop)."""
    global _active
    _active = progress


class _StepStarts(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if _active is not None and event is not None and event.event_type_value == "STEP_START":
            _active.step(event.step_key)


@logger(description="Forwards step starts to the CLI's progress display, when it has one.")
def progress_logger(_: InitLoggerContext) -> logging.Logger:
    log = logging.Logger("userops.progress", level=logging.DEBUG)
    log.addHandler(_StepStarts())
    return log


class _Brief(logging.Filter):
    """For the CLI without --verbose: a failed step's records (its stack trace, a line per
    step it skips, the run's failure) are left to the CLI's closing line, which names each
    failed step and its reason; the Dagster UI keeps them whole. Warnings stay, on one
    line each."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return False
        text = record.getMessage()
        if "\n" in text:
            record.msg, record.args = text.split("\n", 1)[0], None
        return True


@logger(
    {"log_level": Field(str, is_required=False, default_value="INFO"),
     "tracebacks": Field(bool, is_required=False, default_value=True,
                         description="false: warnings on one line, errors left to the "
                         "caller's closing message")},
    description="Dagster's records on stderr; brief for the CLI without --verbose.")
def console_logger(context: InitLoggerContext) -> logging.Logger:
    log = logging.Logger("dagster.console", level=context.logger_config["log_level"].upper())
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s - dagster - %(levelname)s - %(message)s"))
    if not context.logger_config["tracebacks"]:
        handler.addFilter(_Brief())
    log.addHandler(handler)
    return log
