"""Translatable labels for the keys the science stores (segments, classes, stages, reasons).

The analytics core keeps stable English keys; people read these labels. English source strings
go through gettext; the eight and ten classes are Chinese business terms with an established
Chinese name, taken from the analytics data for zh-hans so the catalogue cannot drift from it.
"""

import math
from typing import Any

from django.utils import formats
from django.utils.functional import lazy
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from patron.analytics import clustering
from patron.analytics.classification import LIFECYCLE_STAGES, TEN_CLASSES, lifecycle_reason
from patron.analytics.classification import RULES as LIFECYCLE_RULES  # what the refresh classifies with
from patron.analytics.pipeline import PipelineOptions
from patron.analytics.rfm import CLASS8

# The window of the churn risk's outcome (no purchase within it): the refresh's default options.
CHURN_HORIZON_DAYS = PipelineOptions().horizon_days

RFM_SEGMENTS: dict[str, str] = {
    "champions": _("Champions"),
    "loyal_customers": _("Loyal customers"),
    "potential_loyalists": _("Potential loyalists"),
    "new_customers": _("New customers"),
    "promising": _("Promising"),
    "need_attention": _("Need attention"),
    "about_to_sleep": _("About to sleep"),
    "at_risk": _("At risk"),
    "cannot_lose_them": _("Cannot lose them"),
    "hibernating": _("Hibernating"),
}

_CLASS8_EN = {
    "important_value": _("Important value"),
    "important_develop": _("Important to develop"),
    "important_keep": _("Important to keep"),
    "important_retain": _("Important to win back"),
    "general_value": _("General value"),
    "general_develop": _("General to develop"),
    "general_keep": _("General to keep"),
    "general_retain": _("General to win back"),
}
_CLASS10_EN = {
    "high_frequency": _("High frequency"),
    "medium_frequency": _("Medium frequency"),
    "low_frequency": _("Low frequency"),
    "high_value": _("High value"),
    "medium_value": _("Medium value"),
    "low_value": _("Low value"),
    "prospect": _("Prospect"),
    "new": _("New customer"),
    "loyal": _("Loyal customer"),
    "churned": _("Churned customer"),
}
_LIFECYCLE_EN = {
    "prospect": _("Prospect"),
    "new": _("New"),
    "loyal": _("Loyal"),
    "occasional": _("Occasional"),
    "churned": _("Churned"),
}
_ZH = {c.key: c.name_zh for c in CLASS8}
_ZH10 = {c.key: c.name_zh for c in TEN_CLASSES}
_ZH_STAGE = dict(LIFECYCLE_STAGES)
CHINESE_NAMES: dict[str, dict[str, str]] = {"class8": _ZH, "classes": _ZH10, "lifecycle": _ZH_STAGE}

TIERS: dict[str, str] = {"low": _("Low"), "medium": _("Medium"), "high": _("High")}

CLUSTER_PHRASES: dict[str, str] = {
    "recent": _("recent"),
    "lapsed": _("lapsed"),
    "infrequent": _("infrequent"),
    "frequent": _("frequent"),
    "low_spend": _("low spend"),
    "high_spend": _("high spend"),
    "low_basket": _("small baskets"),
    "high_basket": _("large baskets"),
    "newly_acquired": _("newly acquired"),
    "long_standing": _("long-standing"),
    "one_time": _("one-time buyers"),
    "typical": _("typical customers"),
}

REASONS: dict[str, str] = {
    "gap_vs_usual": _("Longer gap than usual"),
    "long_inactive": _("Long inactive"),
    "few_purchases": _("Few purchases"),
    "frequency_down": _("Buying less often"),
    "spend_down": _("Spending less"),
    "low_p_alive": _("Low probability still active"),
    "low_expected_purchases": _("Few purchases expected"),
    "complaint": _("Complained"),
    "lost_contact": _("Lost contact"),
}

# What each RFM segment means, for the customer page's plain-language explanation.
SEGMENT_EXPLAINED: dict[str, str] = {
    "champions": _("Bought recently, buys often: the best customers."),
    "loyal_customers": _("Buys regularly and responds to attention."),
    "potential_loyalists": _("Recent customers buying more than once: could become loyal."),
    "new_customers": _("Bought for the first time recently."),
    "promising": _("Recent buyer, not yet frequent."),
    "need_attention": _("Average recency and frequency: may slip without contact."),
    "about_to_sleep": _("Below-average recency and frequency: losing touch."),
    "at_risk": _("Bought often, but not for a long time."),
    "cannot_lose_them": _("Used to buy very often, nothing lately: win them back."),
    "hibernating": _("Last bought long ago and rarely: likely lost."),
}


def days_ago(days: float) -> str:
    """How long ago, as the end of a sentence: "today", "yesterday", "3 days ago" (a purchase
    made the same day read "the last 0 days ago"). "the last today" reads wrong: the sentences
    say "most recently" before it."""
    days = round(days)
    if days <= 0:
        return gettext("today")
    if days == 1:
        return gettext("yesterday")
    return ngettext("%(days)s day ago", "%(days)s days ago", days) % {"days": days}


