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

TASK_FILTER = {
    "open": _l("Open (new, acknowledged, in progress)"),
    "new": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "resolved": _l("Resolved"),
    "rejected": _l("Rejected"),
    "all": _l("All"),
}

TASK_BUTTON = {
    "acknowledge": _l("Acknowledge"),
    "start": _l("Start work"),
    "resolve": _l("Resolve"),
    "reject": _l("Reject"),
}

READ_REASON = {
    "referral_intake": _l("Taking on the referral"),
    "follow_up": _l("Following the referral up"),
    "correction": _l("Correcting the record"),
    "own_record": _l("My own record"),
}

ROLE = {
    "field": _l("Field staff (phone)"),
    "department": _l("Department"),
    "supervisor": _l("Supervisor"),
    "admin": _l("Administrator"),
}

CHANNEL = {
    "inbox": _l("Inbox (this console, or the API)"),
    "webhook": _l("Webhook"),
    "email": _l("E-mail"),
}

DELIVERY_STATUS = {
    "pending": _l("Waiting"),
    "enqueued": _l("Being delivered"),
    "delivered": _l("Delivered"),
    "failed": _l("Failed"),
}

RECORD_KIND = {
    "contacts": _l("Contacts"),
    "presence_pings": _l("Presence pings"),
    "presence_events": _l("Presence events"),
    "presence_locations": _l("Positions of presence events"),
    "photos": _l("Photos"),
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

HINT_REFUSAL = {
    "closed": _l("the case named was closed"),
    "other_group": _l("the case named is of another kind"),
    "too_far": _l("the case named was too far away"),
    "unknown_case": _l("no such case"),
}

MERGE_RULE = {
    "within_radius": _l("Joined: within the category's radius and time window"),
    "within_accuracy": _l("Joined: within the radius widened by GPS accuracy"),
    "near_photo": _l("Joined: near, and the photos look alike"),
    "reporter_same": _l("Joined: the reporter said it is this case"),
    "no_candidate": _l("Started the case: no open case of its kind nearby"),
    "too_far": _l("Started the case: the nearest case was too far away"),
    "outside_window": _l("Started the case: the nearest case was too long ago"),
    "different_photo": _l("Started the case: near, but the photos differ"),
    "other_group": _l("Started the case: nearby cases are of another kind"),
    "case_resolved": _l("Started the case: the earlier case was resolved"),
    "reporter_distinct": _l("Started the case: the reporter said it is not the nearby case"),
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
    "invalid_transition": _l("The task has moved on meanwhile; this action no longer applies."),
    "reroute_to_self": _l("Choose another organisation than the one rejecting the task."),
    "unknown_organisation": _l(
        "There is no organisation of that name (or none active to route to)."
    ),
    "reroute_needs_reject": _l("Only a rejection routes a task elsewhere."),
    "task_not_found": _l("There is no such task, or you do not have access to it."),
    "contact_not_found": _l("The contact is gone (its retention period ended) or not yours."),
    "reason_not_allowed": _l("You may not give that reason for reading this contact."),
    "reason_required": _l("Say why you read this contact."),
    "email_taken": _l("Another user has this e-mail address."),
    "invalid_email": _l("This is not an e-mail address."),
    "email_required": _l("A console password needs an e-mail address to sign in with."),
    "weak_password": _l("The password is too short or too long (see below)."),
    "invalid_role": _l("There is no such role."),
    "organisation_not_found": _l("There is no such organisation."),
    "organisation_exists": _l("An organisation with this short name exists already."),
    "channel_incomplete": _l("The chosen channel lacks what it needs (see below)."),
    "webhook_url_not_allowed": _l("This webhook address may not be used."),
    "no_file": _l("Choose a rule file to upload."),
    "invalid_rule_set": _l("The rule set is not valid; nothing was changed."),
    "rule_set_version_not_newer": _l("Raise the version: it must be newer than the active one."),
    "delivery_not_failed": _l("Only a failed delivery can be retried."),
    "token_not_found": _l("There is no such token."),
    "user_not_found": _l("There is no such user."),
}


def deadline(policy: str) -> str:
    """A rule's deadline policy in words (``backend.routing.deadlines`` parses the same
    names; an unknown one is shown as it is)."""
    if policy == "immediate":
        return str(_l("at once (4 hours, any day)"))
    kind, _, rest = policy.partition("(")
    hours = rest.rstrip(")")
    if not hours.isdigit():
        return policy
    if kind == "working_hours":
        return str(_l("%(hours)s working hours", hours=hours))
    if kind == "hours":
        return str(_l("%(hours)s hours, any day", hours=hours))
    return policy


def name(table: dict[str, object], code: str | None) -> str:
    if code is None:
        return ""
    return str(table.get(code, code))


def category_label(category: Category | None, code: str, locale: str) -> str:
    if category is None:
        return code
    return category.label_en if locale == "en" else category.label_sv
