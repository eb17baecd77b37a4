"""Who may do what: one table, checked by every service call and rendered into the docs.

Roles are per company (``admin``, ``monitor``, ``compliance``, ``user``); a server
administrator may do everything in every company. An agent API key acts as the agent's
caller: it may open conversations with that one agent and read the ones it opened. Some
operations also have an ownership rule on top (a ``user`` reads only their own
conversations; anyone opens conversations only with agents they can use).
"""

from __future__ import annotations

from typing import Literal

Role = Literal["admin", "monitor", "compliance", "user"]
ROLES: tuple[Role, ...] = ("admin", "monitor", "compliance", "user")
COLUMNS: tuple[str, ...] = (*ROLES, "api_key", "server_admin")

_ALL: frozenset[str] = frozenset(ROLES)
_STAFF: frozenset[str] = frozenset({"admin", "monitor", "compliance"})
_ADMIN: frozenset[str] = frozenset({"admin"})
_NOBODY: frozenset[str] = frozenset()

PERMISSIONS: dict[str, frozenset[str]] = {
    "companies.create": _NOBODY,
    "companies.list": _NOBODY,
    "companies.delete": _NOBODY,
    "companies.read": _ALL,
    "companies.update": _ADMIN,
    "companies.read_provider_settings": _ADMIN,
    "companies.write_provider_settings": _ADMIN,
    "companies.read_scanner_defaults": _STAFF,
    "companies.write_scanner_defaults": _ADMIN,
    "users.invite": _ADMIN,
    "users.list": _STAFF,
    "users.read": _STAFF,
    "users.update": _ADMIN,
    "users.delete": _ADMIN,
    "users.assign_agents": _ADMIN,
    "users.set_default_agent": _ADMIN,
    "groups.read": _STAFF,
    "groups.write": _ADMIN,
    "agents.list_available": _ALL | {"api_key"},
    "agents.read": _STAFF,
    "agents.write": _ADMIN,
    "agents.templates": _ADMIN,
    "agents.manage_defaults": _NOBODY,
    "agents.read_files": _STAFF,
    "agents.write_files": _ADMIN,
    "api_keys.manage": _ADMIN,
    "conversations.open": _ALL | {"api_key"},
    "conversations.read_own": _ALL | {"api_key"},
    "conversations.read_any": _STAFF,
    "conversations.delete": _ADMIN,
    "audit.read": frozenset({"admin", "compliance"}),
    "audit.verify": frozenset({"admin", "compliance"}),
    "archive.run": _ADMIN,
    "archive.read": frozenset({"admin", "compliance"}),
    "archive.restore": _ADMIN,
    "secrets.read_names": _ADMIN,
    "secrets.write": _ADMIN,
}

DESCRIPTIONS: dict[str, str] = {
    "companies.create": "create a company",
    "companies.list": "list every company",
    "companies.delete": "delete a company",
    "companies.read": "read own company's general information",
    "companies.update": "edit general information, storage policy, retention",
    "companies.read_provider_settings": "see provider settings (credentials masked)",
    "companies.write_provider_settings": "set company-wide engine credentials",
    "companies.read_scanner_defaults": "read Agent Scanner Defaults",
    "companies.write_scanner_defaults": "edit Agent Scanner Defaults",
    "users.invite": "invite a user (single-use, expiring token)",
    "users.list": "list users",
    "users.read": "read any user (everyone may read themselves)",
    "users.update": "change a user's role, name or status",
    "users.delete": "delete a user",
    "users.assign_agents": "assign or unassign agents to a user",
    "users.set_default_agent": "set a user's default agent (users may set their own)",
    "groups.read": "list and read groups",
    "groups.write": "create/delete groups, add/remove members and agents",
    "agents.list_available": "list the agents one may use (own, groups', defaults)",
    "agents.read": "list and read every agent of the company",
    "agents.write": "create, edit, delete agents; create from a template",
    "agents.templates": "list templates and server default agents",
    "agents.manage_defaults": "create server-wide templates and default agents",
    "agents.read_files": "list an agent's files",
    "agents.write_files": "attach and remove an agent's files",
    "api_keys.manage": "create, list and revoke agent API keys",
    "conversations.open": "open a conversation with an agent one may use",
    "conversations.read_own": "list, read and resume one's own conversations",
    "conversations.read_any": "read every conversation of the company",
    "conversations.delete": "delete a conversation",
    "audit.read": "query the audit log",
    "audit.verify": "verify the audit hash chain",
    "archive.run": "archive conversations past the retention period",
    "archive.read": "list archives and read archived conversations",
    "archive.restore": "restore archived conversations",
    "secrets.read_names": "list secrets (names only, never values)",
    "secrets.write": "create, replace and delete secrets",
}


def allowed(operation: str, role: str | None, *, server_admin: bool = False) -> bool:
    """Whether ``role`` may perform ``operation`` (server administrators may do anything)."""
    if operation not in PERMISSIONS:
        raise KeyError(f"unknown operation {operation!r}")
    return server_admin or (role is not None and role in PERMISSIONS[operation])


def matrix_markdown() -> str:
    """The permission matrix as a Markdown table (docs/workspace.md embeds this)."""
    header = "| operation | what | " + " | ".join(COLUMNS) + " |"
    rule = "|---|---|" + "---|" * len(COLUMNS)
    rows = [header, rule]
    for operation in PERMISSIONS:
        cells = [
            "yes"
            if allowed(operation, column if column != "server_admin" else None, server_admin=column == "server_admin")
            else "no"
            for column in COLUMNS
        ]
        rows.append(f"| `{operation}` | {DESCRIPTIONS[operation]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
