"""HR and finance self-service records: the employee's own leave, pay, pension, personal
details and expenses, and the finance documents of their cost centre.

Modules, one business area each: `models` (tables), `port` (the back-office interface and its
SQL adapter), `access` (who may read what; every read audited), `pay`, `pension`,
`personal_details`, `expenses`, `finance_documents`, `leave_booking`, `sickness`, `dates`
(leave date phrases), `tax_codes`, `demo` (the demo organisation), `csv_import`.
"""
