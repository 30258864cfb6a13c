"""SMPP 3.4 numbers: command ids, command statuses and optional-parameter tags.

Statuses are plain ints, not an enum: vendor codes (0x400-0x4FF) and anything else a
carrier invents must pass through untouched, so the table only names what it knows.
"""

from __future__ import annotations

from typing import Final

RESPONSE_BIT: Final = 0x80000000

GENERIC_NACK: Final = 0x80000000
BIND_RECEIVER: Final = 0x00000001
BIND_RECEIVER_RESP: Final = 0x80000001
BIND_TRANSMITTER: Final = 0x00000002
BIND_TRANSMITTER_RESP: Final = 0x80000002
QUERY_SM: Final = 0x00000003
QUERY_SM_RESP: Final = 0x80000003
SUBMIT_SM: Final = 0x00000004
SUBMIT_SM_RESP: Final = 0x80000004
DELIVER_SM: Final = 0x00000005
DELIVER_SM_RESP: Final = 0x80000005
UNBIND: Final = 0x00000006
UNBIND_RESP: Final = 0x80000006
REPLACE_SM: Final = 0x00000007
REPLACE_SM_RESP: Final = 0x80000007
CANCEL_SM: Final = 0x00000008
CANCEL_SM_RESP: Final = 0x80000008
BIND_TRANSCEIVER: Final = 0x00000009
BIND_TRANSCEIVER_RESP: Final = 0x80000009
OUTBIND: Final = 0x0000000B
ENQUIRE_LINK: Final = 0x00000015
ENQUIRE_LINK_RESP: Final = 0x80000015
SUBMIT_MULTI: Final = 0x00000021
SUBMIT_MULTI_RESP: Final = 0x80000021
ALERT_NOTIFICATION: Final = 0x00000102
DATA_SM: Final = 0x00000103
DATA_SM_RESP: Final = 0x80000103

COMMAND_NAMES: Final[dict[int, str]] = {
    GENERIC_NACK: "generic_nack",
    BIND_RECEIVER: "bind_receiver",
    BIND_RECEIVER_RESP: "bind_receiver_resp",
    BIND_TRANSMITTER: "bind_transmitter",
    BIND_TRANSMITTER_RESP: "bind_transmitter_resp",
    QUERY_SM: "query_sm",
    QUERY_SM_RESP: "query_sm_resp",
    SUBMIT_SM: "submit_sm",
    SUBMIT_SM_RESP: "submit_sm_resp",
    DELIVER_SM: "deliver_sm",
    DELIVER_SM_RESP: "deliver_sm_resp",
    UNBIND: "unbind",
    UNBIND_RESP: "unbind_resp",
    REPLACE_SM: "replace_sm",
    REPLACE_SM_RESP: "replace_sm_resp",
    CANCEL_SM: "cancel_sm",
    CANCEL_SM_RESP: "cancel_sm_resp",
    BIND_TRANSCEIVER: "bind_transceiver",
    BIND_TRANSCEIVER_RESP: "bind_transceiver_resp",
    OUTBIND: "outbind",
    ENQUIRE_LINK: "enquire_link",
    ENQUIRE_LINK_RESP: "enquire_link_resp",
    SUBMIT_MULTI: "submit_multi",
    SUBMIT_MULTI_RESP: "submit_multi_resp",
    ALERT_NOTIFICATION: "alert_notification",
    DATA_SM: "data_sm",
    DATA_SM_RESP: "data_sm_resp",
}
COMMAND_IDS: Final[dict[str, int]] = {name: cid for cid, name in COMMAND_NAMES.items()}

#: Requests that the peer never answers (everything else gets command_id | RESPONSE_BIT).
UNANSWERED: Final = frozenset({OUTBIND, ALERT_NOTIFICATION})

# Command statuses (SMPP 3.4 section 5.1.3).
ESME_ROK: Final = 0x00
ESME_RINVMSGLEN: Final = 0x01
ESME_RINVCMDLEN: Final = 0x02
ESME_RINVCMDID: Final = 0x03
ESME_RINVBNDSTS: Final = 0x04
ESME_RALYBND: Final = 0x05
ESME_RINVPRTFLG: Final = 0x06
ESME_RINVREGDLVFLG: Final = 0x07
ESME_RSYSERR: Final = 0x08
ESME_RINVSRCADR: Final = 0x0A
ESME_RINVDSTADR: Final = 0x0B
ESME_RINVMSGID: Final = 0x0C
ESME_RBINDFAIL: Final = 0x0D
ESME_RINVPASWD: Final = 0x0E
ESME_RINVSYSID: Final = 0x0F
ESME_RCANCELFAIL: Final = 0x11
ESME_RREPLACEFAIL: Final = 0x13
ESME_RMSGQFUL: Final = 0x14
ESME_RINVSERTYP: Final = 0x15
ESME_RINVNUMDESTS: Final = 0x33
ESME_RINVDLNAME: Final = 0x34
ESME_RINVDESTFLAG: Final = 0x40
ESME_RINVSUBREP: Final = 0x42
ESME_RINVESMCLASS: Final = 0x43
ESME_RCNTSUBDL: Final = 0x44
ESME_RSUBMITFAIL: Final = 0x45
ESME_RINVSRCTON: Final = 0x48
ESME_RINVSRCNPI: Final = 0x49
ESME_RINVDSTTON: Final = 0x50
ESME_RINVDSTNPI: Final = 0x51
ESME_RINVSYSTYP: Final = 0x53
ESME_RINVREPFLAG: Final = 0x54
ESME_RINVNUMMSGS: Final = 0x55
ESME_RTHROTTLED: Final = 0x58
ESME_RINVSCHED: Final = 0x61
ESME_RINVEXPIRY: Final = 0x62
ESME_RINVDFTMSGID: Final = 0x63
ESME_RX_T_APPN: Final = 0x64
ESME_RX_P_APPN: Final = 0x65
ESME_RX_R_APPN: Final = 0x66
ESME_RQUERYFAIL: Final = 0x67
ESME_RINVOPTPARSTREAM: Final = 0xC0
ESME_ROPTPARNOTALLWD: Final = 0xC1
ESME_RINVPARLEN: Final = 0xC2
ESME_RMISSINGOPTPARAM: Final = 0xC3
ESME_RINVOPTPARAMVAL: Final = 0xC4
ESME_RDELIVERYFAILURE: Final = 0xFE
ESME_RUNKNOWNERR: Final = 0xFF

