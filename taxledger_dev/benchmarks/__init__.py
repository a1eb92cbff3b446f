"""Measurements behind the figures in the README: each prints what it measured, nothing is
assumed. ``taxledger bench`` runs them side by side on one node."""
