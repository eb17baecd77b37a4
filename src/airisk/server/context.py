"""What every request shares: settings, the workspace, the OAuth2 server, limits and caches."""

from __future__ import annotations

from dataclasses import dataclass, field

from airisk.oauth.server import AuthorizationServer
from airisk.pipeline import ScannerPipeline
from airisk.policy import Policy
from airisk.server.idempotency import IdempotencyKeys
from airisk.server.ratelimit import RateLimiter
from airisk.server.settings import ServerSettings
from airisk.workspace import Workspace


@dataclass
class ServerContext:
    settings: ServerSettings
    workspace: Workspace
    oauth: AuthorizationServer
    limiter: RateLimiter
    idempotency: IdempotencyKeys
    _default_policy: Policy | None = field(default=None)

    def pipeline(self, policy: Policy | None) -> ScannerPipeline:
        """The pipeline for a policy (the server default when None), built once per process and
        reused across requests and workers' turns (building loads models)."""
        if policy is None:
            if self._default_policy is None:
                from airisk.policies import resolve

                self._default_policy = Policy.load(resolve(self.settings.default_policy))
            policy = self._default_policy
        return policy.build_shared()


__all__ = ["ServerContext"]
