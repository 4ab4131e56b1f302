"""An employee's chat and an agent's console through the running web app, over HTTP only (the
system tests' client)."""
from __future__ import annotations

from typing import Any

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


def signed_in_agent(stack: StackProcess, password: str,
                    username: str = "priya.shah") -> tuple[requests.Session, str]:
    """An agent's console session (local sign-in with the stack's demo password) and its CSRF
    token."""
    agent = requests.Session()
    agent.headers["Origin"] = stack.web
    response = agent.post(f"{stack.web}/console/signin",
                          data={"username": username, "password": password},
                          allow_redirects=False)
    assert response.status_code == 303, response.text
    page = agent.get(f"{stack.web}/console").text
    return agent, page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def console_post(agent: requests.Session, csrf: str, stack: StackProcess, path: str,
                 **form: str) -> dict[str, Any]:
    """A console command, as console.js sends it; its JSON answer."""
    response = agent.post(f"{stack.web}{path}", data={**form, "csrf_token": csrf},
                          headers={"Accept": "application/json"}, allow_redirects=False)
    assert response.status_code == 200, response.text
    return response.json()
