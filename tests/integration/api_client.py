#!/usr/bin/python3
"""A window system in Python: pulls the records of a subscription over TLS
with a client certificate, acknowledges them, and looks up a resident and
their household — with bindings generated from core/api/renkei.thrift by
`thrift --gen py` and Debian's python3-thrift. Used by test_api; prints one
JSON object with what it saw (no personal values beyond what the test checks).

  api_client.py GEN_PY_DIR PORT CA CERT KEY SUBSCRIPTION
"""
import json
import ssl
import sys

sys.path.insert(0, sys.argv[1])

from thrift.protocol import TBinaryProtocol, TMultiplexedProtocol  # noqa: E402
from thrift.transport import TSSLSocket, TTransport  # noqa: E402

from renkei_api import RecordService  # noqa: E402
from renkei_crm_api import ResidentService  # noqa: E402
from renkei_api.ttypes import ApiError  # noqa: E402

port, ca, cert, key, subscription = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]

context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
context.minimum_version = ssl.TLSVersion.TLSv1_2
context.load_cert_chain(cert, key)
socket = TSSLSocket.TSSLSocket("localhost", port, ssl_context=context)
transport = TTransport.TBufferedTransport(socket)
protocol = TBinaryProtocol.TBinaryProtocol(transport)
transport.open()
records = RecordService.Client(TMultiplexedProtocol.TMultiplexedProtocol(protocol, "RecordService"))
residents = ResidentService.Client(TMultiplexedProtocol.TMultiplexedProtocol(protocol, "ResidentService"))

seen = {"batches": 0, "records": 0, "acknowledged": 0}
first = None
latest = {}  # resident code -> the last record pulled for it (the cache keeps the latest)
while True:
    batches = records.pull(subscription, 4)
    if not batches:
        break
    for b in batches:
        seen["batches"] += 1
        seen["records"] += len(b.records)
        if first is None:
            first = dict(zip(b.fields, b.records[0]))
        for row in b.records:
            record = dict(zip(b.fields, row))
            latest[record["resident_code"]] = record
    result = records.ack(subscription, [b.token for b in batches])
    seen["acknowledged"] += result.acknowledged

resident = residents.getResident(first["resident_code"])
household = residents.getHousehold(resident.householdNo, True)  # former members too: the householder emigrated
seen["resident_code"] = resident.residentCode
seen["resident_name_matches"] = resident.fields.get("name") == latest[first["resident_code"]]["name"]
seen["household_members"] = len(household.members)
seen["householder_current"] = household.members[0].current
seen["current_members"] = len(residents.getHousehold(resident.householdNo, False).members)
seen["householder_first"] = household.members[0].fields.get("relationship") == "世帯主"
try:
    residents.getResident("99999999999")
    seen["unknown"] = "found"
except ApiError as e:
    seen["unknown"] = e.code
transport.close()
print(json.dumps(seen, ensure_ascii=False))
