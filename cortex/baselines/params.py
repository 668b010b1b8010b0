"""Parameters of the baselines, and their registry entry (implementations named as strings, so
validating a config imports neither the implementations nor torch)."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from cortex.params import CortexParams


class BaselineParams(CortexParams):
    """Keys every baseline has."""

    backend: Literal["baseline"] = Field("baseline", description="'baseline': predictors measured beside the cortex on the same streams")


class NgramParams(BaselineParams):
    """Smoothed n-gram predictor, counted online from the stream (one pass: the cortex's budget)."""

    model: Literal["ngram"] = Field("ngram", description="'ngram': next symbol from the last order - 1 symbols of the stream")
    n_units: int = Field(0, ge=0, le=0, description="an n-gram has no units (so recording.sample_units must be 0)")
    order: int = Field(3, ge=1, le=4, description="n: the prediction conditions on the last n - 1 symbols (1: symbol frequencies "
                       "alone; 2: bigram), string boundaries included, since strings are laid end to end without reset")
    smoothing: Literal["witten_bell", "add_k"] = Field(
        "witten_bell", description="'witten_bell': interpolated Witten-Bell, each order's counts mixed with the next lower order's "
        "estimate, weighted by how many different symbols followed the context (down to the uniform); 'add_k': "
        "(count + k) / (context count + k n) on the full context only")
    k: float = Field(0.5, gt=0, le=100, description="add_k: pseudo-count added to every symbol's count (0.5: Jeffreys, 1: Laplace)")

    step_plasticity: ClassVar[bool] = True  # weighted counts


class LstmParams(BaselineParams):
    """LSTM (one layer, softmax readout) trained by backpropagation through time with Adam (PyTorch)."""

    model: Literal["lstm"] = Field("lstm", description="'lstm': an LSTM trained by truncated backpropagation through time")
    n_units: int = Field(32, ge=1, le=4096, description="hidden (cell) units of the LSTM layer")
    lr: float = Field(0.01, gt=0, le=1, description="Adam learning rate")
    truncation: int = Field(32, ge=1, le=4096, description="steps per truncated BPTT segment: the stream is cut into segments of "
                            "this many symbols, the state carried across (gradients are not), one Adam step per segment")
    regime: Literal["one_pass", "converge"] = Field(
        "one_pass", description="'one_pass': learn online while plastic, each segment once as it comes (the cortex's budget); "
        "'converge': the same online pass, then, when plasticity is switched off, further epochs over the stored training "
        "stream's first nine tenths until the loss on its last tenth stops improving (or max_epochs), then frozen at the best epoch")
    max_epochs: int = Field(500, ge=1, le=10000, description="converge: at most this many epochs after the online pass")
    patience: int = Field(50, ge=1, le=1000, description="converge: stop after this many epochs without a held-out loss improvement of "
                          "more than min_improvement (the best epoch's weights are kept); long enough to cross the plateau before a "
                          "long-range dependency is found (embedded_reber_long, 1,000 strings: patience 10 stopped after 11 epochs at "
                          "chance, 50 ran 93-127 and solved it)")
    min_improvement: float = Field(1e-3, ge=0, le=1, description="converge: relative held-out loss decrease that counts as improving")
    threads: int = Field(1, ge=1, le=64, description="torch CPU threads (torch.set_num_threads)")


#: model name -> (params class, "module:class" of the implementation)
BASELINE_MODELS = {
    "ngram": (NgramParams, "cortex.baselines.ngram:NgramCortex"),
    "lstm": (LstmParams, "cortex.baselines.lstm:LstmCortex"),
}
