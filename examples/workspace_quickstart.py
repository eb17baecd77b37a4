"""A company, an admin, a user, an agent and a recorded conversation, in a throwaway SQLite file.

    PYTHONPATH=src python examples/workspace_quickstart.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from airisk.workspace import AgentCreate, CompanyCreate, GroupCreate, Invite, Workspace, generate_secret_key


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace(Path(folder) / "airisk.db", secret_key=generate_secret_key())
        root = ws.as_actor(ws.create_server_admin("ops@example.com"))
        acme = root.companies.create(CompanyCreate(name="Acme", message_storage="redacted", retention_days=90))

        invitation = root.users.invite(Invite(email="ada@acme.example", role="admin"), company_id=acme.id)
        admin = ws.as_actor(ws.accept_invitation(invitation.token, name="Ada"))
        bob = ws.accept_invitation(admin.users.invite(Invite(email="bob@acme.example")).token)

        agent = admin.agents.create(AgentCreate(name="helpdesk", engine="echo", temperature=0.2, max_messages=20))
        team = admin.groups.create(GroupCreate(name="Support"))
        admin.groups.add_member(team.id, bob.id)
        admin.groups.add_agent(team.id, agent.id)  # Bob may use the agent through his group

        conversation = ws.as_actor(bob).conversations.open(agent.id, client_ip="81.2.69.142")
        print(conversation.ask("Where is my parcel?").text)
        for message in admin.conversations.messages(conversation.id).data:
            print(f"{message.seq} {message.role:9} {message.verdict:6} {message.content}")

        key = admin.api_keys.create(agent.id, name="backend")  # shown once
        ws.as_api_key(key.key).conversations.open(agent.id).ask("Hello from a backend")
        print("audit log intact:", admin.audit.verify().ok, f"({admin.audit.verify().checked} events)")
        ws.close()


if __name__ == "__main__":
    main()
