"""What makes Passerelle a Kannel replacement: config, message model, accept and dispatch paths,
SMSC connectors, callbacks, admin web, metrics, logging and the twistd service composition.

The lower layers (``native``, ``protocols``, ``storage``) never import this package (the
layering rules are in the design notes, shared/DESIGN.md).
"""
