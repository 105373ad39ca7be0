"""towncover: are our civil-affairs facilities where the plan says they must be?"""

from towncover.errors import TowncoverError

__all__ = ["TowncoverError"]
__version__ = "0.1.0"
