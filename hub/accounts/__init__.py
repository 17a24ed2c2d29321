"""People who use the hub: accounts and roles, tokens and page sessions, who may see what, audit.

`Accounts` owns users and their tokens (argon2 password hashes; only a token's SHA-256 is
stored, so a stolen database holds no usable token). `Principal` is who a request acts as;
`visibility` says which alarms a principal may see and act on. Every write is `audit`ed.
"""

from hub.accounts.principal import Principal
from hub.accounts.roles import ROLES, Role
from hub.accounts.service import AccountError, Accounts

__all__ = ["ROLES", "AccountError", "Accounts", "Principal", "Role"]
