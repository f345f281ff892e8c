"""What the CLI prints: one readable line per failed step, duplicates and fallbacks apart."""

from pathlib import Path

from dagster_shared.error import SerializableErrorInfo

from orchestration.runner import one_line, step_error_message
from orchestration.summary import RunSummary, format_summary


def _error(cls_name: str, message: str, cause=None) -> SerializableErrorInfo:
    return SerializableErrorInfo(message=message, stack=[], cls_name=cls_name, cause=cause)


def test_step_error_is_the_steps_own_message_without_class_names():
    own = _error("FitError", "models.btyd.FitError: gamma_gamma fit is degenerate:\n"
                 "  parameters ['gamma'] ran to a bound\n")
    wrapped = _error("DagsterExecutionStepExecutionError",
                     "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred "
                     'while executing op "marts__user_clv"', cause=own)
    assert step_error_message(wrapped) == (
        "gamma_gamma fit is degenerate:; parameters ['gamma'] ran to a bound")
    # an error that is not a wrapper is kept, even with a cause
    outer = _error("ValueError", "ValueError: scores have NaN", cause=own)
    assert step_error_message(outer) == "scores have NaN"


def test_one_line_joins_lines_and_collapses_spaces():
    assert one_line("a   b\n\n  c\n") == "a b; c"


def test_summary_reports_duplicates_and_each_fallback_on_its_own_line():
    summary = RunSummary(
        rows_staged={"events": 10}, rows_quarantined={"events": 4},
        reasons={"duplicate_key": 3, "null_id": 1}, last_day=None, tables=["marts.x"],
        fallbacks=["gamma_gamma degenerate, scores use population_mean: ran to a bound",
                   "churn supervised fallback, scored with base_rate: one label class"])
    lines = format_summary(summary, Path("w.duckdb"), "ui", Path("serving")).splitlines()
    assert "rows quarantined: 1 (null_id 1); see raw.quarantine" in lines
    assert any(line.startswith("duplicates:       3 re-delivered rows dropped") for line in lines)
    assert [line for line in lines if line.startswith("model fallback:")] == [
        "model fallback:   gamma_gamma degenerate, scores use population_mean: ran to a bound",
        "model fallback:   churn supervised fallback, scored with base_rate: one label class"]
