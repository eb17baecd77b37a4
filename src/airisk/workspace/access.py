"""Which agents an actor may use: their own assignments, their groups', and server defaults."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from airisk.store.models import Agent, GroupAgent, GroupMember, UserAgent
from airisk.workspace._service import Actor

STAFF = frozenset({"admin", "monitor", "compliance"})


def usable_agents(actor: Actor) -> Select[Agent]:
    """A query for the agents ``actor`` may open conversations with (templates excluded)."""
    statement = select(Agent).where(Agent.kind != "template")
    if actor.kind == "api_key":
        return statement.where(Agent.id == actor.agent_id)
    defaults = Agent.kind == "default"
    if actor.server_admin and actor.company_id is None:
        return statement
    if actor.server_admin or actor.role in STAFF:
        return statement.where(or_(Agent.company_id == actor.company_id, defaults))
    direct = select(UserAgent.agent_id).where(UserAgent.user_id == actor.id)
    via_groups = (
        select(GroupAgent.agent_id)
        .join(GroupMember, GroupMember.group_id == GroupAgent.group_id)
        .where(GroupMember.user_id == actor.id)
    )
    return statement.where(
        or_(defaults, (Agent.company_id == actor.company_id) & (Agent.id.in_(direct) | Agent.id.in_(via_groups)))
    )


def can_use(session: Session, actor: Actor, agent_id: str) -> bool:
    return session.scalar(usable_agents(actor).where(Agent.id == agent_id)) is not None
