"""bdprocess: neuron birth-death dynamics as an interacting particle system in JAX.

Rotskoff, Jelassi, Bruna, Vanden-Eijnden, "Neuron birth-death dynamics accelerates
gradient descent and converges asymptotically", ICML 2019.
"""

from . import meanfield as meanfield
from ._birth_death import BirthDeath as BirthDeath
from ._data_potential import DataPotential as DataPotential
from ._events import BIRTH as BIRTH
from ._events import DEATH as DEATH
from ._events import EventLog as EventLog
from ._events import Jumps as Jumps
from ._population import Population as Population
from ._potential import AbstractPotential as AbstractPotential
from ._potential import Evaluation as Evaluation
from ._potential import KernelPotential as KernelPotential
from ._potential import block_reduce as block_reduce
from ._potential import kernel_mean as kernel_mean
from ._process import AbstractProcess as AbstractProcess
from ._progress import progress_bar as progress_bar
from ._reaction import ReactionNetwork as ReactionNetwork
from ._simulate import Solution as Solution
from ._simulate import ensemble as ensemble
from ._simulate import simulate as simulate
from ._solver._base import AbstractSolver as AbstractSolver
from ._solver._base import StepInfo as StepInfo
from ._solver.direct import Direct as Direct
from ._solver.extrande import Extrande as Extrande
from ._solver.splitting import Splitting as Splitting
from ._solver.tau_leap import AdaptiveTauLeap as AdaptiveTauLeap
from ._solver.tau_leap import TauLeap as TauLeap
from ._status import Status as Status

__version__ = "0.1.0"
