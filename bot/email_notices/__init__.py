"""E-mail through GOV.UK Notify for what an employee has not seen in chat (issue 24, step 5).

What may be e-mailed: a ticket's status change or public comment (the ticket outbox), an agent's
reply in a handoff, and a decision on the employee's leave (the records outbox). `collect`
copies each into `email_notices` once (a unique key per source row); a notice is due
`EMAIL_AFTER_MINUTES` after it was made; `seen` marks the ones the employee's web chat showed
before then (they are never sent); `send` claims each due notice with a conditional UPDATE,
sends it through Notify's official client (template by id, the notice's key as Notify's
`reference`), and records Notify's id. A send whose outcome is unknown (a timeout) is looked up
by its reference before it is ever tried again, so nothing is sent twice. Employees opt out on
their "My queries" page. Logs carry notice ids and kinds, never an address or a text.
"""