#: Human text per status, exactly as Kannel 1.4.5's smpp_error_to_string() words it, so a
#: DLR body such as `NACK/0x0000000b/Invalid Destination Address` reads the same as Kannel's.
#: Kannel has no entry for 0x0C (ESME_RINVMSGID): it prints "Unknown/Reserved", and so do we.
STATUS_TEXT: Final[dict[int, str]] = {
    ESME_ROK: "OK",
    ESME_RINVMSGLEN: "Message Length is invalid",
    ESME_RINVCMDLEN: "Command Length is invalid",
    ESME_RINVCMDID: "Invalid Command ID",
    ESME_RINVBNDSTS: "Incorrect BIND Status for given command",
    ESME_RALYBND: "ESME Already in Bound State",
    ESME_RINVPRTFLG: "Invalid Priority Flag",
    ESME_RINVREGDLVFLG: "Invalid Registered Delivery Flag",
    ESME_RSYSERR: "System Error",
    ESME_RINVSRCADR: "Invalid Source Address",
    ESME_RINVDSTADR: "Invalid Destination Address",
    ESME_RBINDFAIL: "Bind Failed",
    ESME_RINVPASWD: "Invalid Password",
    ESME_RINVSYSID: "Invalid System ID",
    ESME_RCANCELFAIL: "Cancel SM Failed",
    ESME_RREPLACEFAIL: "Replace SM Failed",
    ESME_RMSGQFUL: "Message Queue Full",
    ESME_RINVSERTYP: "Invalid Service Type",
    ESME_RINVNUMDESTS: "Invalid number of destinations",
    ESME_RINVDLNAME: "Invalid Distribution List Name",
    ESME_RINVDESTFLAG: "Destination flag is invalid",
    ESME_RINVSUBREP: "Submit w/replace not supported/allowed",
    ESME_RINVESMCLASS: "Invalid esm_class field data",
    ESME_RCNTSUBDL: "Cannot Submit to Distribution List",
    ESME_RSUBMITFAIL: "Submit failed",
    ESME_RINVSRCTON: "Invalid Source address TON",
    ESME_RINVSRCNPI: "Invalid Source address NPI",
    ESME_RINVDSTTON: "Invalid Destination address TON",
    ESME_RINVDSTNPI: "Invalid Destination address NPI",
    ESME_RINVSYSTYP: "Invalid system_type field",
    ESME_RINVREPFLAG: "Invalid replace_if_present flag",
    ESME_RINVNUMMSGS: "Invalid number of messages",
    ESME_RTHROTTLED: "Throttling error",
    ESME_RINVSCHED: "Invalid Scheduled Delivery Time",
    ESME_RINVEXPIRY: "Invalid message validity period",
    ESME_RINVDFTMSGID: (
        "Predefined Message ID is Invalid or specific predefined message was not found"
    ),
    ESME_RX_T_APPN: "ESME Receiver Temporary App Error Code",
    ESME_RX_P_APPN: "ESME Receiver Permanent App Error Code",
    ESME_RX_R_APPN: "ESME Receiver Reject Message Error Code",
    ESME_RQUERYFAIL: "query_sm request failed",
    ESME_RINVOPTPARSTREAM: "Error in optional part of the PDU Body",
    ESME_ROPTPARNOTALLWD: "TLV not allowed",
    ESME_RINVPARLEN: "Invalid Parameter Length",
    ESME_RMISSINGOPTPARAM: "Expected TLV missing",
    ESME_RINVOPTPARAMVAL: "Invalid TLV value",
    ESME_RDELIVERYFAILURE: "Transaction Delivery Failure",
    ESME_RUNKNOWNERR: "Unknown Error",
    # SMPP 5.0 codes Kannel also names.
    0x100: "ESME Not authorized to use specified service_type",
    0x101: "ESME Prohibited from using specified operation",
    0x102: "Specified service_type is unavailable",
    0x103: "Specified service_type is denied",
    0x104: "Invalid Data Coding Scheme",
    0x105: "Source Address Sub unit is invalid",
    0x106: "Destination Address Sub unit is invalid",
    0x107: "Broadcast Frequency Interval is invalid",
    0x108: "Broadcast Alias Name is invalid",
    0x109: "Broadcast Area Format is invalid",
    0x10A: "Number of Broadcast Areas is invalid",
    0x10B: "Broadcast Content Type is invalid",
    0x10C: "Broadcast Message Class is invalid",
    0x10D: "broadcast_sm operation failed",
    0x10E: "broadcast_query_sm operation failed",
    0x10F: "broadcast_cancel_sm operation failed",
    0x110: "Number of Repeated Broadcasts is invalid",
    0x111: "Broadcast Service Group is invalid",
    0x112: "Broadcast Channel Indicator is invalid",
}


