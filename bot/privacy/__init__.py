"""Data protection: retention, subject access, erasure and rectification, reading the audit trail.

- `retention`: the retention schedule (`HELPDESK_RETENTION`), applied by the ticket worker and
  `python -m bot.cli retention --run`;
- `subject_access`, `erasure`: data subject requests (`sar-export`, `erase`, `rectify`, and the
  console's Data protection page);
- `audit_trail`, `db_roles`: searching, exporting and verifying the audit trail; the
  application's insert-only role on PostgreSQL;
- `cli`: those commands of `python -m bot.cli`.
Redaction itself is `bot.redaction`. What the helpdesk holds, where, why, for how long and who
sees it: docs/data-protection.md.
"""
