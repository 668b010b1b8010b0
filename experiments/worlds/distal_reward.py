"""The distal-reward task of Izhikevich (2007) as a world: a reward is due when one chosen
synapse's postsynaptic neuron fires shortly after its presynaptic neuron, and arrives seconds later.

The rule itself runs in ``experiments.distal_reward`` (it plays world and subcortex at once); this
module holds the task's parameters, so that validating a config needs neither Brian2 nor the
network.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DistalRewardParams(BaseModel):
    """The distal-reward task (world + innate reward rule): the world block minus ``kind``/``variants``.

    A reward is due when the rewarded synapse's postsynaptic neuron fires 1 to ``window_ms`` - 1 ms
    after its presynaptic neuron; it is delivered after a delay drawn uniformly from
    [``delay_min_s``, ``delay_max_s``] and adds ``reward`` to the phasic dopamine level.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    delay_min_s: float = Field(1.0, ge=0, le=60, description="shortest reward delay, s")
    delay_max_s: float = Field(3.0, ge=0, le=60, description="longest reward delay, s")
    window_ms: float = Field(20.0, gt=1, le=1000, description="pre-to-post coincidence window, ms")
    reward: float = Field(0.5, ge=0, le=100, description="dopamine added per reward (dimensionless)")

    @model_validator(mode="after")
    def _ordered(self) -> "DistalRewardParams":
        """The delay interval must not be empty."""
        if self.delay_max_s < self.delay_min_s:
            raise ValueError("delay_max_s must be >= delay_min_s")
        return self



class DistalReward:
    """Izhikevich (2007) distal reward: reward a pre-then-post coincidence on one synapse, 1-3 s later."""

    Params = DistalRewardParams
