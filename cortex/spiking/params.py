"""Parameters of the spiking (Brian2) cortex, and what its codegen targets cannot run.

Validating them never imports Brian2. ``SPIKING_MODELS`` maps a YAML ``model`` name to its params
class and the ``module:Class`` that builds it, so the registry can validate a config without
importing the backend. ``TARGET_LIMITS`` / :func:`target_limit` are the one declaration of what a
target cannot do (config validation checks it; the cortex guards direct use with it).
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from cortex.params import CortexParams, HeadsParams
from cortex.readout import ReadoutParams


class SpikingParams(CortexParams):
    """A recurrent network of leaky integrate-and-fire neurons (E:I = 4:1) with STDP,
    intrinsic plasticity, slow adaptation and a reward-modulated STDP rule.

    Voltages in mV, times in ms, rates in Hz. Synaptic weights are the jump (mV) of the
    postsynaptic membrane potential per presynaptic spike.
    """

    backend: Literal["spiking"] = Field("spiking", description="Brian2 backend")
    model: Literal["lif"] = Field("lif", description="leaky integrate-and-fire network")
    n_units: int = Field(400, ge=5, le=65536, description="neurons per replica; 4/5 excitatory, 1/5 inhibitory")

    # simulation
    dt_ms: float = Field(1.0, gt=0.0, le=2.0, description="integration time step (ms)")
    step_ms: float = Field(50.0, ge=2.0, le=1000.0, description="simulated time per input symbol / environment step (ms)")
    target: Literal["auto", "cython", "numpy", "cpp_standalone"] = Field(
        "auto", description="Brian2 code generation target; 'auto' = cython if a compiler works, else numpy; "
        "'cpp_standalone' (grammar worlds only): the whole experiment is one compiled C++ simulation, "
        "~4x faster than cython per simulated second, plus a build of ~10-20 s for a new network structure")
    cache_dir: Optional[str] = Field(
        None, description="cache of compiled code (cython modules; standalone/ for cpp_standalone builds and objects); "
        "default $NEUROSTEER_CYTHON_CACHE, else ~/.cache/neurosteer/brian2")

    # neurons
    tau_m_ms: float = Field(20.0, gt=0.0, le=1000.0, description="membrane time constant (ms)")
    v_rest_mv: float = Field(-65.0, ge=-100.0, le=0.0, description="resting potential (mV)")
    v_thresh_mv: float = Field(-50.0, ge=-100.0, le=0.0, description="initial spike threshold (mV)")
    v_reset_mv: float = Field(-60.0, ge=-100.0, le=0.0, description="reset potential (mV)")
    refractory_ms: float = Field(2.0, ge=0.0, le=50.0, description="absolute refractory period (ms)")
    tau_slow_min_ms: float = Field(30.0, gt=0.0, le=1e5, description="shortest time constant of the slow (NMDA-like) current (ms); log-uniform per neuron")
    tau_slow_max_ms: float = Field(300.0, gt=0.0, le=1e5, description="longest time constant of the slow current (ms)")
    slow_fraction: float = Field(0.3, ge=0.0, le=10.0, description="slow current jump per E->E spike, as a fraction of the fast weight")
    adapt_mv: float = Field(1.0, ge=0.0, le=50.0, description="adaptation increment per spike of an excitatory neuron (mV)")
    tau_adapt_min_ms: float = Field(30.0, gt=0.0, le=1e5, description="shortest adaptation time constant (ms); log-uniform per neuron")
    tau_adapt_max_ms: float = Field(300.0, gt=0.0, le=1e5, description="longest adaptation time constant (ms)")

    # input populations: one per input symbol / feature
    n_input_per_symbol: int = Field(20, ge=1, le=1000, description="input neurons per input symbol / feature")
    input_rate_hz: float = Field(100.0, ge=0.0, le=1000.0, description="firing rate of an input population while its symbol is on (Hz)")
    background_rate_hz: float = Field(2.0, ge=0.0, le=1000.0, description="firing rate of every input neuron at all times (Hz)")
    input_noise: Literal["poisson", "regular", "locked"] = Field(
        "locked", description="input spike trains: Poisson; regular with a random phase per neuron; or "
        "'locked': regular, with each neuron's phase restarting at every step onset (a symbol evokes the same input spikes each time)")
    p_input: float = Field(0.05, ge=0.0, le=1.0, description="connection probability input -> each recurrent neuron")
    w_input_mv: float = Field(4.0, ge=0.0, le=50.0, description="input weight: fast jump of the membrane potential (mV)")
    input_slow_fraction: float = Field(1.0, ge=0.0, le=10.0, description="slow current jump per input spike, as a fraction of w_input_mv")

    # recurrent connectivity (within a replica; capped at the population size)
    k_ee: int = Field(20, ge=0, le=10000, description="E inputs per E neuron (fixed in-degree, so the regime holds across sizes)")
    k_ei: int = Field(20, ge=0, le=10000, description="E inputs per I neuron")
    k_ie: int = Field(10, ge=0, le=10000, description="I inputs per E neuron")
    k_ii: int = Field(10, ge=0, le=10000, description="I inputs per I neuron")
    w_ee_mv: float = Field(0.5, ge=0.0, le=50.0, description="initial mean E -> E weight (mV)")
    w_ee_max_mv: float = Field(1.5, gt=0.0, le=50.0, description="upper bound of E -> E weights (mV)")
    w_ei_mv: float = Field(1.0, ge=0.0, le=50.0, description="E -> I weight (mV)")
    w_ie_mv: float = Field(2.0, ge=0.0, le=50.0, description="I -> E weight magnitude (mV, inhibitory)")
    w_ii_mv: float = Field(2.0, ge=0.0, le=50.0, description="I -> I weight magnitude (mV, inhibitory)")

    # unsupervised plasticity: soft-bounded pair STDP on E -> E, intrinsic plasticity on E
    tau_stdp_ms: float = Field(20.0, gt=0.0, le=1000.0, description="STDP trace time constant (ms)")
    stdp_a_plus: float = Field(0.005, ge=0.0, le=1.0, description="potentiation per pre-before-post pair, fraction of the gap to w_ee_max_mv")
    stdp_a_minus: float = Field(0.006, ge=0.0, le=1.0, description="depression per post-before-pre pair, fraction of the weight")
    target_rate_hz: float = Field(5.0, gt=0.0, le=200.0, description="homeostatic target rate of excitatory neurons (Hz)")
    ip_step_mv: float = Field(0.05, ge=0.0, le=10.0, description="intrinsic plasticity: threshold change per second per Hz of "
                              "(smoothed rate - target rate), i.e. per excess spike (mV)")
    ip_theta_min_mv: float = Field(-5.0, ge=-50.0, le=0.0, description="lowest threshold shift intrinsic plasticity may reach (mV); "
                                   "keep v_thresh_mv + ip_theta_min_mv above v_reset_mv")
    ip_tau_ms: float = Field(2000.0, gt=0.0, le=1e6, description="time constant of the rate estimate that intrinsic plasticity follows (ms)")

    # reward-modulated STDP (three-factor) on E -> E, for closed loop
    tau_elig_ms: float = Field(1000.0, gt=0.0, le=1e5, description="eligibility trace time constant (ms)")
    rstdp_rate: float = Field(0.0, ge=0.0, le=10.0, description="weight change per unit dopamine x eligibility per environment step, fraction of w_ee_max_mv")

    # readouts on filtered spike counts
    readout: ReadoutParams = Field(ReadoutParams(), description="predictive readout of the next input (shared with the rate backend)")
    dtype: Literal["float64", "float32"] = Field("float32", description="precision of the readout's features and weights (float32: same metrics, half the cost)")
    block_steps: int = Field(128, ge=1, le=4096, description="steps per readout learning block in open loop (matrix-matrix updates)")
    filter_taus_ms: tuple[float, ...] = Field((100.0, 400.0, 1600.0), max_length=8, description="time constants of slower exponential "
                                        "filters of the spike counts given to the readouts next to the per-step counts (ms); [] = counts only")
    n_v_probe: int = Field(3, ge=0, le=100, description="neurons per replica whose membrane potential is recorded")

    heads: HeadsParams = Field(HeadsParams(), description="three-factor heads (closed loop)")

    @model_validator(mode="after")
    def _check(self):
        if self.n_units < 5:
            raise ValueError("n_units must be at least 5 (4 excitatory + 1 inhibitory)")
        for name in ("adapt", "slow"):
            if getattr(self, f"tau_{name}_max_ms") < getattr(self, f"tau_{name}_min_ms"):
                raise ValueError(f"tau_{name}_max_ms must be >= tau_{name}_min_ms")
        if self.step_ms < 2 * self.dt_ms:
            raise ValueError("step_ms must span at least two time steps dt_ms")
        if abs(self.step_ms / self.dt_ms - round(self.step_ms / self.dt_ms)) > 1e-6:
            raise ValueError("step_ms must be a whole multiple of dt_ms")
        if any(tau <= 0 for tau in self.filter_taus_ms):
            raise ValueError("filter_taus_ms must all be positive")
        if self.v_reset_mv >= self.v_thresh_mv + self.ip_theta_min_mv:
            raise ValueError("v_reset_mv must be below v_thresh_mv + ip_theta_min_mv (else a neuron can fire at every step)")
        return self

    @property
    def n_exc(self) -> int:
        """Excitatory neurons per replica (4/5 of n_units)."""
        return (4 * self.n_units) // 5

    @property
    def n_inh(self) -> int:
        """Inhibitory neurons per replica."""
        return self.n_units - self.n_exc

    def memory_refusal(self, n_replicas: int, **known) -> str | None:
        """Why ``n_replicas`` replicas of this cortex would not fit in memory, or None
        (``cortex.spiking.memory``; checked by ``experiments.config`` at validation). ``known``:
        what the caller knows better than the estimate's bounds (``n_inputs``, ``sequence_steps``,
        ``sample_units``)."""
        from cortex.spiking.memory import refusal

        return refusal(self, n_replicas, **known)


SPIKING_MODELS = {"lif": (SpikingParams, "cortex.spiking.cortex:SpikingCortex")}

#: what a codegen target cannot run, declared once: target -> (world families it runs, why)
TARGET_LIMITS = {
    "cpp_standalone": (("sequence",), "Brian2 silently skips network operations in standalone mode, and a "
                                      "closed loop exchanges with its world in them every step"),
}


def target_limit(target: str, family: str | None) -> str | None:
    """Why codegen ``target`` cannot run a world of ``family`` ('sequence', 'closed_loop',
    'distal_reward'), or None where it can (or the family is not known yet)."""
    families, why = TARGET_LIMITS.get(target, (None, ""))
    if families is None or family is None or family in families:
        return None
    return f"{target} runs {' and '.join(families)} (open-loop) worlds only: {why}"
