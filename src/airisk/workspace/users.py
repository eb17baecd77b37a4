"""Users and invitations.

Invitations are single-use and expire: the token is 256 random bits, shown once, and only
its SHA-256 is stored. Accepting one activates the invited user.

Deleting a user is a soft delete with pseudonymisation: the row stays (status ``deleted``,
email and name erased, memberships and assignments removed) so their conversations remain
attributable for compliance; ``conversations="delete"`` removes those conversations too.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update

from airisk.store.models import Agent, Conversation, GroupMember, Invitation, User, UserAgent, new_id
from airisk.workspace._service import Service
from airisk.workspace.access import can_use
from airisk.workspace.errors import Conflict, NotFound, PermissionDenied
from airisk.workspace.pagination import Page, paginate
from airisk.workspace.schemas import InvitationOut, Invite, UserFilter, UserOut, UserUpdate


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_out(row: User) -> UserOut:
    return UserOut.model_validate(row)


def _snapshot(row: User) -> dict[str, object]:
    return user_out(row).model_dump(mode="json")


class UserService(Service):
    def invite(self, data: Invite, *, company_id: str | None = None) -> InvitationOut:
        """Create an invited user and a single-use token valid for ``data.valid_for_hours``."""
        self._check("users.invite")
        company = self._company(company_id)
        token = secrets.token_urlsafe(32)
        now = self.ws.now()
        with self.ws.store.write() as session:
            user = session.scalar(select(User).where(User.company_id == company, User.email == data.email))
            if user is not None and user.status != "invited":
                raise Conflict(f"a user with email {data.email!r} already exists")
            if user is None:
                user = User(
                    id=new_id("usr"),
                    company_id=company,
                    email=data.email,
                    name=data.name,
                    role=data.role,
                    status="invited",
                    created_at=now,
                    updated_at=now,
                )
                session.add(user)
                session.flush()
            else:
                user.role = data.role
                session.execute(
                    update(Invitation)
                    .where(
                        Invitation.user_id == user.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
                    )
                    .values(revoked_at=now)
                )
            invitation = Invitation(
                id=new_id("inv"),
                company_id=company,
                user_id=user.id,
                token_hash=hash_token(token),
                invited_by=self.actor.id,
                expires_at=now + timedelta(hours=data.valid_for_hours),
                created_at=now,
            )
            session.add(invitation)
            session.flush()
            self._audit(
                session,
                "users.invite",
                company_id=company,
                target_type="user",
                target_id=user.id,
                after={
                    "email": user.email,
                    "role": user.role,
                    "invitation_id": invitation.id,
                    "expires_at": invitation.expires_at.isoformat(),
                },
            )
            return InvitationOut(
                id=invitation.id,
                company_id=company,
                user_id=user.id,
                email=user.email,
                role=user.role,
                expires_at=invitation.expires_at,
                token=token,
            )

    def revoke_invitation(self, invitation_id: str) -> None:
        self._check("users.invite")
        with self.ws.store.write() as session:
            invitation = self._load(session, Invitation, invitation_id, "invitation")
            if invitation.accepted_at is None and invitation.revoked_at is None:
                invitation.revoked_at = self.ws.now()
                self._audit(
                    session,
                    "users.revoke_invitation",
                    company_id=invitation.company_id,
                    target_type="invitation",
                    target_id=invitation.id,
                )

    def me(self) -> UserOut:
        if self.actor.kind != "user":
            raise PermissionDenied("users.me", self.actor.role)
        with self.ws.store.read() as session:
            row = session.get(User, self.actor.id)
            if row is None:
                raise NotFound("user", self.actor.id)
            return user_out(row)

    def get(self, user_id: str) -> UserOut:
        if user_id != self.actor.id:
            self._check("users.read")
        with self.ws.store.read() as session:
            return user_out(self._load(session, User, user_id, "user"))

    def list(
        self,
        filters: UserFilter | None = None,
        *,
        company_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[UserOut]:
        self._check("users.list")
        filters = filters or UserFilter()
        statement = select(User).where(User.company_id == self._company(company_id))
        statement = (
            statement.where(User.status == filters.status)
            if filters.status
            else statement.where(User.status != "deleted")
        )
        if filters.role:
            statement = statement.where(User.role == filters.role)
        if filters.email_contains:
            statement = statement.where(User.email.contains(filters.email_contains.lower(), autoescape=True))
        if filters.group_id:
            statement = statement.where(
                User.id.in_(select(GroupMember.user_id).where(GroupMember.group_id == filters.group_id))
            )
        with self.ws.store.read() as session:
            return paginate(
                session,
                statement,
                list_name="users",
                keys=[User.created_at, User.id],
                key_types=[datetime, str],
                convert=user_out,
                limit=limit,
                cursor=cursor,
            )

    def update(self, user_id: str, data: UserUpdate) -> UserOut:
        self._check("users.update")
        if user_id == self.actor.id and data.role is not None:
            raise Conflict("you cannot change your own role")
        with self.ws.store.write() as session:
            row = self._load(session, User, user_id, "user")
            if row.status in ("invited", "deleted") and data.status is not None:
                raise Conflict(f"a {row.status} user's status cannot be set directly")
            before = _snapshot(row)
            for key, value in data.model_dump(exclude_unset=True).items():
                setattr(row, key, value)
            row.updated_at = self.ws.now()
            session.flush()
            self._audit(
                session,
                "users.update",
                company_id=row.company_id,
                target_type="user",
                target_id=row.id,
                before=before,
                after=_snapshot(row),
            )
            return user_out(row)

    def delete(self, user_id: str, *, conversations: Literal["keep", "delete"] = "keep") -> None:
        """Soft-delete and pseudonymise a user; keep (default) or delete their conversations."""
        self._check("users.delete")
        if user_id == self.actor.id:
            raise Conflict("you cannot delete yourself")
        with self.ws.store.write() as session:
            row = self._load(session, User, user_id, "user")
            before = _snapshot(row)
            session.execute(delete(GroupMember).where(GroupMember.user_id == row.id))
            session.execute(delete(UserAgent).where(UserAgent.user_id == row.id))
            session.execute(
                update(Invitation)
                .where(Invitation.user_id == row.id, Invitation.accepted_at.is_(None))
                .values(revoked_at=self.ws.now())
            )
            removed = 0
            if conversations == "delete":
                removed = len(list(session.scalars(select(Conversation.id).where(Conversation.user_id == row.id))))
                session.execute(delete(Conversation).where(Conversation.user_id == row.id))
            row.email = f"deleted-{row.id}@invalid"
            row.name = ""
            row.status = "deleted"
            row.default_agent_id = None
            row.deleted_at = row.updated_at = self.ws.now()
            self._audit(
                session,
                "users.delete",
                company_id=row.company_id,
                target_type="user",
                target_id=row.id,
                before=before,
                after={"status": "deleted", "conversations": conversations, "conversations_deleted": removed},
            )

    def assign_agent(self, user_id: str, agent_id: str) -> None:
        self._check("users.assign_agents")
        with self.ws.store.write() as session:
            user = self._load(session, User, user_id, "user")
            agent = self._load(session, Agent, agent_id, "agent")
            if session.get(UserAgent, (user.id, agent.id)) is None:
                session.add(UserAgent(user_id=user.id, agent_id=agent.id))
                self._audit(
                    session,
                    "users.assign_agent",
                    company_id=user.company_id,
                    target_type="user",
                    target_id=user.id,
                    after={"agent_id": agent.id},
                )

    def unassign_agent(self, user_id: str, agent_id: str) -> None:
        self._check("users.assign_agents")
        with self.ws.store.write() as session:
            user = self._load(session, User, user_id, "user")
            link = session.get(UserAgent, (user.id, agent_id))
            if link is not None:
                session.delete(link)
                self._audit(
                    session,
                    "users.unassign_agent",
                    company_id=user.company_id,
                    target_type="user",
                    target_id=user.id,
                    before={"agent_id": agent_id},
                )

    def set_default_agent(self, user_id: str, agent_id: str | None) -> UserOut:
        """Set the agent a user starts with; users may set their own, among agents they can use."""
        if user_id != self.actor.id:
            self._check("users.set_default_agent")
        with self.ws.store.write() as session:
            row = self._load(session, User, user_id, "user")
            if agent_id is not None:
                from airisk.workspace.workspace import actor_for_user

                if not can_use(session, actor_for_user(row), agent_id):
                    raise NotFound("agent", agent_id)
            before = {"default_agent_id": row.default_agent_id}
            row.default_agent_id = agent_id
            row.updated_at = self.ws.now()
            self._audit(
                session,
                "users.set_default_agent",
                company_id=row.company_id,
                target_type="user",
                target_id=row.id,
                before=before,
                after={"default_agent_id": agent_id},
            )
            session.flush()
            return user_out(row)
