"""turktui: watch Amazon Mechanical Turk HITs and extend them safely from a terminal."""

__version__ = "0.1.0"
