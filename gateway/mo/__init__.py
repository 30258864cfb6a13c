"""Mobile-originated SMS: from an SMSC link's deliver_sm to an sms-service and its reply.

inbound.py shapes the MO as Kannel's SMPP connector does. See docs/mo.md.
"""
