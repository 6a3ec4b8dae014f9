"""Independent TensorBoard event-file reader and writer for tests/core/test_tfevents.cpp.

Uses python3-protobuf with message types built at run time from the field numbers of
TensorFlow's event.proto / summary.proto / tensor.proto, and a bitwise CRC32C.
  read FILE         prints one line per scalar: tag step value
  write FILE        writes a TF2-style file (tensor summaries, packed and tensor_content)
"""
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def build():
    fd = descriptor_pb2.FileDescriptorProto(name="tb_check.proto", package="tbcheck")
    def msg(name, fields):
        m = fd.message_type.add(name=name)
        for fname, num, ftype, label, tname in fields:
            f = m.field.add(name=fname, number=num, type=ftype, label=label)
            if tname:
                f.type_name = ".tbcheck." + tname
    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    msg("TensorProto", [("dtype", 1, F.TYPE_INT32, opt, None),
                        ("tensor_content", 4, F.TYPE_BYTES, opt, None),
                        ("float_val", 5, F.TYPE_FLOAT, rep, None),
                        ("double_val", 6, F.TYPE_DOUBLE, rep, None)])
    msg("Value", [("tag", 1, F.TYPE_STRING, opt, None),
                  ("simple_value", 2, F.TYPE_FLOAT, opt, None),
                  ("tensor", 8, F.TYPE_MESSAGE, opt, "TensorProto")])
    msg("Summary", [("value", 1, F.TYPE_MESSAGE, rep, "Value")])
    msg("Event", [("wall_time", 1, F.TYPE_DOUBLE, opt, None),
                  ("step", 2, F.TYPE_INT64, opt, None),
                  ("file_version", 3, F.TYPE_STRING, opt, None),
                  ("summary", 5, F.TYPE_MESSAGE, opt, "Summary")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    factory = message_factory.MessageFactory(pool)
    get = lambda n: factory.GetPrototype(pool.FindMessageTypeByName("tbcheck." + n))
    return get("Event"), get("Summary"), get("Value"), get("TensorProto")


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (n,) = struct.unpack("<Q", header)
        (lc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        assert lc == masked(header), f"length crc at {pos}"
        payload = data[pos + 12:pos + 12 + n]
        (dc,) = struct.unpack("<I", data[pos + 12 + n:pos + 16 + n])
        assert dc == masked(payload), f"data crc at {pos}"
        yield payload
        pos += 16 + n


def frame(payload):
    header = struct.pack("<Q", len(payload))
    return header + struct.pack("<I", masked(header)) + payload + struct.pack("<I", masked(payload))


def main():
    Event, Summary, Value, TensorProto = build()
    if sys.argv[1] == "read":
        first = True
        for payload in records(sys.argv[2]):
            e = Event.FromString(payload)
            if first:
                assert e.file_version == "brain.Event:2", e.file_version
                first = False
                continue
            for v in e.summary.value:
                print(v.tag, e.step, repr(v.simple_value))
    else:
        out = bytearray(frame(Event(wall_time=1.0e9, file_version="brain.Event:2").SerializeToString()))
        for step in range(3):
            s = Summary()
            a = s.value.add(tag="tf2/packed")
            a.tensor.dtype = 1
            a.tensor.float_val.append(0.5 * step)
            b = s.value.add(tag="tf2/content")
            b.tensor.dtype = 2
            b.tensor.tensor_content = struct.pack("<d", 10.0 + step)
            c = s.value.add(tag="tf1/simple", simple_value=-1.0 * step)
            out += frame(Event(wall_time=1.0e9 + step, step=step * 10, summary=s).SerializeToString())
        open(sys.argv[2], "wb").write(bytes(out))


if __name__ == "__main__":
    main()
