"""Independent BMP reference for selo's interop tests (Python stdlib only).

Reads {"cases": [...]} on stdin, writes {"results": [...]} on stdout.
  {"op": "hmac", "key": str, "body_b64": str}        -> {"hmac_hex", "hmac_base64"}
  {"op": "raw", "key_hex": str, "data_hex": str}      -> {"hmac_hex"}
  {"op": "build", "key": str, "template": str,
   "money_fields": [str]}                             -> {"body_b64", "hmac_hex"} or {"error"}
"build" re-implements the canonical body: minified, member order kept,
json.dumps string escaping with ensure_ascii=False, money members
(valor/Valor + money_fields) as numbers with exactly two fraction digits,
other numbers with their text unchanged.
"""
import base64
import decimal
import hashlib
import hmac
import json
import sys


class Raw(str):
    """A number's exact text."""


def money(v):
    if isinstance(v, bool) or v is None:
        raise ValueError("money must be a number or a decimal string")
    d = decimal.Decimal(str(v))
    if d.as_tuple().exponent < -2 or d < 0 or "e" in str(v).lower():
        raise ValueError("bad amount %r" % (v,))
    return "%s" % d.quantize(decimal.Decimal("0.01"))


def write(v, names):
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            enc = money(x) if k in names and x is not None else write(x, names)
            parts.append(json.dumps(k, ensure_ascii=False) + ":" + enc)
        return "{" + ",".join(parts) + "}"
    if isinstance(v, list):
        return "[" + ",".join(write(x, names) for x in v) + "]"
    if isinstance(v, Raw):
        return str(v)
    return json.dumps(v, ensure_ascii=False)


def main():
    results = []
    for c in json.load(sys.stdin)["cases"]:
        op = c["op"]
        if op == "hmac":
            mac = hmac.new(c["key"].encode("utf-8"), base64.b64decode(c["body_b64"]), hashlib.sha512).digest()
            results.append({"hmac_hex": mac.hex(), "hmac_base64": base64.b64encode(mac).decode()})
        elif op == "raw":
            mac = hmac.new(bytes.fromhex(c["key_hex"]), bytes.fromhex(c["data_hex"]), hashlib.sha512).hexdigest()
            results.append({"hmac_hex": mac})
        elif op == "build":
            names = {"valor", "Valor", *c.get("money_fields", [])}
            try:
                tree = json.loads(c["template"], parse_float=Raw, parse_int=Raw)
                body = write(tree, names).encode("utf-8")
            except (ValueError, decimal.InvalidOperation) as e:
                results.append({"error": str(e)})
                continue
            mac = hmac.new(c["key"].encode("utf-8"), body, hashlib.sha512).hexdigest()
            results.append({"body_b64": base64.b64encode(body).decode(), "hmac_hex": mac})
        else:
            raise SystemExit("unknown op " + op)
    json.dump({"results": results}, sys.stdout)


main()