def purchases_text(score: Any) -> str:
    """A snapshot's purchases in a phrase: how many, their total and when the last was."""
    from django.template.defaultfilters import floatformat

    n = score.n_purchases
    if not n or score.days_since_last is None:
        return gettext("No purchase yet.")
    return ngettext("%(n)s purchase, %(spend)s in total, %(when)s",
                    "%(n)s purchases, %(spend)s in total, most recently %(when)s", n) % {
        "n": n, "spend": floatformat(score.total_spend, "0g"), "when": days_ago(score.days_since_last)}


def lifecycle_explained(score: Any) -> str:
    """Why a snapshot's customer is in its lifecycle stage, in a sentence with its figures."""
    rules = LIFECYCLE_RULES
    reason = lifecycle_reason(score.lifecycle, days_since_last=score.days_since_last, p_alive=score.p_alive,
                              rules=rules)
    if score.days_since_last is None and reason not in ("recent_first", "no_purchase"):
        return ""  # no figures to say it with
    days = round(score.days_since_last or 0)
    n = score.n_purchases
    if reason == "long_silence":
        return gettext("No purchase for %(days)s days: more than the %(limit)s days after which a customer "
                       "counts as churned.") % {"days": days, "limit": rules.churn_after_days}
    if reason == "unlikely_active":
        # The rule's two conditions in two sentences: the first's wording (and translation) predates
        # the minimum silence.
        return " ".join([
            gettext("The last purchase was %(days)s days ago, a long silence for how often this customer "
                    "used to buy: the purchase model gives %(p)s%% that they are still active, and below "
                    "%(limit)s%% a customer counts as churned.") % {
                "days": days, "p": _percent_below(score.p_alive), "limit": round(100 * rules.p_alive_threshold)},
            gettext("It does so only after more than %(silence)s days without a purchase.") % {
                "silence": rules.p_alive_min_silence_days}])
    if reason == "repeat_buyer" and _doubted_but_recent(score, rules):
        return gettext("Bought %(n)s times, most recently %(when)s. The purchase model already doubts they "
                       "are still active, but a customer who bought within %(silence)s days is not counted as "
                       "churned.") % {"n": n, "when": days_ago(days), "silence": rules.p_alive_min_silence_days}
    if reason == "recent_first":
        return ngettext("First bought within the last %(within)s days; %(n)s purchase so far.",
                        "First bought within the last %(within)s days; %(n)s purchases so far.", n) % {
            "within": rules.new_within_days, "n": n}
    if reason == "repeat_buyer":
        return gettext("Bought %(n)s times, most recently %(when)s.") % {"n": n, "when": days_ago(days)}
    if reason == "one_purchase":
        return gettext("One purchase, %(days)s days ago: no longer new, not yet a repeat buyer.") % {"days": days}
    if reason == "no_purchase":
        return gettext("No purchase yet.")
    return ""


def _doubted_but_recent(score: Any, rules: Any) -> bool:
    """A loyal customer whom P(alive) alone would call churned, were the silence long enough."""
    return (score.p_alive is not None and score.p_alive < rules.p_alive_threshold
            and score.days_since_last is not None and score.days_since_last <= rules.p_alive_min_silence_days)


def measures_explained(score: Any) -> str:
    """What the panel's two probabilities measure: shown side by side ("probability still active
    45%", "churn risk 40%") they read as contradicting each other, though they answer different
    questions of two models and need not add up to 100%."""
    if score.p_alive is None or score.churn_risk is None:
        return ""
    return gettext("Probability still active: the purchase model's chance that this customer has not stopped "
                   "buying for good. Churn risk: the churn model's chance of no purchase in the next %(days)s "
                   "days. They answer different questions and need not add up to 100%%.") % {
        "days": CHURN_HORIZON_DAYS}


def class8_explained(key: str) -> str:
    """What an eight-class label says: recency, frequency and total spend each against the
    average (the mean) of the customers; the frequency and value tiers cut them in thirds
    instead, so "high value" and a "general" class can both hold when spend is skewed."""
    found = next((c for c in CLASS8 if c.key == key), None)
    if found is None:
        return ""
    return gettext("Against the average customer: %(r)s, %(f)s, %(m)s.") % {
        "r": gettext("bought more recently") if found.r_high else gettext("bought less recently"),
        "f": gettext("buys more often") if found.f_high else gettext("buys less often"),
        "m": gettext("spent more in total") if found.m_high else gettext("spent less in total"),
    }


def _percent_below(share: float) -> int:
    """A share below the churn threshold as a whole percent, rounded as the panel's figures
    are (0.405 is 41%), but down where rounding would reach the threshold: 0.496 is 49%, never
    the 50% it is below."""
    shown, limit = round(100 * share), round(100 * LIFECYCLE_RULES.p_alive_threshold)
    return shown if shown < limit else math.floor(100 * share)


