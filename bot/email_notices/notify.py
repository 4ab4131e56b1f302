"""GOV.UK Notify through its official Python client (notifications-python-client).

`NOTIFY_API_KEY` is the key Notify issues ("<name>-<service id>-<secret>"); the client signs
each request with a JWT (HS256, `iss` = the service id, `iat` = now) and posts to
`{NOTIFY_BASE_URL}/v2/notifications/email`. Templates are Notify's, by id; this sends only
their personalisation (a first name, what happened, the query's reference and links). The
notice's key goes as Notify's `reference`, which is how an unconfirmed send is looked up before
it is ever tried again.
"""
from __future__ import annotations

import requests
from notifications_python_client.errors import APIError, HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from .service import SendRefused, SendUnknown

PUBLIC_NOTIFY = "https://api.notifications.service.gov.uk"
TIMEOUT_SECONDS = 10


class NotifyMailer:
    def __init__(self, api_key: str, base_url: str = PUBLIC_NOTIFY,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self.client = NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout)

    @staticmethod
    def _failure(error: Exception) -> Exception:
        status = getattr(error, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and status != 429:
            return SendRefused(f"notify {status}")
        return SendUnknown(type(error).__name__)

    def send(self, address: str, template_id: str, personalisation: dict[str, str],
             reference: str) -> str:
        try:
            answer = self.client.send_email_notification(
                email_address=address, template_id=template_id,
                personalisation=personalisation, reference=reference)
        except (HTTPError, APIError) as error:
            raise self._failure(error) from None
        except requests.RequestException as error:
            raise SendUnknown(type(error).__name__) from None
        notify_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(notify_id, str):
            raise SendUnknown("no id in Notify's answer")
        return notify_id

    def sent_with_reference(self, reference: str) -> str | None:
        try:
            answer = self.client.get_all_notifications(template_type="email",
                                                       reference=reference)
        except (HTTPError, APIError) as error:
            raise self._failure(error) from None
        except requests.RequestException as error:
            raise SendUnknown(type(error).__name__) from None
        found = [n for n in answer.get("notifications", []) if n.get("reference") == reference]
        return found[0]["id"] if found else None
