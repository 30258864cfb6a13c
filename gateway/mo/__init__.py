"""Mobile-originated SMS: from an SMSC link's deliver_sm to an sms-service and its reply.

`MoReceiver` (receiver.py) is the entry point; inbound.py shapes the MO as Kannel's SMPP
connector does, concat.py reassembles concatenated MOs, services.py chooses the sms-service,
actions.py runs it and builds the reply SMS. See docs/mo.md.
"""

from gateway.mo.receiver import MoCounters, MoReceiver

__all__ = ["MoCounters", "MoReceiver"]
