"""Domain exceptions raised by the helpdesk services; actions and the web app translate them."""


class HelpdeskError(Exception):
    """Base class of every error the services raise on purpose."""


class UnknownPrincipal(HelpdeskError):
    """The verified channel principal maps to no employee in the directory."""


class AccessRefused(HelpdeskError):
    """The caller may not see the record asked for."""
