"""The three ways a task reaches an organisation, behind one small interface.

A channel's ``send`` either returns (delivered), raises ``DeliveryError`` (a later attempt may
succeed) or ``DestinationRefused`` (no attempt can succeed until an admin changes the
organisation). The inbox is the exception that makes the interface honest: its delivery *is*
the database change, so it is done inside the job's transaction (``in_transaction``) and a
worker killed mid-job leaves either the old state or the delivered one.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from backend.delivery import webhook
from backend.delivery.event import Event
from backend.delivery.webhook import DeliveryError, DestinationRefused


@dataclass(frozen=True)
class Destination:
    """The organisation's channel settings, read when the attempt starts."""

    slug: str
    webhook_url: str | None
    webhook_secret: str | None
    email: str | None


class Channel(Protocol):
    in_transaction: bool

    def send(self, event: Event, destination: Destination, config: Mapping[str, Any]) -> None: ...


class InboxChannel:
    """The department pulls its tasks through the API: a delivered row is visible there. Its
    delivery is the row's change alone, so a job delivers many inbox rows with one UPDATE
    (``jobs._deliver_together``) without calling ``send``."""

    in_transaction = True

    def send(self, event: Event, destination: Destination, config: Mapping[str, Any]) -> None:
        return None


class WebhookChannel:
    in_transaction = False

    def send(self, event: Event, destination: Destination, config: Mapping[str, Any]) -> None:
        if not destination.webhook_url or not destination.webhook_secret:
            raise DestinationRefused(
                f"{destination.slug} has channel webhook but no webhook_url or webhook_secret"
            )
        webhook.post(
            destination.webhook_url,
            msg_id=str(event.delivery_id),
            timestamp=int(time.time()),
            body=event.body(),
            secret=destination.webhook_secret,
            timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
            allowed_hosts=tuple(config["WEBHOOK_ALLOWED_HOSTS"]),
        )


class EmailChannel:
    in_transaction = False

    def send(self, event: Event, destination: Destination, config: Mapping[str, Any]) -> None:
        if not destination.email:
            raise DestinationRefused(f"{destination.slug} has channel email but no email")
        message = EmailMessage()
        message["From"] = config["SMTP_FROM"]
        message["To"] = destination.email
        message["Subject"] = f"Samverkan Field: {event.type} ({event.subject_type})"
        # The same thin content as a webhook: a link to follow with the department's login.
        message["Message-ID"] = f"<{event.delivery_id}@samverkan-field>"
        message.set_content(
            f"{event.type} for {event.organisation}.\n\n"
            f"Open it in Samverkan Field: {event.link}\n\n"
            f"delivery {event.delivery_id}\n"
        )
        try:
            with smtplib.SMTP(
                config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["WEBHOOK_TIMEOUT_SECONDS"]
            ) as smtp:
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DestinationRefused(f"the mail server refused {destination.email}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:300]) from exc


CHANNELS: dict[str, Channel] = {
    "inbox": InboxChannel(),
    "webhook": WebhookChannel(),
    "email": EmailChannel(),
}

IN_TRANSACTION = tuple(name for name, channel in CHANNELS.items() if channel.in_transaction)
"""The channels whose delivery is the row's change (the inbox): the relay batches their rows
into one job per organisation, and the job delivers them with one UPDATE."""
