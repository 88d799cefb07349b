"""Backprop Lab: watch a neural network learn, live."""

__version__ = "0.1.0"
