"""SMS encoding, sans-IO: GSM 03.38, charsets, data coding, UDH and splitting into parts.

Each module reproduces what Kannel 1.4.5 puts on the wire (docs/encoding.md has the rules
and the observations behind them). Functions are pure, bytes in and bytes out, so that a
native twin can replace them with the same results.
"""
