"""Wire formats, sans-IO, and the thin Twisted protocols that move their bytes.

Nothing here knows about the gateway: codecs take bytes and give values, so they can be
tested, fuzzed and benchmarked without a reactor.
"""
