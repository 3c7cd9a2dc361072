"""Patron's customer science core.

A library of pure functions and scikit-learn-style estimators over polars frames and numpy
arrays. It never imports Django (a test enforces this): `patron.insights` is the only bridge
between the database and this package, and `patron analyze` uses it on plain files.
"""
