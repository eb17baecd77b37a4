"""Groups: users and agents together; a member may use every agent of their groups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airisk.store.models import Agent, Group, GroupAgent, GroupMember, User, new_id
from airisk.workspace._service import Service
from airisk.workspace.errors import Conflict
from airisk.workspace.pagination import Page, paginate
from airisk.workspace.schemas import GroupCreate, GroupOut


def _out(session: Session, row: Group) -> GroupOut:
    members = sorted(session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == row.id)))
    agents = sorted(session.scalars(select(GroupAgent.agent_id).where(GroupAgent.group_id == row.id)))
    return GroupOut(
        id=row.id,
        company_id=row.company_id,
        name=row.name,
        description=row.description,
        created_at=row.created_at,
        member_ids=members,
        agent_ids=agents,
    )


class GroupService(Service):
    def create(self, data: GroupCreate, *, company_id: str | None = None) -> GroupOut:
        self._check("groups.write")
        company = self._company(company_id)
        try:
            with self.ws.store.write() as session:
                row = Group(
                    id=new_id("grp"),
                    company_id=company,
                    name=data.name,
                    description=data.description,
                    created_at=self.ws.now(),
                )
                session.add(row)
                session.flush()
                out = _out(session, row)
                self._audit(
                    session,
                    "groups.create",
                    company_id=company,
                    target_type="group",
                    target_id=row.id,
                    after=out.model_dump(mode="json"),
                )
                return out
        except IntegrityError:
            raise Conflict(f"a group named {data.name!r} already exists") from None

    def get(self, group_id: str) -> GroupOut:
        self._check("groups.read")
        with self.ws.store.read() as session:
            return _out(session, self._load(session, Group, group_id, "group"))

    def list(
        self, *, company_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[GroupOut]:
        self._check("groups.read")
        statement = select(Group).where(Group.company_id == self._company(company_id))
        with self.ws.store.read() as session:
            return paginate(
                session,
                statement,
                list_name="groups",
                keys=[Group.created_at, Group.id],
                key_types=[datetime, str],
                convert=lambda row: _out(session, row),
                limit=limit,
                cursor=cursor,
            )

    def delete(self, group_id: str) -> None:
        self._check("groups.write")
        with self.ws.store.write() as session:
            row = self._load(session, Group, group_id, "group")
            before = _out(session, row).model_dump(mode="json")
            session.delete(row)
            self._audit(
                session,
                "groups.delete",
                company_id=row.company_id,
                target_type="group",
                target_id=group_id,
                before=before,
            )

    def _change(
        self, group_id: str, action: str, *, user_id: str | None = None, agent_id: str | None = None, add: bool
    ) -> GroupOut:
        self._check("groups.write")
        with self.ws.store.write() as session:
            group = self._load(session, Group, group_id, "group")
            before = _out(session, group).model_dump(mode="json")
            link: GroupMember | GroupAgent
            existing: GroupMember | GroupAgent | None
            if user_id is not None:
                self._load(session, User, user_id, "user")
                link = GroupMember(group_id=group.id, user_id=user_id)
                existing = session.get(GroupMember, (group.id, user_id))
            else:
                assert agent_id is not None
                self._load(session, Agent, agent_id, "agent")
                link = GroupAgent(group_id=group.id, agent_id=agent_id)
                existing = session.get(GroupAgent, (group.id, agent_id))
            if add and existing is None:
                session.add(link)
            elif not add and existing is not None:
                session.delete(existing)
            session.flush()
            out = _out(session, group)
            self._audit(
                session,
                action,
                company_id=group.company_id,
                target_type="group",
                target_id=group.id,
                before=before,
                after=out.model_dump(mode="json"),
            )
            return out

    def add_member(self, group_id: str, user_id: str) -> GroupOut:
        return self._change(group_id, "groups.add_member", user_id=user_id, add=True)

    def remove_member(self, group_id: str, user_id: str) -> GroupOut:
        return self._change(group_id, "groups.remove_member", user_id=user_id, add=False)

    def add_agent(self, group_id: str, agent_id: str) -> GroupOut:
        return self._change(group_id, "groups.add_agent", agent_id=agent_id, add=True)

    def remove_agent(self, group_id: str, agent_id: str) -> GroupOut:
        return self._change(group_id, "groups.remove_agent", agent_id=agent_id, add=False)
