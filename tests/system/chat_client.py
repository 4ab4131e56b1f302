"""An employee's chat through the running web app, over HTTP only (the system tests' client)."""
from __future__ import annotations

import requests

from scripts.stack_process import StackProcess


def signed_in(stack: StackProcess, subject: str) -> requests.Session:
    """A browser-like session signed in through the dev sign-in as `subject`."""
    session = requests.Session()
    session.headers["Origin"] = stack.web
    response = session.post(f"{stack.web}/signin", data={"subject": subject},
                            allow_redirects=False)
    assert response.status_code == 303
    return session


def ask(session: requests.Session, stack: StackProcess, text: str,
        timeout: float = 120) -> list[str]:
    """Send one chat message; the texts of the assistant's replies."""
    response = session.post(f"{stack.web}/api/messages", json={"text": text}, timeout=timeout)
    assert response.status_code == 200, response.text
    return [message.get("text", "") for message in response.json()["messages"]]
