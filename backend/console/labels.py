"""Names for people of the codes the services use (statuses, contact vocabularies, reasons).

A code without a name here is shown as it is, so a new code never breaks a page; the catalogue
test (tests/unit/test_console_i18n.py) checks that every name has its Swedish translation.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from backend.reference.models import Category

CASE_STATUS = {
    "open": _l("Open"),
    "resolved": _l("Resolved"),
    "merged": _l("Merged"),
}

TASK_STATUS = {
    "new": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "resolved": _l("Resolved"),
    "rejected": _l("Rejected"),
}

TASK_ACTION = {
    "routed": _l("Routed"),
    "acknowledge": _l("Acknowledged"),
    "start": _l("Started"),
    "resolve": _l("Resolved"),
    "reject": _l("Rejected"),
    "merged": _l("Closed: case merged"),
}

PRIORITY = {
    "urgent": _l("Urgent"),
    "high": _l("High"),
    "normal": _l("Normal"),
    "low": _l("Low"),
}

MERGE_RULE = {
    "within_radius": _l("Joined: within the category's radius and time window"),
    "within_accuracy": _l("Joined: within the radius widened by GPS accuracy"),
    "near_photo": _l("Joined: near, and the photos look alike"),
    "no_candidate": _l("Started the case: no open case of its kind nearby"),
    "too_far": _l("Started the case: the nearest case was too far away"),
    "outside_window": _l("Started the case: the nearest case was too long ago"),
    "different_photo": _l("Started the case: near, but the photos differ"),
    "other_group": _l("Started the case: nearby cases are of another kind"),
    "case_resolved": _l("Started the case: the earlier case was resolved"),
    "split": _l("Moved here by a split"),
    "merge": _l("Moved here by a merge"),
}

CONTACT_TYPE = {
    "conversation": _l("Conversation"),
    "information": _l("Information"),
    "referral": _l("Referral"),
    "first_aid": _l("First aid"),
    "emergency_call": _l("Emergency call"),
}

AGE_GROUP = {
    "under-18": _l("Under 18"),
    "18-25": "18–25",
    "26-40": "26–40",
    "41-64": "41–64",
    "65+": _l("65 and over"),
    "unknown": _l("Unknown"),
}

NEED = {
    "housing": _l("Housing"),
    "food": _l("Food"),
    "health": _l("Health"),
    "mental_health": _l("Mental health"),
    "substance_use": _l("Substance use"),
    "safety": _l("Safety"),
    "financial": _l("Money"),
    "employment": _l("Work"),
    "other": _l("Other"),
    "none": _l("No need stated"),
}

ERROR = {
    "report_not_in_case": _l("A chosen report is no longer in this case."),
    "split_leaves_case_empty": _l("A split must leave at least one report in the case."),
    "merge_into_itself": _l("A case cannot be merged into itself."),
    "case_not_found": _l("There is no such case, or you do not have access to it."),
    "case_resolved": _l("The case is resolved; a new report starts a new case."),
    "case_merged": _l("The case has been merged into another; correct that one."),
    "not_responsible": _l("Only the organisation working the case may correct it."),
    "validation_error": _l("Some of the values are not valid."),
}


def name(table: dict[str, object], code: str | None) -> str:
    if code is None:
        return ""
    return str(table.get(code, code))


def category_label(category: Category | None, code: str, locale: str) -> str:
    if category is None:
        return code
    return category.label_en if locale == "en" else category.label_sv
