#!/usr/bin/python3
"""Load an adseed LDIF into a stopped Samba DC's sam.ldb (samba-dc.sh seed --offline).

usage: samba-offline-load.py SMB_CONF LDIF PRIMARY [BATCH]

The records go through Samba's own module stack (objectGUID, objectSid and
RID allocation, sAMAccountType, linked attributes and memberOf, security
descriptors) as Administrator, the account LDAP seeding binds as, in
transactions of BATCH records (default 2000) instead of one per LDAP
request. PRIMARY lists "user DN<TAB>group DN" lines: primaryGroupID is set
once the groups have their RIDs, as the LDAP seeding does (empty when the
memberships are added over LDAP afterwards).
"""
import sys
import time

import ldb
from samba import param
from samba.auth import admin_session, system_session
from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.samdb import SamDB


def main():
    conf, ldif_path, primary_path = sys.argv[1:4]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    lp = param.LoadParm()
    lp.load(conf)
    url = lp.private_path("sam.ldb")
    sid = SamDB(url=url, session_info=system_session(), lp=lp).get_domain_sid()
    # batch_mode: no sub-transaction per record (it made each add cost more
    # as the transaction grew); any error aborts the whole load instead.
    db = SamDB(url=url, session_info=admin_session(lp, sid), lp=lp, flags=ldb.FLG_NOSYNC,
               options=["batch_mode:1"])

    t0 = time.time()
    with open(ldif_path, encoding="utf-8") as f:
        text = f.read()
    n = 0
    lap = time.time()
    db.transaction_start()
    try:
        for changetype, msg in db.parse_ldif(text):
            if changetype == ldb.CHANGETYPE_ADD:
                db.add(msg)
            elif changetype == ldb.CHANGETYPE_MODIFY:
                db.modify(msg)
            else:
                raise SystemExit("unexpected changetype %r for %s" % (changetype, msg.dn))
            n += 1
            if n % batch == 0:
                db.transaction_commit()
                db.transaction_start()
                now = time.time()
                print("samba-offline-load: %d records, %.1fs (%.0f/s)" % (n, now - t0, batch / (now - lap)), flush=True)
                lap = now
        rids = {}
        with open(primary_path, encoding="utf-8") as f:
            for line in f:
                user, group = line.rstrip("\n").split("\t")
                key = group.lower()
                if key not in rids:
                    res = db.search(base=group, scope=ldb.SCOPE_BASE, attrs=["objectSid"])
                    gsid = str(ndr_unpack(security.dom_sid, res[0]["objectSid"][0]))
                    rids[key] = gsid.rsplit("-", 1)[1]
                m = ldb.Message(ldb.Dn(db, user))
                m["primaryGroupID"] = ldb.MessageElement(rids[key], ldb.FLAG_MOD_REPLACE, "primaryGroupID")
                db.modify(m)
        db.transaction_commit()
    except BaseException:
        db.transaction_cancel()
        raise
    print("samba-offline-load: %d records in %.1fs" % (n, time.time() - t0), flush=True)


if __name__ == "__main__":
    main()
