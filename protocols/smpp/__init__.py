"""SMPP 3.4: codec, framer, ESME session and the SMSC simulator."""
