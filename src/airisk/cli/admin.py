"""Bootstrap and run a deployment without the API: ``init``, ``db upgrade``, ``clients``, ``agents``, ``users``.

Every command opens the database named by ``--database-url`` or AIRISK_DATABASE_URL and
acts as the server administrator (the first one created by ``airisk init``).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

DEFAULT_DB = "airisk.db"


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", help="SQLite path or PostgreSQL URL (default: AIRISK_DATABASE_URL)")


def register(subparsers: Any) -> None:
    init = subparsers.add_parser("init", help="create the database, the first company and its admin")
    _db(init)
    init.add_argument("--company", required=True, help="name of the first company")
    init.add_argument("--admin-email", required=True, help="email of the server administrator")
    init.set_defaults(handler=run_init)

    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="apply Alembic migrations up to the latest schema")
    _db(upgrade)
    upgrade.set_defaults(handler=run_upgrade)

    clients = subparsers.add_parser("clients", help="OAuth2 API clients")
    clients_sub = clients.add_subparsers(dest="clients_command", metavar="ACTION")
    create = clients_sub.add_parser("create", help="register an API client; prints its id and secret once")
    _db(create)
    create.add_argument("--company", required=True, help="company id or name")
    create.add_argument("--redirect-uri", action="append", default=[], help="exact redirect URI (repeatable)")
    create.add_argument("--name", default="")
    create.add_argument("--scope", default="chat scan admin")
    create.add_argument(
        "--role",
        default="admin",
        choices=["admin", "monitor", "compliance", "user"],
        help="role of the client's service account (what generic tokens may do)",
    )
    create.set_defaults(handler=run_clients_create)
    listing = clients_sub.add_parser("list", help="list a company's API clients (never their secrets)")
    _db(listing)
    listing.add_argument("--company", required=True, help="company id or name")
    listing.set_defaults(handler=run_clients_list)
    revoke = clients_sub.add_parser("revoke", help="revoke an API client: its tokens stop working at once")
    _db(revoke)
    revoke.add_argument("client_id")
    revoke.set_defaults(handler=run_clients_revoke)

    agents = subparsers.add_parser("agents", help="agents")
    agents_sub = agents.add_subparsers(dest="agents_command", metavar="ACTION")
    agent = agents_sub.add_parser("create", help="create an agent (from flags or from a template)")
    _db(agent)
    agent.add_argument("--company", required=True, help="company id or name")
    agent.add_argument("--name", required=True)
    agent.add_argument("--engine", default="echo")
    agent.add_argument("--engine-settings", default="{}", help="JSON object")
    agent.add_argument("--system-prompt")
    agent.add_argument("--policy", help="scanner policy file (YAML/JSON) or built-in name")
    agent.add_argument("--template", help="create from this template id instead")
    agent.set_defaults(handler=run_agents_create)

    users = subparsers.add_parser("users", help="users")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION")
    user = users_sub.add_parser("create", help="create an active user (prints its id)")
    _db(user)
    user.add_argument("--company", required=True, help="company id or name")
    user.add_argument("--email", required=True)
    user.add_argument("--role", default="user", choices=["admin", "monitor", "compliance", "user"])
    user.add_argument("--agent", action="append", default=[], help="agent id the user may use (repeatable)")
    user.set_defaults(handler=run_users_create)


def _url(args: argparse.Namespace) -> str:
    return args.database_url or os.environ.get("AIRISK_DATABASE_URL") or DEFAULT_DB


def _root(ws: Any) -> Any:
    from sqlalchemy import select

    from airisk.errors import ConfigurationError
    from airisk.store.models import User

    with ws.store.read() as session:
        user_id = session.scalar(
            select(User.id).where(User.server_admin.is_(True), User.status == "active").order_by(User.created_at)
        )
    if user_id is None:
        raise ConfigurationError("no server administrator yet: run `airisk init` first")
    return ws.as_actor(user_id)


def _company(ws: Any, name_or_id: str) -> str:
    from sqlalchemy import or_, select

    from airisk.errors import ConfigurationError
    from airisk.store.models import Company

    with ws.store.read() as session:
        ids = list(session.scalars(select(Company.id).where(or_(Company.id == name_or_id, Company.name == name_or_id))))
    if len(ids) != 1:
        raise ConfigurationError(f"no single company named or with id {name_or_id!r}")
    return str(ids[0])


def _open(args: argparse.Namespace) -> Any:
    from airisk.workspace import Workspace

    return Workspace(_url(args))


def run_upgrade(args: argparse.Namespace) -> int:
    from airisk.store import current_revision, upgrade

    upgrade(_url(args))
    print(f"database at revision {current_revision(_url(args))}")
    return 0


def run_init(args: argparse.Namespace) -> int:
    from airisk.workspace import CompanyCreate

    with _open(args) as ws:
        admin = ws.create_server_admin(args.admin_email)
        company = ws.as_actor(admin).companies.create(CompanyCreate(name=args.company))
        print(json.dumps({"company_id": company.id, "admin_user_id": admin.id}))
    return 0


def run_clients_create(args: argparse.Namespace) -> int:
    from airisk.oauth.registry import create_client

    with _open(args) as ws:
        root = _root(ws)
        created = create_client(
            ws,
            root,
            company_id=_company(ws, args.company),
            redirect_uris=args.redirect_uri,
            name=args.name,
            scope=args.scope,
            role=args.role,
        )
        print(
            json.dumps(
                {
                    "client_id": created.client_id,
                    "client_secret": created.client_secret,
                    "redirect_uris": created.redirect_uris,
                    "scope": created.scope,
                }
            )
        )
        print("# the secret is shown only now; store it safely", flush=True)
    return 0


def run_clients_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from airisk.oauth.models import OAuthClient

    with _open(args) as ws:
        company = _company(ws, args.company)
        with ws.store.read() as session:
            rows = session.scalars(select(OAuthClient).where(OAuthClient.company_id == company))
            for row in rows:
                print(
                    json.dumps(
                        {
                            "client_id": row.id,
                            "name": row.name,
                            "redirect_uris": row.redirect_uris,
                            "scope": row.scope,
                            "revoked": row.revoked_at is not None,
                        }
                    )
                )
    return 0


def run_clients_revoke(args: argparse.Namespace) -> int:
    from airisk.errors import ConfigurationError
    from airisk.oauth.models import OAuthClient
    from airisk.store.models import utcnow

    with _open(args) as ws:
        with ws.store.write() as session:
            row = session.get(OAuthClient, args.client_id)
            if row is None:
                raise ConfigurationError(f"no API client {args.client_id!r}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
        print(json.dumps({"client_id": args.client_id, "revoked": True}))
    return 0


def run_agents_create(args: argparse.Namespace) -> int:
    from airisk.policy import Policy
    from airisk.workspace import AgentCreate, AgentUpdate

    with _open(args) as ws:
        root = _root(ws)
        company = _company(ws, args.company)
        if args.template:
            agent = root.agents.create_from_template(args.template, AgentUpdate(name=args.name), company_id=company)
        else:
            policy: dict[str, Any] = {}
            if args.policy:
                from airisk.policies import resolve

                policy = Policy.load(resolve(args.policy)).to_dict()
            agent = root.agents.create(
                AgentCreate(
                    name=args.name,
                    engine=args.engine,
                    engine_settings=json.loads(args.engine_settings),
                    system_prompt=args.system_prompt,
                    scanner_policy=policy,
                ),
                company_id=company,
            )
        print(json.dumps({"agent_id": agent.id, "name": agent.name}))
    return 0


def run_users_create(args: argparse.Namespace) -> int:
    from airisk.workspace import Invite

    with _open(args) as ws:
        root = _root(ws)
        invitation = root.users.invite(Invite(email=args.email, role=args.role), company_id=_company(ws, args.company))
        assert invitation.token is not None
        user = ws.accept_invitation(invitation.token)
        for agent_id in args.agent:
            root.users.assign_agent(user.id, agent_id)
        print(json.dumps({"user_id": user.id, "email": user.email, "role": user.role}))
    return 0
