"""The numpy backpropagation engine. Pure numpy, float64; imports nothing from the web side."""
