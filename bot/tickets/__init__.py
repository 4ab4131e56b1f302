"""Helpdesk tickets: raised by employees in chat, worked by agents in the console.

Modules, one job each: `models` (tables), `categories` (service lines, wording, suggested
priority), `references` (gap-free numbering), `sla` (targets and due times on the business
calendar), `lifecycle` (status rules), `requester` (what an employee may do with their own
tickets), `agent` (what the console does), `notifications` (the outbox and its delivery through
Rasa's HTTP API), `worker` (the periodic loop), `demo` (demo tickets).
"""
