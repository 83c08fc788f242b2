"""The few DER pieces the emulator reads or writes itself.

cryptography parses whole CSRs and certificates; these helpers cover what it
leaves as raw bytes (extension values) and need strict, explainable checks.
"""


class DerError(ValueError):
    pass


TAG_NAMES = {
    0x01: "BOOLEAN", 0x02: "INTEGER", 0x03: "BIT STRING", 0x04: "OCTET STRING",
    0x05: "NULL", 0x06: "OBJECT IDENTIFIER", 0x0C: "UTF8String",
    0x13: "PrintableString", 0x16: "IA5String", 0x1E: "BMPString",
    0x30: "SEQUENCE", 0x31: "SET",
}


def tag_name(tag):
    return TAG_NAMES.get(tag, "tag 0x%02x" % tag)


def read_tlv(data, pos=0):
    """Parse the TLV at pos; return (tag, start, end) of its contents.

    Lengths must be definite and minimally encoded, as DER demands.
    """
    if pos + 2 > len(data):
        raise DerError("truncated: %d bytes, no room for a tag and a length" % (len(data) - pos))
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tag 0x%02x" % tag)
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DerError("indefinite length (BER, not DER)")
    else:
        n = first & 0x7F
        if n > 4 or pos + n > len(data):
            raise DerError("length of length %d is impossible here" % n)
        raw = data[pos:pos + n]
        pos += n
        length = int.from_bytes(raw, "big")
        if raw[0] == 0 or length < 0x80:
            raise DerError("length %d is not minimally encoded" % length)
    if pos + length > len(data):
        raise DerError("length %d runs past the end (%d bytes left)" % (length, len(data) - pos))
    return tag, pos, pos + length


def read_octet_string(data):
    """The contents of data, which must be exactly one DER OCTET STRING."""
    tag, start, end = read_tlv(data)
    if tag != 0x04:
        raise DerError("it is a %s (tag 0x%02x), not an OCTET STRING (tag 0x04)" % (tag_name(tag), tag))
    if end != len(data):
        raise DerError("%d bytes follow the OCTET STRING" % (len(data) - end))
    return data[start:end]


def encode_length(n):
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode_octet_string(value):
    return b"\x04" + encode_length(len(value)) + value


def encode_tlv(tag, value):
    return bytes([tag]) + encode_length(len(value)) + value