def status_text(status: int) -> str:
    """Text for any status, including vendor and reserved ones a carrier may send."""
    text = STATUS_TEXT.get(status)
    if text is not None:
        return text
    if 0x400 <= status <= 0x4FF:
        return "Vendor-specific error, please refer to your SMPP provider"
    return "Unknown/Reserved"


# Optional parameter (TLV) tags, SMPP 3.4 section 5.3.2.
TAG_DEST_ADDR_SUBUNIT: Final = 0x0005
TAG_DEST_NETWORK_TYPE: Final = 0x0006
TAG_DEST_BEARER_TYPE: Final = 0x0007
TAG_DEST_TELEMATICS_ID: Final = 0x0008
TAG_SOURCE_ADDR_SUBUNIT: Final = 0x000D
TAG_SOURCE_NETWORK_TYPE: Final = 0x000E
TAG_SOURCE_BEARER_TYPE: Final = 0x000F
TAG_SOURCE_TELEMATICS_ID: Final = 0x0010
TAG_QOS_TIME_TO_LIVE: Final = 0x0017
TAG_PAYLOAD_TYPE: Final = 0x0019
TAG_ADDITIONAL_STATUS_INFO_TEXT: Final = 0x001D
TAG_RECEIPTED_MESSAGE_ID: Final = 0x001E
TAG_MS_MSG_WAIT_FACILITIES: Final = 0x0030
TAG_PRIVACY_INDICATOR: Final = 0x0201
TAG_SOURCE_SUBADDRESS: Final = 0x0202
TAG_DEST_SUBADDRESS: Final = 0x0203
TAG_USER_MESSAGE_REFERENCE: Final = 0x0204
TAG_USER_RESPONSE_CODE: Final = 0x0205
TAG_SOURCE_PORT: Final = 0x020A
TAG_DESTINATION_PORT: Final = 0x020B
TAG_SAR_MSG_REF_NUM: Final = 0x020C
TAG_LANGUAGE_INDICATOR: Final = 0x020D
TAG_SAR_TOTAL_SEGMENTS: Final = 0x020E
TAG_SAR_SEGMENT_SEQNUM: Final = 0x020F
TAG_SC_INTERFACE_VERSION: Final = 0x0210
TAG_CALLBACK_NUM_PRES_IND: Final = 0x0302
TAG_CALLBACK_NUM_ATAG: Final = 0x0303
TAG_NUMBER_OF_MESSAGES: Final = 0x0304
TAG_CALLBACK_NUM: Final = 0x0381
TAG_DPF_RESULT: Final = 0x0420
TAG_SET_DPF: Final = 0x0421
TAG_MS_AVAILABILITY_STATUS: Final = 0x0422
TAG_NETWORK_ERROR_CODE: Final = 0x0423
TAG_MESSAGE_PAYLOAD: Final = 0x0424
TAG_DELIVERY_FAILURE_REASON: Final = 0x0425
TAG_MORE_MESSAGES_TO_SEND: Final = 0x0426
TAG_MESSAGE_STATE: Final = 0x0427
TAG_USSD_SERVICE_OP: Final = 0x0501
TAG_DISPLAY_TIME: Final = 0x1201
TAG_SMS_SIGNAL: Final = 0x1203
TAG_MS_VALIDITY: Final = 0x1204
TAG_ALERT_ON_MESSAGE_DELIVERY: Final = 0x130C
TAG_ITS_REPLY_TYPE: Final = 0x1380
TAG_ITS_SESSION_INFO: Final = 0x1383

# message_state values (receipts and query_sm_resp).
STATE_ENROUTE: Final = 1
STATE_DELIVERED: Final = 2
STATE_EXPIRED: Final = 3
STATE_DELETED: Final = 4
STATE_UNDELIVERABLE: Final = 5
STATE_ACCEPTED: Final = 6
STATE_UNKNOWN: Final = 7
STATE_REJECTED: Final = 8

# esm_class bits that mark a deliver_sm/data_sm as a receipt (Kannel's handle_dlr test).
ESM_RECEIPT_MASK: Final = 0x04 | 0x08 | 0x20
ESM_UDHI: Final = 0x40
