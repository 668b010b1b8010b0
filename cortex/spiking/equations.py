"""The spiking cortex's model, as Brian2 equation text (plain strings: importing this module does
not import Brian2).

Neurons (excitatory and inhibitory share one group; constants differ per neuron):

    dv/dt      = g (v_rest - v + I_slow - adapt) / tau_m        membrane, mV
    dI_slow/dt = -g I_slow / tau_s                              slow (NMDA-like) current, mV
    dadapt/dt  = -g adapt / tau_a                               spike-triggered adaptation, mV
    dtheta/dt  = g plastic ip_on ip_step (rate_est - target_rate)   intrinsic plasticity, mV
    drate_est/dt = -g rate_est / tau_rate                       the neuron's recent rate, Hz
    spike: v > v_thresh + theta;  reset: v = v_reset, adapt += b_adapt, rate_est += 1 / tau_rate

Each excitatory neuron's threshold thus settles where it fires at ``target_rate`` on average.
The threshold follows a smoothed rate (tau_rate of seconds), not each spike, so switching
plasticity off freezes it without removing any fast dynamics. It never falls below theta_min:
a neuron that input rarely reaches would otherwise sink its threshold under the reset potential
and fire at the refractory limit, dragging its replica into a high-rate state.
Input and E->E spikes give a fast jump of v and a jump of the slow current scaled by
slow_gain = tau_m / tau_s, so that a slow PSP carries the same charge whatever its duration (a
long tau_s makes a neuron remember longer, not fire harder); tau_s is spread log-uniformly over
neurons, so what a neuron fires for depends on the current symbol *and* on
those before it (conjunctions of successive symbols): the carrier of sequence memory.
``g`` is 1 while the neuron's replica runs and 0 while it is frozen (padding steps, finished
replicas): every derivative carries it, so a frozen replica's state does not change at all.

E->E synapses: soft-bounded pair STDP with traces (potentiation a_plus (w_max - w) per
pre-before-post pairing, depression a_minus w per post-before-pre), gated by the postsynaptic
replica's ``plastic``. With reward-modulated STDP on, the same pairings also feed an eligibility
trace ``elig`` (decaying with tau_elig, updated lazily at events), and once per environment step
the weight moves by rstdp_rate * dopamine * elig * w_max (the third factor).

Every model constant is a shared variable, not a literal baked into the generated code: changing
a parameter never triggers a recompilation, only a different structure does.
"""
from __future__ import annotations

NEURON = """
dv/dt = g * (v_rest - v + I_slow - adapt) / tau_m : volt (unless refractory)
dI_slow/dt = -g * I_slow / tau_s : volt
dadapt/dt = -g * adapt / tau_a : volt
dtheta/dt = g * plastic * ip_on * ip_step * (rate_est - target_rate) * int(theta > theta_min or rate_est > target_rate) : volt
drate_est/dt = -g * rate_est / tau_rate : Hz
tau_s : second (constant)
tau_a : second (constant)
slow_gain : 1 (constant)
b_adapt : volt (constant)
ip_on : 1 (constant)
g : 1
t_frozen : second
plastic : 1
dopamine : 1
nspk : 1
tau_m : second (constant, shared)
v_rest : volt (constant, shared)
v_thresh : volt (constant, shared)
v_reset : volt (constant, shared)
t_ref : second (constant, shared)
ip_step : volt (constant, shared)
target_rate : Hz (constant, shared)
tau_rate : second (constant, shared)
theta_min : volt (constant, shared)
"""
THRESHOLD = "v > v_thresh + theta and g > 0.5"
RESET = "v = v_reset; adapt += b_adapt; rate_est += 1 / tau_rate; nspk += 1"
REFRACTORY = "t_ref"

# closed-loop input neurons: rates are written by the network operation every environment step
POISSON_INPUT = "rates : Hz"
POISSON_THRESHOLD = "rand() < rates * dt"
REGULAR_INPUT = """
dphase/dt = rates : 1
rates : Hz
"""
REGULAR_THRESHOLD = "phase >= 1"
REGULAR_RESET = "phase -= 1"

