"""Service insight: conversation facts, measures, satisfaction (issue 26)."""
