"""Value rules on hand-made purchase histories, no database: every lifecycle
stage transition at its edges (获客, 激活, 发展, 成熟, 流失 by each rule, 挽回 in
and out), tier cut points at the boundary, tags, bad rules refused with the
place named, and the sentiment lexicon's negation."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from c360.platform.value.bgnbd import BgNbd
from c360.platform.value.rfm import summarize
from c360.platform.value.rules import RuleError, load_rules, parse_rules
from c360.platform.value.scoring import Model, score
from c360.platform.value.sentiment import text_sentiment

NOW = 1000.0
RULES = load_rules()
NO_MODEL = Model(version=None, bgnbd=None, spend=None, cuts={})


def extra(n: int, **columns: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": np.full(n, "person", dtype=object),
        "risk_grade": np.full(n, "", dtype=object),
        "marketing_consent": np.zeros(n, dtype=bool),
        "online_orders": np.zeros(n),
        "store_orders": np.zeros(n),
        "previous_stage": np.full(n, "", dtype=object),
        "csat": np.full(n, np.nan),
        "sentiment": np.full(n, np.nan),
        **{k: np.full(n, "", dtype=object) for k in ("province", "city", "industry", "job_title")},
    }
    for name, values in columns.items():
        base[name] = np.asarray(values, dtype=base[name].dtype)
    return base


def stage_of(
    days_ago: list[float], previous: str = "", model: Model = NO_MODEL, amount: float = 100.0
) -> tuple[str, str]:
    """(stage, rule name) of one customer with orders ``days_ago`` before NOW."""
    n = len(days_ago)
    cust, day, amt = [1] * n, [NOW - d for d in days_ago], [amount] * n
    full = summarize(cust, day, amt, as_of=NOW, customers=[1])
    window = summarize(cust, day, amt, as_of=NOW, customers=[1], window_days=RULES.window_days)
    cuts = {k: float("nan") for k in RULES.cuts}
    scored = score(full, window, model, RULES, extra(1, previous_stage=[previous]), cuts=cuts)
    return str(scored.stage[0]), RULES.stages[int(scored.stage_rule[0])]["name"]


def test_no_purchase_is_acquisition() -> None:
    assert stage_of([]) == ("获客", "no_purchase")


@pytest.mark.parametrize(("tenure", "stage"), [(0, "激活"), (90, "激活"), (91, "发展")])
def test_activation_lasts_90_days_from_the_first_purchase(tenure: float, stage: str) -> None:
    assert stage_of([tenure])[0] == stage


def test_single_purchase_churns_after_180_days() -> None:
    assert stage_of([180]) == ("发展", "developing")
    assert stage_of([181]) == ("流失", "churned_single_purchase")


def test_churn_past_three_times_the_customers_own_rhythm() -> None:
    # buys every 20 days, last 4 purchases: 60 days after the last is 3x (not beyond)
    rhythm = [60 + 20 * k for k in range(4)]
    assert stage_of(rhythm)[0] != "流失"
    assert stage_of([r + 1 for r in rhythm]) == ("流失", "churned_past_rhythm")


def test_rhythm_churn_needs_more_than_30_days() -> None:
    # every 5 days; 25 days since the last is 5x the rhythm, but within 30 days
    quick = [25 + 5 * k for k in range(3)]
    assert stage_of(quick)[0] != "流失"
    assert stage_of([31 + 5 * k for k in range(3)]) == ("流失", "churned_past_rhythm")


def test_churn_when_p_alive_is_low() -> None:
    cdnow = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    model = Model(version=1, bgnbd=cdnow, spend=None, cuts={})
    # a frequent buyer long silent: P(alive) tiny, though within the single-purchase window
    history = [170, 171, 172, 173, 174, 175]
    assert stage_of(history, model=model) == ("流失", "churned_not_alive")
    assert stage_of([0, 1, 2], model=model)[0] != "流失"


def test_mature_needs_four_purchases_a_year_of_tenure_and_a_steady_pace() -> None:
    steady = [10, 100, 190, 280, 365]  # 5 occasions, tenure 365 days
    assert stage_of(steady) == ("成熟", "mature")
    assert stage_of([10, 100, 190, 364]) == ("发展", "developing")  # tenure 364
    assert stage_of([10, 190, 365]) == ("发展", "developing")  # 3 occasions only
    # one purchase in the last half-year against four before it: slowing down by more than half
    slowing = [100, 190, 250, 300, 365]
    assert stage_of(slowing)[0] == "发展"


def test_win_back_after_churn_and_its_end() -> None:
    history = [0, 300]  # churned (single purchase 300 days ago), now bought again
    assert stage_of(history, previous="流失") == ("挽回", "won_back")
    assert stage_of(history, previous="发展")[0] == "发展"  # never churned: no win-back
    assert stage_of([90, 300], previous="挽回")[0] == "挽回"  # 90 days on: still
    assert stage_of([91, 300], previous="挽回")[0] == "发展"  # 91: back to the rules
    assert stage_of([300], previous="流失")[0] == "流失"  # no return: stays churned


def test_tiers_at_the_cut_points() -> None:
    n = 4
    cust = [0, 1, 2, 3, 3]
    day = [NOW - 10, NOW - 10, NOW - 10, NOW - 100, NOW - 10]
    amount = [800.0, 799.99, 50.0, 10.0, 10.0]
    full = summarize(cust, day, amount, as_of=NOW, customers=range(n))
    window = summarize(cust, day, amount, as_of=NOW, customers=range(n), window_days=365)
    cuts = {"clv_p80": np.nan, "clv_p60": np.nan, "monetary_p80": 800.0, "monetary_p50": 100.0}
    scored = score(full, window, NO_MODEL, RULES, extra(n), cuts=cuts)
    # 0 at the spend cut; 1 just under it; 2 a first purchase (not "rising");
    # 3 a repeat buyer, both purchases in the recent half-year, spending little
    assert list(scored.tier) == ["高价值", "普通", "普通", "潜力"]
    days = [NOW - 300, NOW - 10, NOW - 5]
    rising = summarize([3, 3, 3], days, [5.0] * 3, as_of=NOW, customers=[3])
    w = summarize([3, 3, 3], days, [5.0] * 3, as_of=NOW, customers=[3], window_days=365)
    assert score(rising, w, NO_MODEL, RULES, extra(1), cuts=cuts).tier[0] == "潜力"


def test_tags_from_rules_on_attributes() -> None:
    full = summarize([], [], [], as_of=NOW, customers=[1, 2])
    columns = extra(
        2,
        marketing_consent=[True, False],
        risk_grade=["E", "A"],
        kind=["organization", "person"],
        csat=[2.0, 5.0],
    )
    scored = score(full, full, NO_MODEL, RULES, columns, cuts={k: np.nan for k in RULES.cuts})
    assert scored.tags_of(0) == ["营销已授权", "高风险", "企业客户", "不满意"]
    assert scored.tags_of(1) == []


def test_bad_rules_are_refused_naming_the_place() -> None:
    doc = copy.deepcopy(RULES.document)
    doc["stages"][1]["when"]["op"] = "around"
    with pytest.raises(RuleError, match=r"rules.stages\[1\].when.op: 'around'"):
        parse_rules(doc)
    doc = copy.deepcopy(RULES.document)
    doc["tiers"][0]["tier"] = "VIP"
    with pytest.raises(RuleError, match=r"rules.tiers\[0\].tier: 'VIP' is not one of"):
        parse_rules(doc)
    doc = copy.deepcopy(RULES.document)
    doc["stages"].pop()
    with pytest.raises(RuleError, match="the last rule must always hold"):
        parse_rules(doc)
    doc = copy.deepcopy(RULES.document)
    doc["rfm"]["window_days"] = 0
    with pytest.raises(RuleError, match="window_days"):
        parse_rules(doc)


def test_sentiment_lexicon_reads_negation_and_intensifiers() -> None:
    assert text_sentiment("非常满意") > text_sentiment("满意") > 0  # type: ignore[operator]
    assert text_sentiment("不满意") < 0  # type: ignore[operator]
    assert text_sentiment("不差") > 0  # type: ignore[operator]
    assert text_sentiment("今天下雨") is None


def test_no_clv_before_the_first_purchase() -> None:
    model = Model(
        version=1, bgnbd=BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426), spend=None, cuts={}
    )
    full = summarize([2], [NOW - 5], [10.0], as_of=NOW, customers=[1, 2])
    cuts = {k: np.nan for k in RULES.cuts}
    columns = score(full, full, model, RULES, extra(2), cuts=cuts).columns
    assert np.isnan(columns["p_alive"][0]) and np.isnan(columns["expected_purchases_90d"][0])
    assert columns["p_alive"][1] == 1.0 and columns["expected_purchases_90d"][1] > 0