STATIC_SYNAPSE = "w : volt (constant)"
STATIC_ON_PRE = "v_post += w"

INPUT_SYNAPSE = """
w : volt (constant)
w_slow : volt (constant)
"""
INPUT_ON_PRE = "v_post += w\nI_slow_post += w_slow * slow_gain_post"

GATE_SYNAPSE = "level : 1 (constant)"
# freezing and resuming: the time spent frozen is added to lastspike, so a neuron frozen right after
# a spike is still refractory for the rest of t_ref when its replica resumes
GATE_ON_PRE = "lastspike_post += level * (t - t_frozen_post)\nt_frozen_post = t\ng_post = level"

_STDP_CONSTANTS = """
tau_stdp : second (constant, shared)
a_plus : 1 (constant, shared)
a_minus : 1 (constant, shared)
w_max : volt (constant, shared)
slow_fraction : 1 (constant, shared)
"""
STDP_SYNAPSE = """
w : volt
dapre/dt = -apre / tau_stdp : 1 (event-driven)
dapost/dt = -apost / tau_stdp : 1 (event-driven)
""" + _STDP_CONSTANTS
STDP_ON_PRE = """
v_post += w
I_slow_post += slow_fraction * w * slow_gain_post
apre += 1
w = clip(w - plastic_post * a_minus * apost * w, 0 * mV, w_max)
"""
STDP_ON_POST = """
apost += 1
w = clip(w + plastic_post * a_plus * apre * (w_max - w), 0 * mV, w_max)
"""

RSTDP_SYNAPSE = STDP_SYNAPSE + """
elig : 1
t_elig : second
tau_elig : second (constant, shared)
rstdp_rate : 1 (constant, shared)
"""
RSTDP_ON_PRE = """
v_post += w
I_slow_post += slow_fraction * w * slow_gain_post
apre += 1
elig = elig * exp((t_elig - t) / tau_elig) - a_minus * apost * w / w_max
t_elig = t
w = clip(w - plastic_post * a_minus * apost * w, 0 * mV, w_max)
"""
RSTDP_ON_POST = """
apost += 1
elig = elig * exp((t_elig - t) / tau_elig) + a_plus * apre * (1 - w / w_max)
t_elig = t
w = clip(w + plastic_post * a_plus * apre * (w_max - w), 0 * mV, w_max)
"""
# applied once per environment step: the third factor
RSTDP_STEP = """
elig = elig * exp((t_elig - t) / tau_elig)
t_elig = t
w = clip(w + plastic_post * rstdp_rate * dopamine_post * elig * w_max, 0 * mV, w_max)
"""


def neuron_constants(p) -> dict:
    """Shared constants of the neuron group, in SI units (V, s, Hz), from SpikingParams ``p``."""
    return {
        "tau_m": p.tau_m_ms * 1e-3, "v_rest": p.v_rest_mv * 1e-3, "v_thresh": p.v_thresh_mv * 1e-3,
        "v_reset": p.v_reset_mv * 1e-3, "t_ref": p.refractory_ms * 1e-3, "ip_step": p.ip_step_mv * 1e-3,
        "target_rate": p.target_rate_hz, "tau_rate": p.ip_tau_ms * 1e-3, "theta_min": p.ip_theta_min_mv * 1e-3,
    }


def synapse_constants(p) -> dict:
    """Shared constants of the E->E synapses, in SI units."""
    out = {"tau_stdp": p.tau_stdp_ms * 1e-3, "a_plus": p.stdp_a_plus, "a_minus": p.stdp_a_minus,
           "w_max": p.w_ee_max_mv * 1e-3, "slow_fraction": p.slow_fraction}
    if p.rstdp_rate > 0:
        out.update(tau_elig=p.tau_elig_ms * 1e-3, rstdp_rate=p.rstdp_rate)
    return out
