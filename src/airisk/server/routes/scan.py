"""The Scanner API: scan one text with an agent's policy or the server default, get the full report."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from airisk.server.auth import Principal, context, require
from airisk.server.limits import check_files, check_text
from airisk.server.routes import ERRORS
from airisk.server.schemas import ScanRequest
from airisk.types import ScanContext, ScanReport

router = APIRouter(tags=["scanner"], responses=ERRORS)


@router.post(
    "/scan",
    response_model=ScanReport,
    summary="Scan a text (input or output) and return the full report",
    description=(
        "Runs the scanners of `agent_id`'s policy (merged with the company's scanner defaults), "
        "of the API key's agent, or the server default policy. The report lists every scanner's "
        "verdict, score and findings (character spans into `text`, the normalised message)."
    ),
)
def scan(body: ScanRequest, request: Request, principal: Principal = Depends(require("scan"))) -> ScanReport:
    ctx = context(request)
    check_text(ctx, body.text)
    check_files(ctx, len(body.files))
    agent_id = body.agent_id or principal.agent_id
    policy = principal.actor.agents.effective_policy(agent_id) if agent_id else None
    pipeline = ctx.pipeline(policy)
    scan_ctx = ScanContext(
        user=principal.actor.actor.email or principal.actor.actor.id,
        agent=agent_id,
        client_ip=body.client_ip,
        files=[file.attachment() for file in body.files],
    )
    return pipeline.scan(body.text, body.direction, scan_ctx)
