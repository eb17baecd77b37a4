"""Invitations (single-use, expiring; accepting activates), user lists, deletion policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from airisk.store.models import Invitation
from airisk.workspace import (
    Conflict,
    ConversationFilter,
    InvalidInvitation,
    Invite,
    NotFound,
    PermissionDenied,
    UserFilter,
    UserUpdate,
)


def test_invitation_lifecycle(world: Any) -> None:
    ws, admin = world.ws, world.actors["admin"]
    invitation = admin.users.invite(Invite(email="New.Person@Example.com", role="monitor", name="New"))
    assert invitation.token and invitation.email == "new.person@example.com"
    invited = admin.users.get(invitation.user_id)
    assert invited.status == "invited"
    with pytest.raises(PermissionDenied):
        ws.as_actor(invited.id)  # an invited user cannot act yet

    # only a hash of the token is stored
    with ws.store.read() as session:
        stored = session.get(Invitation, invitation.id)
        assert stored is not None and invitation.token not in stored.token_hash

    user = ws.accept_invitation(invitation.token, name="New Person")
    assert user.status == "active" and user.role == "monitor" and user.name == "New Person"
    assert ws.as_actor(user.id).users.me().id == user.id
    with pytest.raises(InvalidInvitation, match="already used"):
        ws.accept_invitation(invitation.token)
    with pytest.raises(InvalidInvitation, match="unknown"):
        ws.accept_invitation("not-a-token")
    actions = [e.action for e in admin.audit.list().data]
    assert "users.invite" in actions and "users.accept_invitation" in actions


def test_invitation_expires(world: Any) -> None:
    ws, admin = world.ws, world.actors["admin"]
    invitation = admin.users.invite(Invite(email="late@example.com", valid_for_hours=1))
    start = ws.now()
    ws.clock = lambda: start + timedelta(hours=2)
    with pytest.raises(InvalidInvitation, match="expired"):
        ws.accept_invitation(invitation.token)
    assert admin.users.get(invitation.user_id).status == "invited"


def test_reinvite_revokes_the_previous_token(world: Any) -> None:
    ws, admin = world.ws, world.actors["admin"]
    first = admin.users.invite(Invite(email="twice@example.com"))
    second = admin.users.invite(Invite(email="twice@example.com", role="compliance"))
    assert first.user_id == second.user_id
    with pytest.raises(InvalidInvitation, match="revoked"):
        ws.accept_invitation(first.token)
    assert ws.accept_invitation(second.token).role == "compliance"
    with pytest.raises(Conflict):
        admin.users.invite(Invite(email="twice@example.com"))


def test_revoked_invitation(world: Any) -> None:
    admin = world.actors["admin"]
    invitation = admin.users.invite(Invite(email="revoked@example.com"))
    admin.users.revoke_invitation(invitation.id)
    with pytest.raises(InvalidInvitation, match="revoked"):
        world.ws.accept_invitation(invitation.token)


def test_list_filters_and_pages(world: Any) -> None:
    admin = world.actors["admin"]
    for _ in range(5):
        world.new_user("user")
    users = admin.users.list(UserFilter(role="user")).data
    assert users and all(u.role == "user" for u in users)
    monitors = admin.users.list(UserFilter(role="monitor")).data
    assert [u.id for u in monitors] == [world.users["monitor"].id]
    seen: list[str] = []
    page = admin.users.list(limit=3)
    while True:
        seen.extend(u.id for u in page.data)
        if not page.has_more:
            break
        page = admin.users.list(limit=3, cursor=page.next_cursor)
    everyone = admin.users.list(limit=100).data
    assert seen == [u.id for u in everyone] and len(seen) == len(set(seen)) >= 9


def test_role_change_and_disable(world: Any) -> None:
    admin = world.actors["admin"]
    target = world.new_user("user")
    updated = admin.users.update(target.id, UserUpdate(role="compliance"))
    assert updated.role == "compliance"
    admin.users.update(target.id, UserUpdate(status="disabled"))
    with pytest.raises(PermissionDenied):
        world.ws.as_actor(target.id)
    with pytest.raises(Conflict):
        admin.users.update(world.users["admin"].id, UserUpdate(role="user"))
    events = admin.audit.list().data
    change = next(e for e in events if e.action == "users.update" and e.target_id == target.id)
    assert change.before["role"] == "user" and change.after["role"] == "compliance"


def test_delete_keeps_conversations_by_default(world: Any) -> None:
    ws, admin = world.ws, world.actors["admin"]
    person = world.new_user("user")
    admin.users.assign_agent(person.id, world.agent.id)
    conversation = ws.as_actor(person).conversations.open(world.agent.id)
    conversation.ask("keep me")
    admin.users.delete(person.id)
    gone = admin.users.get(person.id)
    assert gone.status == "deleted" and "@invalid" in gone.email and gone.name == ""
    with pytest.raises(PermissionDenied):
        ws.as_actor(person.id)
    kept = admin.conversations.list(ConversationFilter(user_id=person.id)).data
    assert [c.id for c in kept] == [conversation.id]

    other = world.new_user("user")
    admin.users.assign_agent(other.id, world.agent.id)
    doomed = ws.as_actor(other).conversations.open(world.agent.id)
    admin.users.delete(other.id, conversations="delete")
    with pytest.raises(NotFound):
        admin.conversations.get(doomed.id)


def test_default_agent(world: Any) -> None:
    user = world.actors["user"]
    assert user.users.set_default_agent(world.users["user"].id, world.agent.id).default_agent_id == world.agent.id
    with pytest.raises(PermissionDenied):
        user.users.set_default_agent(world.spare.id, world.agent.id)
    unassigned = world.new_user("user")
    with pytest.raises(NotFound):
        world.actors["admin"].users.set_default_agent(unassigned.id, world.agent.id)
