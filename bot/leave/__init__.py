"""Leave, in one place: balances (`balances`), booking, cancelling and following up a request
(`booking`), and a line manager's view and decisions (`team`). Every record is read and written
through the back-office port's absence area (bot/backoffice), whichever system holds it."""

from .balances import LeaveBalance, LeaveBalanceAnswer, my_leave_balances, summarise

__all__ = ["LeaveBalance", "LeaveBalanceAnswer", "my_leave_balances", "summarise"]
