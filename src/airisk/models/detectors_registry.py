"""Model artifacts of the toxicity, topics and AI-policy detectors, registered with :mod:`airisk.models`.

Kept apart from the registry module so each detector's heads are declared next to the code
that trains them. Importing this module registers them; :mod:`airisk.models` does so on the
first look-up of any artifact.
"""

from __future__ import annotations

from airisk.models import Artifact, register_artifact, register_int8_head

TOXICITY_HEAD = register_artifact(
    Artifact(
        name="toxicity-head",
        description="toxicity and identity-attack MLP over the MiniLM embedding and lexical cues",
        kind="packaged",
        files=("toxicity_head.npz",),
        pinned={"toxicity_head.npz": "ea961164d5032019bb85b086493fafc06ffb51d7c653285036fa2fa3e8a4521f"},
        source=(
            "training/train_toxicity.py on Davidson 2017 + ToxiGen demonstrations + hand-written hard cases"
            " + CLINC150 train requests as benign negatives"
        ),
    )
)

register_int8_head(TOXICITY_HEAD, "493e39b9d2f368773884c0a67feda1f1bbf14ac535e6e95befe9990446f00756")
