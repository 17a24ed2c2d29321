"""Roles and what each may do; one table a reviewer reads on one screen."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal[
    "admin",
    "duty_officer",
    "supervisor",
    "grid_worker",
    "fire_station",
    "maintenance",
    "viewer",
]
ROLES: tuple[str, ...] = get_args(Role)

# Who may do what (besides seeing the alarm, which `visibility` decides per alarm).
Permission = Literal[
    "alarm.act",  # ack / decline / arrived / resolve an alarm they can see
    "alarm.reassign",
    "broadcast",
    "roster.write",
    "care.plan",
    "care.visit",
    "audit.read",
    "users.admin",
    "site.all",  # sees every alarm of their site
]
GRANTS: dict[str, frozenset[str]] = {
    "admin": frozenset(get_args(Permission)),
    "duty_officer": frozenset(
        {"alarm.act", "alarm.reassign", "broadcast", "roster.write", "care.plan", "care.visit"}
        | {"audit.read", "site.all"}
    ),
    "supervisor": frozenset(
        {"alarm.act", "alarm.reassign", "broadcast", "roster.write", "care.plan", "care.visit"}
        | {"audit.read", "site.all"}
    ),
    "grid_worker": frozenset({"alarm.act", "care.visit"}),
    "fire_station": frozenset({"alarm.act"}),
    "maintenance": frozenset({"alarm.act"}),
    "viewer": frozenset({"site.all"}),
}
# The alarm class a role sees in its whole site besides alarms paged to it (None: by grid).
CLASS_OF_ROLE: dict[str, str] = {"fire_station": "fire", "maintenance": "trouble"}


def allowed(role: str, permission: Permission) -> bool:
    """Return True if `role` holds `permission`."""
    return permission in GRANTS.get(role, frozenset())
