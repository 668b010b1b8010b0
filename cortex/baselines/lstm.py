"""The LSTM baseline: one LSTM layer and a softmax readout per replica, trained by truncated
backpropagation through time with Adam (PyTorch; ``pip install -e '.[baselines]'``).

Online (both regimes, while plastic): the stream, strings laid end to end without reset as the
cortex sees them, is cut into segments of ``truncation`` inputs. A segment's predictions are made
with the weights as they stand; once its last target (the input after it) has arrived, the summed
cross-entropy of its predictions is backpropagated through the segment alone (the state is
carried into the next one, its gradient is not) and Adam takes one step. Inputs whose segment is
not complete wait for the next call, so no pair is lost at block boundaries; a pair whose target
arrives while plasticity is off is never learned. Each training symbol is thus learned from once:
the cortex's budget.

``regime: converge`` also keeps the training stream; when plasticity is switched off it trains
further epochs over its first nine tenths (split into up to 16 contiguous lanes run side by side,
state carried along each lane) until the loss on the last tenth (held out from the epochs, though
the online pass saw it) has not improved by ``min_improvement`` (relative) for ``patience``
epochs, or ``max_epochs``; the weights of the best held-out epoch are then frozen and the running
state is recomputed over the training stream with them. Stopping on the training loss instead
overfits: on 1,000 strings it keeps falling for hundreds of epochs while the test KL to the exact
distribution grows (bigram rung: 0.01 -> 0.31 nats).

Initial weights: uniform(+-1/sqrt(n_units)) as PyTorch draws them, but from a numpy Generator of the
replica's seed, so runs repeat exactly. Torch is imported with this module only.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from cortex.base import CortexBase, NumericalError, SequenceOutput
from cortex.baselines.params import LstmParams

LANES = 16  # converge: contiguous pieces of the training stream trained side by side
HELD_OUT = 10  # converge: the last 1/HELD_OUT of the training stream decides when to stop


def _symbols_as_array(name: str) -> property:
    """A saved-state view of the symbol list ``name``: an int64 array (None when empty), set from one."""
    return property(lambda self: np.array(getattr(self, name), np.int64) if getattr(self, name) else None,
                    lambda self, value: setattr(self, name, [] if value is None else [int(s) for s in value]))


class _Net:
    """One replica: its LSTM, readout, optimiser, running state and not-yet-learned inputs."""

    def __init__(self, params: LstmParams, n: int, seed: int):
        self.params, self.n = params, n
        self.lstm = nn.LSTM(n, params.n_units, batch_first=True)
        self.out = nn.Linear(params.n_units, n)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x157]))
        bound = 1.0 / np.sqrt(params.n_units)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))
        self.opt = torch.optim.Adam(self.parameters(), lr=params.lr)
        self.state = self.zero_state()       # after the last input fed
        self.pending: list[int] = []         # inputs fed whose segment is not learned yet
        self.pending_state = self.state      # the state before pending[0]
        self.stream: list[int] = []          # converge: every input learned from
        self.epochs = 0                      # converge: epochs run after the online pass

    def parameters(self):
        return [*self.lstm.parameters(), *self.out.parameters()]

    # saved state (cortex.base.capture_state): plain arrays and lists; what is empty in a fresh
    # model reads None, so a saved one of any length is taken as it is
    state_attrs = ("weights", "adam", "running", "pending_inputs", "stream_inputs", "epochs")

    @property
    def weights(self) -> list[np.ndarray]:
        return [p.detach().numpy().copy() for p in self.parameters()]

    @weights.setter
    def weights(self, values) -> None:
        with torch.no_grad():
            for p, w in zip(self.parameters(), values):
                p.copy_(torch.from_numpy(np.asarray(w)))

    @property
    def adam(self) -> list | None:
        moments = [self.opt.state.get(p) for p in self.parameters()]
        if not all(moments):
            return None
        return [np.array([float(m["step"]) for m in moments]), [m["exp_avg"].numpy().copy() for m in moments],
                [m["exp_avg_sq"].numpy().copy() for m in moments]]

    @adam.setter
    def adam(self, value) -> None:
        self.opt.state.clear()
        if value is not None:
            steps, avg, avg_sq = value
            for p, n, m, v in zip(self.parameters(), steps, avg, avg_sq):
                self.opt.state[p] = {"step": torch.tensor(float(n)), "exp_avg": torch.from_numpy(np.array(m)),
                                     "exp_avg_sq": torch.from_numpy(np.array(v))}

    @property
    def running(self) -> list[np.ndarray]:
        return [s.numpy().copy() for s in (*self.state, *self.pending_state)]

    @running.setter
    def running(self, values) -> None:
        h, c, h0, c0 = (torch.from_numpy(np.array(v)) for v in values)
        self.state, self.pending_state = (h, c), (h0, c0)

    pending_inputs = _symbols_as_array("pending")
    stream_inputs = _symbols_as_array("stream")

    def zero_state(self, batch: int = 1):
        z = torch.zeros(1, batch, self.params.n_units)
        return z, z.clone()

    def forward(self, symbols, state):
        """Logits (B, L, n), hidden states (B, L, H) and the final state for (B, L) int symbols."""
        x = nn.functional.one_hot(torch.as_tensor(symbols, dtype=torch.int64), self.n).float()
        hidden, final = self.lstm(x, state)
        return self.out(hidden), hidden, final

    def step(self, logits, targets) -> float:
        loss = nn.functional.cross_entropy(logits.reshape(-1, self.n), torch.as_tensor(targets).reshape(-1), reduction="sum")
        self.opt.zero_grad()
        (loss / targets.size).backward()
        self.opt.step()
        return float(loss.detach())

    def feed(self, x: np.ndarray, plastic: bool) -> tuple[np.ndarray, np.ndarray]:
        """Feed inputs ``x`` (m,); returns their next-symbol distributions (m, n) and hidden states (m, H)."""
        if not plastic:
            with torch.no_grad():
                logits, hidden, self.state = self.forward(x[None], self.state)
            self.pending, self.pending_state = [], self.state  # learning, when it resumes, starts here
            return _softmax(logits[0]), hidden[0].numpy()
        seq = np.array(self.pending + list(x), np.int64)
        first_new, trunc, state = len(self.pending), self.params.truncation, self.pending_state
        probs, hidden_out = np.zeros((len(seq), self.n)), np.zeros((len(seq), self.params.n_units), np.float32)
        a = 0
        while a + trunc < len(seq):  # a full segment whose last target has arrived
            logits, hidden, final = self.forward(seq[None, a:a + trunc], state)
            probs[a:a + trunc], hidden_out[a:a + trunc] = _softmax(logits[0].detach()), hidden[0].detach().numpy()
            self.step(logits, seq[None, a + 1:a + trunc + 1])
            state = tuple(s.detach() for s in final)
            a += trunc
        self.pending_state, self.pending = state, seq[a:].tolist()
        with torch.no_grad():  # the rest, with the same weights its learning step will use
            logits, hidden, self.state = self.forward(seq[None, a:], state)
        probs[a:], hidden_out[a:] = _softmax(logits[0]), hidden[0].numpy()
        if self.params.regime == "converge":
            self.stream.extend(int(s) for s in x)
        return probs[first_new:], hidden_out[first_new:]

    def converge(self) -> None:
        """Epochs over the stored training stream until the held-out loss stops improving (module docstring)."""
        p = self.params
        stream = np.array(self.stream, np.int64)
        held = max(p.truncation, len(stream) // HELD_OUT)
        fit = stream[:-held]  # its last symbol is also the first held-out input
        lanes = max(1, min(LANES, (len(fit) - 1) // p.truncation))
        width = (len(fit) - 1) // lanes
        if width < 1:
            return
        inputs = np.stack([fit[i * width:(i + 1) * width] for i in range(lanes)])
        targets = np.stack([fit[i * width + 1:(i + 1) * width + 1] for i in range(lanes)])
        best, best_weights, stale = self.held_out_loss(fit, stream[len(fit) - 1:]), self.weights, 0
        for _ in range(p.max_epochs):
            state = self.zero_state(lanes)
            for a in range(0, width, p.truncation):
                logits, _, final = self.forward(inputs[:, a:a + p.truncation], state)
                self.step(logits, targets[:, a:a + p.truncation])
                state = tuple(s.detach() for s in final)
            self.epochs += 1
            loss = self.held_out_loss(fit, stream[len(fit) - 1:])
            if not np.isfinite(loss):
                raise NumericalError(len(self.stream), f"LSTM held-out loss at converge epoch {self.epochs}")
            if loss < best * (1 - p.min_improvement):
                best, best_weights, stale = loss, self.weights, 0
            else:
                stale += 1
                if stale >= p.patience:
                    break
        self.weights = best_weights
        with torch.no_grad():  # the running state as the frozen weights see the training stream
            _, _, self.state = self.forward(stream[None], self.zero_state())
        self.pending, self.pending_state = [], self.state

    def held_out_loss(self, fit: np.ndarray, held: np.ndarray) -> float:
        """Mean cross-entropy (nats) on the held-out stream ``held``, entered with the state that ``fit`` leaves."""
        with torch.no_grad():
            _, _, state = self.forward(fit[None, :-1], self.zero_state())
            logits, _, _ = self.forward(held[None, :-1], state)
            loss = nn.functional.cross_entropy(logits[0], torch.as_tensor(held[1:]))
        return float(loss)


def _softmax(logits: torch.Tensor) -> np.ndarray:
    p = torch.softmax(logits.double(), -1).numpy()
    return p / p.sum(-1, keepdims=True)


class LstmCortex(CortexBase):
    """Implements ``cortex.base.Cortex`` open loop (``run_sequence``); call ``reset(seeds)`` first.
    ``activity``: the first ``sample_units`` hidden units (h) after each input."""

    state_attrs = ("_plastic", "nets")  # saved state (cortex.base.capture_state)

    def __init__(self, params: LstmParams, n_inputs: int, n_replicas: int, sample_units: int = 0,
                 signals: Sequence[str] = (), n_actions: int = 0):
        self.params = params
        self.n_inputs, self.n_replicas, self.sample_units = int(n_inputs), int(n_replicas), int(sample_units)
        self._plastic = True
        self.nets: list[_Net] | None = None
        torch.set_num_threads(params.threads)

    def reset(self, seeds: Sequence[int]) -> None:
        """Fresh networks, one per seed (their initial weights)."""
        if len(seeds) != self.n_replicas:
            raise ValueError(f"need {self.n_replicas} seeds, got {len(seeds)}")
        self.nets = [_Net(self.params, self.n_inputs, int(s)) for s in seeds]

    def set_plasticity(self, on: bool) -> None:
        """Learning on or off; switching it off ends training (and, ``regime: converge``, first
        trains to convergence on the stored training stream)."""
        was, self._plastic = self._plastic, bool(on)
        if self.nets is None or on or not was:
            return
        for net in self.nets:
            net.pending, net.pending_state = [], net.state
            if self.params.regime == "converge":
                net.converge()

    def run_sequence(self, inputs: np.ndarray, active: np.ndarray | None = None,
                     plasticity: np.ndarray | None = None) -> SequenceOutput:
        """Open loop on (K, T) int symbols; padding steps (``active`` False) are skipped. No
        per-step ``plasticity`` (ValueError): its segments would have to carry weights."""
        if self.nets is None:
            raise RuntimeError("call reset(seeds) before running the cortex")
        inputs, active = self.sequence_inputs(np.asarray(inputs, np.int64), active)
        self.sequence_plasticity(plasticity, inputs.shape)
        K, T = inputs.shape
        probs = np.full((K, T, self.n_inputs), 1.0 / self.n_inputs)
        activity = np.zeros((K, T, self.sample_units), np.float32)
        for k, net in enumerate(self.nets):
            on = np.flatnonzero(active[k])
            if on.size:
                p, h = net.feed(inputs[k, on], self._plastic)
                if not np.isfinite(p).all():
                    raise NumericalError(int(on[np.argmax(~np.isfinite(p).all(-1))]), "LSTM prediction", [k])
                probs[k, on], activity[k, on] = p, h[:, : self.sample_units]
        return SequenceOutput(probs=probs, activity=activity)

    @property
    def epochs(self) -> list[int]:
        """Per replica, epochs trained after the online pass (``regime: converge``; 0 before)."""
        return [net.epochs for net in self.nets or []]

    def run(self, steps, exchange, first_inputs) -> None:
        """Not supported: the LSTM is a sequence baseline with no closed loop."""
        raise NotImplementedError("baseline model lstm predicts symbol streams only (run_sequence); it has no closed loop")
