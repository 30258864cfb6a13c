"""Kannel's HTTP sendsms interface: read a request, validate it, turn it into messages.

`params` reads a request into raw values (sans-IO), `validate` applies smsbox's checks in
smsbox's order with its exact answers, `accept` builds the `Message`s and queues them, and
`resource` serves it all over twisted.web with Kannel's status lines, headers and bodies;
`accesslog` writes smsbox's access-log lines. docs/sendsms.md describes the behaviour.
"""
