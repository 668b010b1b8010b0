"""Parameters of the Izhikevich (2007) distal-reward network and of its reward rule.

No Brian2 import here: the config layer validates these blocks without touching a backend.
Defaults are the paper's (Izhikevich 2007, Cerebral Cortex 17:2443, Fig. 1 and its ``daspnet.m``).
Voltages are in mV and the model's time unit is the millisecond, as in the paper: a synaptic weight
``w`` is the input (mV/ms) that one presynaptic spike adds for one millisecond.
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from cortex.params import CortexParams


class IzhikevichParams(CortexParams):
    """A network of ``n_units`` Izhikevich neurons with dopamine-modulated STDP.

    Excitatory neurons are regular spiking, inhibitory ones fast spiking. Every neuron sends
    ``synapses_per_neuron`` synapses: excitatory ones to any neuron, inhibitory ones to excitatory
    neurons only. Only excitatory synapses are plastic.
    """

    backend: Literal["spiking"] = "spiking"
    model: Literal["izhikevich2007"] = "izhikevich2007"
    n_units: int = Field(1000, ge=10, le=65536, description="excitatory + inhibitory neurons per replica")
    exc_fraction: float = Field(0.8, gt=0, lt=1, description="share of excitatory neurons")
    synapses_per_neuron: int = Field(100, ge=1, le=10000, description="outgoing synapses per neuron")
    delay_ms: float = Field(1.0, ge=1.0, le=20.0,
                            description="conduction delay, ms; 1 = a spike acts on the next 1 ms step (paper)")
    # neuron (Izhikevich 2003 form: v' = 0.04 v^2 + 5 v + 140 - u + I, u' = a (b v - u), times in ms)
    a_exc: float = Field(0.02, gt=0, le=1, description="recovery rate a of excitatory neurons, 1/ms")
    d_exc_mv: float = Field(8.0, ge=0, le=50, description="recovery jump d of excitatory neurons, mV")
    a_inh: float = Field(0.1, gt=0, le=1, description="recovery rate a of inhibitory neurons, 1/ms")
    d_inh_mv: float = Field(2.0, ge=0, le=50, description="recovery jump d of inhibitory neurons, mV")
    b: float = Field(0.2, gt=0, le=1, description="sensitivity b of u to v (dimensionless)")
    v_reset_mv: float = Field(-65.0, ge=-100, le=-30, description="reset potential c, mV")
    v_peak_mv: float = Field(30.0, ge=0, le=100, description="spike cut-off, mV")
    noise_range_mv: float = Field(13.0, ge=0, le=100,
                                  description="width of the uniform random input drawn anew each 1 ms step, mV/ms "
                                              "(paper: 13, i.e. U(-6.5, 6.5))")
    # synapses
    w_exc_init: float = Field(1.0, ge=0, le=100, description="initial excitatory weight, mV/ms")
    w_inh: float = Field(1.0, ge=0, le=100, description="magnitude of the fixed inhibitory weight, mV/ms")
    w_max: float = Field(4.0, gt=0, le=100, description="maximum excitatory weight, mV/ms")
    w_rewarded_init: float = Field(0.0, ge=0, le=100,
                                   description="initial weight of the rewarded synapse, mV/ms (paper: 0)")
    # dopamine-modulated STDP
    a_plus: float = Field(0.1, ge=0, le=10, description="eligibility increment for pre-before-post")
    a_minus: float = Field(0.15, ge=0, le=10, description="eligibility decrement for post-before-pre")
    tau_stdp_ms: float = Field(20.0, gt=0, le=1000, description="STDP window time constant, ms")
    tau_elig_ms: float = Field(1000.0, gt=0, le=100000, description="eligibility trace time constant, ms")
    tau_da_ms: float = Field(200.0, gt=0, le=100000, description="dopamine clearance time constant, ms")
    da_tonic: float = Field(0.002, ge=0, le=10, description="tonic dopamine added to the phasic level")
    update_every_ms: float = Field(10.0, ge=1, le=1000,
                                   description="period of the weight update w += (da_tonic + DA) * c, ms")
    target: Literal["auto", "cython", "numpy"] = Field(
        "auto", description="Brian2 code generation target; 'auto' = cython if a compiler works, else numpy")
    cache_dir: Optional[str] = Field(
        None, description="cython cache directory; default $NEUROSTEER_CYTHON_CACHE, else ~/.cache/neurosteer/brian2")

    @model_validator(mode="after")
    def _consistent(self) -> "IzhikevichParams":
        """Cross-field checks that single-field bounds cannot express."""
        if self.n_exc < 2 or self.n_units - self.n_exc < 1:
            raise ValueError("n_units * exc_fraction must leave at least 2 excitatory and 1 inhibitory neuron")
        if self.w_exc_init > self.w_max or self.w_rewarded_init > self.w_max:
            raise ValueError("w_exc_init and w_rewarded_init must not exceed w_max")
        return self

    @property
    def n_exc(self) -> int:
        """Number of excitatory neurons per replica."""
        return int(round(self.n_units * self.exc_fraction))


#: YAML ``model`` name -> (params class, "module:Class" that builds it; imported lazily so that
#: validating a config never imports Brian2)
IZHIKEVICH_MODELS = {"izhikevich2007": (IzhikevichParams, "cortex.spiking.izhikevich:IzhikevichCortex")}
