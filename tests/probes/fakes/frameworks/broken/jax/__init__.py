# A jax whose jaxlib is of another release.
raise ImportError("jaxlib version 0.4.30 is installed, but jax 0.10.2 requires jaxlib >= 0.10.2.")
