"""Customer value intelligence: purchase models (BG/NBD, MBG/NBD, Gamma-Gamma), RFM, Pareto,
value tiers, lifecycle stages, next best actions, and the batch job that computes them all."""
