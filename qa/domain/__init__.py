"""The rules of the product, as plain functions over a SQLAlchemy session.

Nothing here imports Flask or Socket.IO: HTTP routes and Socket.IO handlers
are thin adapters over these functions, so one rule serves both.
"""
