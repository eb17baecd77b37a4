"""What every request shares: settings, the workspace, the OAuth2 server, limits and caches."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from airisk.oauth.server import AuthorizationServer
from airisk.pipeline import ScannerPipeline
from airisk.policy import Policy
from airisk.server.ratelimit import RateLimiter
from airisk.server.settings import ServerSettings
from airisk.workspace import Workspace


@dataclass
class ServerContext:
    settings: ServerSettings
    workspace: Workspace
    oauth: AuthorizationServer
    limiter: RateLimiter
    _pipelines: OrderedDict[str, ScannerPipeline] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def pipeline(self, policy: Policy | None) -> ScannerPipeline:
        """A built pipeline per distinct policy, reused across requests (building loads models)."""
        if policy is None:
            from airisk.policies import resolve

            key = f"builtin:{self.settings.default_policy}"
            make: Any = lambda: ScannerPipeline.from_policy(resolve(self.settings.default_policy))  # noqa: E731
        else:
            key = json.dumps(policy.to_dict(), sort_keys=True, default=str)
            make = policy.build
        with self._lock:
            cached = self._pipelines.get(key)
            if cached is not None:
                self._pipelines.move_to_end(key)
                return cached
        built: ScannerPipeline = make()
        built.max_chars = min(built.max_chars, self.settings.max_message_chars)
        with self._lock:
            self._pipelines[key] = built
            while len(self._pipelines) > 128:
                self._pipelines.popitem(last=False)
        return built


__all__ = ["ServerContext"]
