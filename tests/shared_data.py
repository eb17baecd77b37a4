"""Where the labelled public datasets live: ``../shared/data`` beside the repository
(as on developer machines and in CI), or ``AIRISK_SHARED_DATA``."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(os.environ.get("AIRISK_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
