"""The CLI's progress display (orchestration/progress.py): one line rewritten in place on a
terminal, plain lines per stage elsewhere."""

import io

from orchestration.progress import Progress, stage_of


def test_stages_of_steps():
    assert stage_of("raw_landing") == "landing"
    assert stage_of("dbt_models") == "dbt models and tests"
    assert stage_of("gx_after_user_clv") == "quality checks"
    assert stage_of("churn_scores") == "scoring and Python tables"
    assert stage_of("serving__published_marts") == "publish"


def test_plain_output_has_a_line_per_stage_and_no_escape_codes():
    out = io.StringIO()
    p = Progress(out, total=5, tty=False)
    for step in ("raw_landing", "gx_after_raw_landing", "dbt_models", "user_clv",
                 "serving__published_marts"):
        p.step(step)
    p.close()
    lines = out.getvalue().splitlines()
    assert [line.split("] ")[1] for line in lines] == [
        "landing", "dbt models and tests", "scoring and Python tables", "publish"]
    assert lines[0].startswith("[ 1/5") and lines[-1].startswith("[ 5/5")
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def test_a_terminal_gets_one_line_rewritten_in_place():
    out = io.StringIO()
    p = Progress(out, total=2, tty=True)
    p.step("raw_landing")
    p.step("dbt_models")
    p.close()
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 3 and text.count("\n") == 1
    assert "dbt_models" in text and text.endswith("ran 2 steps in 0:00\n")