def p_alive_explained(score: Any) -> str:
    """Why a one-purchase customer reads 100% likely active beside a churn risk: the purchase
    model (BG/NBD) lets a customer drop out only after a repeat purchase, so it counts every
    one-purchase customer as active; the churn model weighs the time since."""
    if score.n_purchases != 1 or score.p_alive is None or score.p_alive < 0.995:
        return ""
    return gettext("With a single purchase, the purchase model cannot yet tell a quiet customer from a new one "
                   "and counts them as active; the churn risk weighs how long it has been since.")


def churned_of_value(score: Any) -> str:
    """For a customer of high value churned by the purchase model alone (recently active, but a
    long silence for them): why the lifetime value stays high, and what to do. Not for those
    silent past the limit: their lifetime value has fallen with their chance of being active."""
    if (score.value_tier != "high" or not score.clv or score.p_alive is None
            or lifecycle_reason(score.lifecycle, days_since_last=score.days_since_last, p_alive=score.p_alive,
                                rules=LIFECYCLE_RULES) != "unlikely_active"):
        return ""
    return gettext("Churned, yet of high value: the lifetime value (%(clv)s) counts what this customer would "
                   "still buy if active, and they bought so much that even a %(p)s%% chance leaves much to "
                   "expect. A win-back call is worth making now.") % {
        "clv": formats.number_format(round(score.clv), use_l10n=True, force_grouping=True),
        "p": _percent_below(score.p_alive)}


def _is_chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def _localized(english: dict, chinese: dict, key: str) -> str:
    if _is_chinese() and key in chinese:
        return chinese[key]
    return str(english.get(key, key))


_lazy_str = lazy(lambda english, chinese, key: _localized(english, chinese, key), str)


def class8_label(key: str) -> str:
    """The eight-class name: Chinese from the analytics data in zh-hans, English otherwise."""
    return _localized(_CLASS8_EN, _ZH, key)


def class10_label(key: str) -> str:
    return _localized(_CLASS10_EN, _ZH10, key)


def lifecycle_label(key: str) -> str:
    return _localized(_LIFECYCLE_EN, _ZH_STAGE, key)


def segment_label(key: str) -> str:
    return str(RFM_SEGMENTS.get(key, key))


def tier_label(key: str) -> str:
    return str(TIERS.get(key, key))


# The behaviour group's description as the analytics core writes it ("recent, infrequent, low
# spend"), phrase by phrase back to the keys above.
_CLUSTER_KEYS = {english: key for key, english in [*clustering.PHRASES.values(), clustering.ONE_TIME,
                                                   clustering.TYPICAL]}


def cluster_text(description: str) -> str:
    """A behaviour group's description in the active language (a phrase it does not know is
    left as it is)."""
    def said(phrase: str) -> str:
        return str(CLUSTER_PHRASES.get(_CLUSTER_KEYS.get(phrase, ""), phrase))

    out = []
    for phrase in filter(None, (p.strip() for p in (description or "").split(","))):
        lead = phrase.removesuffix(" " + clustering.ONE_TIME[1])  # "lapsed one-time buyers"
        out.append(said(phrase) if lead == phrase else
                   ("" if _is_chinese() else " ").join([said(lead), said(clustering.ONE_TIME[1])]))
    return ("、" if _is_chinese() else ", ").join(out)


def reason_label(key: str) -> str:
    return str(REASONS.get(key, key))


def label_for(kind: str, key: str) -> str:
    """The label of a key of one kind: rfm_segment, class8, classes, lifecycle, *_tier."""
    if kind == "class8":
        return class8_label(key)
    if kind in ("classes", "class10"):
        return class10_label(key)
    if kind == "lifecycle":
        return lifecycle_label(key)
    if kind == "rfm_segment":
        return segment_label(key)
    if kind.endswith("_tier"):
        return tier_label(key)
    return key


def choices(kind: str) -> list[tuple[str, object]]:
    """(key, lazy label) pairs for a form field, in the analytics order."""
    keys = {
        "rfm_segment": list(RFM_SEGMENTS),
        "class8": [c.key for c in CLASS8],
        "classes": [c.key for c in TEN_CLASSES],
        "lifecycle": [k for k, _z in LIFECYCLE_STAGES],
        "value_tier": list(TIERS),
        "frequency_tier": list(TIERS),
    }[kind]
    english = {"class8": _CLASS8_EN, "classes": _CLASS10_EN, "lifecycle": _LIFECYCLE_EN}.get(kind)
    chinese = {"class8": _ZH, "classes": _ZH10, "lifecycle": _ZH_STAGE}.get(kind)
    if english is None:
        source = RFM_SEGMENTS if kind == "rfm_segment" else TIERS
        return [(k, source[k]) for k in keys]
    return [(k, _lazy_str(english, chinese, k)) for k in keys]
