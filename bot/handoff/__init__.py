"""Human handoff: the queue, the transcript, agent accounts and the widget outbox.
"""
