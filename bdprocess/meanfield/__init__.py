"""The mean-field PDE d_t rho = div(rho grad V[rho]) - alpha (V - Vbar[rho]) rho on grids.

Finite volumes on 1-D and 2-D tensor grids: Strang splitting of the Carrillo-Chertock-
Huang upwind transport step and an exact (exponential) reaction step, with optional
rebirth from a prior. Models supply V and E on the grid (:class:`AbstractGridPotential`).
"""

from ._grid import MIN_CELLS as MIN_CELLS
from ._grid import Grid as Grid
from ._grid import normal_cdf as normal_cdf
from ._grid import normalise as normalise
from ._grid import point_mass_cdf as point_mass_cdf
from ._grid import uniform_cdf as uniform_cdf
from ._model import AbstractGridPotential as AbstractGridPotential
from ._observables import energy_distance as energy_distance
from ._observables import expectation as expectation
from ._observables import histogram as histogram
from ._observables import marginal as marginal
from ._observables import wasserstein1 as wasserstein1
from ._reaction import reaction_dissipation as reaction_dissipation
from ._reaction import reaction_step as reaction_step
from ._solve import MeanFieldSolution as MeanFieldSolution
from ._solve import solve as solve
from ._solve import strang_step as strang_step
from ._transport import MAX_CFL as MAX_CFL
from ._transport import transport_rhs as transport_rhs
from ._transport import transport_speed as transport_speed
from ._transport import transport_step as transport_step
