"""Callbacks: thin functions that read inputs, call data/ and layouts/, and return outputs."""
