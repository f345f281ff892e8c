"""The daily-cost targets are judged from the harness's figures, and README.md's Scale
table is the one the committed results give."""

from benchmarks.targets import README, evaluate, readme_section


def _size(wall: float, floor: float, nxt: float, models: dict, next_models: dict,
          **steps: float) -> dict:
    return {"full": {"wall_s": wall, "floor_s": floor, "ratio_to_floor": wall / floor,
                     "peak_rss_mb": 5000,
                     "stages": {"dbt_models_total_s": sum(models.values()), "steps": steps,
                                "dbt_models": models},
                     "next_day": {"wall_s": nxt, "stages": {"dbt_models": next_models,
                                                            "steps": {"churn_scores": 1.5}}}}}


def test_targets_are_met_missed_or_not_measured_from_the_figures():
    s10 = _size(200.0, 3.0, 40.0, {"a": 20.0, "b": 2.0}, {"a": 3.0, "b": 0.5},
                raw_landing=6.0, churn_scores=20.0)
    s10["full_180d"] = {"next_day": {"wall_s": 39.0, "stages": {"dbt_models": {"a": 2.5,
                                                                              "b": 0.5}}}}
    results = {"sizes": {"10M": s10},
               "tiny": {"rerun_s": 36.0, "startup_floor_s": 6.0}}
    by_name = {t.name: t for t in evaluate(results)}
    assert by_name["1. marginal day, 10 M events / 365 days"].figure == "4.0 s"
    assert by_name["1. marginal day, 10 M events / 365 days"].status == "met"
    assert by_name["1. marginal day, 100 M events"].status == "not measured"
    assert by_name["2. history independence"].status == "met"  # 1 s
    assert by_name["2. no model grows with history"].figure == "0.50 s"  # model a
    assert by_name["2. no model grows with history"].status == "missed"
    assert by_name["3. fixed cost"].figure == "6.0x"
    assert by_name["4. SQL work, 10 M full run"].figure == "7.3x"
    assert by_name["4. SQL work, 10 M full run"].status == "met"
    assert by_name["4. landing, 10 M full run"].status == "met"  # 2.0x
    assert by_name["5. churn, 10 M full run"].status == "missed"
    assert by_name["5. churn, 10 M next day"].status == "met"
    assert by_name["5. CDNOW 546-day backfill"].status == "not measured"
    assert by_name["7. a big day"].status == "not measured"


def test_the_worst_model_judges_scale_and_small_models_do_not():
    s10 = _size(100.0, 2.0, 30.0, {"a": 10.0, "tiny": 0.1}, {})
    s100 = _size(1000.0, 20.0, 60.0, {"a": 180.0, "tiny": 5.0}, {})
    by_name = {t.name: t for t in evaluate({"sizes": {"10M": s10, "100M": s100}})}
    # a: 18x for a floor of 10x = 1.8 (tiny, under a second at 10 M, is not judged)
    assert by_name["6. every model scales with the floor"].figure == "1.80x (worst model)"
    assert by_name["6. every model scales with the floor"].status == "missed"
    assert by_name["6. linear scale"].status == "met"  # 50x against 50x


def test_readme_scale_table_matches_the_committed_results():
    assert readme_section() in README.read_text(), (
        "README.md's Scale table is stale: uv run python -m benchmarks.targets --readme")
