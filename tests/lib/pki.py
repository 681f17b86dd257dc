"""A throwaway x509 PKI made with certtool (gnutls-bin), for the TLS tests.

make_pki(dir) writes, as docs/iovirtd.8.md tells an operator to:
  ca/cacert.pem, ca/cakey.pem          the CA
  server/servercert.pem, serverkey.pem for 127.0.0.1 / localhost
  client/{cacert,clientcert,clientkey}.pem   libvirt's pkipath layout
and returns a dict of the paths. Extra certificates (another CA, an
expired client, a server for another name) come from make_cert().
"""

import os
import subprocess


def _certtool(*args):
    r = subprocess.run(["certtool"] + list(args), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("certtool %s failed: %s" % (" ".join(args), r.stderr))


def _key(path):
    _certtool("--generate-privkey", "--key-type", "rsa", "--bits", "2048", "--outfile", path)
    os.chmod(path, 0o600)


def _template(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def make_ca(d, cn="iovirt test CA"):
    os.makedirs(d, exist_ok=True)
    key = os.path.join(d, "cakey.pem")
    cert = os.path.join(d, "cacert.pem")
    tmpl = os.path.join(d, "ca.info")
    _key(key)
    _template(tmpl, ['cn = "%s"' % cn, "ca", "cert_signing_key", "crl_signing_key",
                     "expiration_days = 30"])
    _certtool("--generate-self-signed", "--load-privkey", key, "--template", tmpl,
              "--outfile", cert)
    return {"cert": cert, "key": key}


def make_cert(ca, d, name, role, cn, hosts=(), days=30, activation_days_ago=None):
    """A certificate `name`cert.pem / `name`key.pem in d signed by ca;
    role 'server' or 'client'; days < 0 gives an expired one."""
    os.makedirs(d, exist_ok=True)
    key = os.path.join(d, name + "key.pem")
    cert = os.path.join(d, name + "cert.pem")
    tmpl = os.path.join(d, name + ".info")
    _key(key)
    lines = ["organization = iovirt tests", 'cn = "%s"' % cn, "signing_key",
             "encryption_key"]
    lines.append("tls_www_server" if role == "server" else "tls_www_client")
    for h in hosts:
        if h.replace(".", "").isdigit():
            lines.append("ip_address = %s" % h)
        else:
            lines.append("dns_name = %s" % h)
    if days < 0:
        # valid for a day, two days ago
        lines.append('activation_date = "%s"' % _date(-3))
        lines.append('expiration_date = "%s"' % _date(-2))
    else:
        lines.append("expiration_days = %d" % days)
    _template(tmpl, lines)
    _certtool("--generate-certificate", "--load-privkey", key, "--load-ca-certificate",
              ca["cert"], "--load-ca-privkey", ca["key"], "--template", tmpl, "--outfile", cert)
    return {"cert": cert, "key": key}


def _date(days):
    import datetime
    t = datetime.datetime.utcnow() + datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def make_crl(ca, d, revoked):
    """A CRL of `ca` revoking the certificates `revoked` (dicts of make_cert)."""
    os.makedirs(d, exist_ok=True)
    crl = os.path.join(d, "cacrl.pem")
    tmpl = os.path.join(d, "crl.info")
    _template(tmpl, ["crl_next_update = 30", "crl_number = 1"])
    args = ["--generate-crl", "--load-ca-privkey", ca["key"], "--load-ca-certificate", ca["cert"],
            "--template", tmpl, "--outfile", crl]
    for r in revoked:
        args += ["--load-certificate", r["cert"]]
    _certtool(*args)
    return crl


def pkipath(d, ca, client):
    """A directory in libvirt's pkipath layout for `client`."""
    os.makedirs(d, exist_ok=True)
    for src, dst in ((ca["cert"], "cacert.pem"), (client["cert"], "clientcert.pem"),
                     (client["key"], "clientkey.pem")):
        with open(src) as f, open(os.path.join(d, dst), "w") as g:
            g.write(f.read())
    os.chmod(os.path.join(d, "clientkey.pem"), 0o600)
    return d


def make_pki(d):
    ca = make_ca(os.path.join(d, "ca"))
    server = make_cert(ca, os.path.join(d, "server"), "server", "server", "localhost",
                       hosts=("localhost", "127.0.0.1"))
    client = make_cert(ca, os.path.join(d, "client-certs"), "client", "client",
                       "iovirt test client")
    return {"ca": ca, "server": server, "client": client,
            "pkipath": pkipath(os.path.join(d, "client"), ca, client)}
