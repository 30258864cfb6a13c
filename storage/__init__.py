"""Durable state: the spool (segment log, group-commit fsync, priority lanes, caps, crash
recovery), the DLR store (embedded by default, Redis through txredisapi, one interface), and
later the Redis Streams queue for several nodes.

May import the stdlib, twisted and txredisapi; never ``gateway``.
"""
