"""Writes small seed inputs for the fuzz targets from ../shared/data (real files, cut down so
the fuzzer mutates them quickly). Usage: make_seeds.py SHARED_DATA_DIR OUT_DIR"""
import io, os, sys
import numpy as np

shared, out = sys.argv[1], sys.argv[2]

def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def lzf_literals(b):
    # Literal-only LZF: valid input for any LZF decoder.
    return b"".join(bytes([len(b[i:i + 32]) - 1]) + b[i:i + 32] for i in range(0, len(b), 32))

kitti = np.fromfile(os.path.join(shared, "kitti_object/training_000000.bin"), dtype="<f4").reshape(-1, 4)
put("bin", "kitti64.bin", kitti[:64].tobytes())
nus = np.fromfile(os.path.join(shared, "nuscenes/n008-2018-09-18-12-07-26-0400__LIDAR_TOP__1537287083900561.pcd.bin"), dtype="<f4")
put("nuscenes_bin", "nus40.bin", nus[:200].tobytes())

pts = kitti[:12]
head = ("VERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n"
        "WIDTH 12\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 12\nDATA %s\n")
put("pcd", "ascii.pcd", (head % "ascii").encode() + "".join(" ".join("%g" % v for v in p) + "\n" for p in pts).encode())
put("pcd", "binary.pcd", (head % "binary").encode() + pts.tobytes())
soa = np.ascontiguousarray(pts.T).tobytes()
z = lzf_literals(soa)
put("pcd", "compressed.pcd", (head % "binary_compressed").encode() + np.array([len(z), len(soa)], "<u4").tobytes() + z)
with open(os.path.join(shared, "semantickitti_seq00_pcd/000000.pcd"), "rb") as f:
    real = f.read()
cut = real.index(b"DATA binary\n") + len(b"DATA binary\n")
put("pcd", "semantickitti_head.pcd", real[:cut].replace(b"124668", b"8") + real[cut:cut + 8 * 16])

with open(os.path.join(shared, "ply/stanford_bunny_bun_zipper_res3.ply"), "rb") as f:
    lines = f.read().split(b"\n")
end = lines.index(b"end_header")
hdr = [l.replace(b"1889", b"20").replace(b"3851", b"3") for l in lines[:end + 1]]
faces = [b"3 0 1 2", b"3 1 2 3", b"3 2 3 4"]
put("ply", "bunny20.ply", b"\n".join(hdr + lines[end + 1:end + 21] + faces) + b"\n")
put("ply", "binary.ply", b"ply\nformat binary_little_endian 1.0\nelement vertex 12\nproperty float x\n"
    b"property float y\nproperty float z\nproperty float intensity\nelement face 1\n"
    b"property list uchar int vertex_indices\nend_header\n" + pts.tobytes() + b"\x03" + np.arange(3, dtype="<i4").tobytes())

buf = io.BytesIO(); np.save(buf, pts[:, :3]); put("npy", "f4.npy", buf.getvalue())
buf = io.BytesIO(); np.save(buf, pts.astype(">f8")); put("npy", "f8be.npy", buf.getvalue())
buf = io.BytesIO(); np.save(buf, pts[:, :3].astype("<f2")); put("npy", "f2.npy", buf.getvalue())
buf = io.BytesIO(); np.savez(buf, pc1=pts[:, :3], pc2=pts[:, :3], flow=pts[:, :3] * 0); put("npz", "stored.npz", buf.getvalue())
buf = io.BytesIO(); np.savez_compressed(buf, pos1=pts[:, :3], pos2=pts[:, :3], gt=pts[:, :3], idx=np.arange(12)); put("npz", "deflated.npz", buf.getvalue())

for target, name in [("kitti_label", "kitti_object/training_000001_label_2.txt"),
                     ("kitti_calib", "kitti_object/training_000000_calib.txt")]:
    with open(os.path.join(shared, name), "rb") as f:
        put(target, os.path.basename(name), f.read())
with open(os.path.join(shared, "kitti_odometry_seq00/poses_00_with_times.txt"), "rb") as f:
    put("kitti_poses", "poses5.txt", b"".join(f.readlines()[:5]))
put("kitti_poses", "tr.txt", b"Tr: 4.2e-04 -9.9e-01 -8.0e-03 -1.1e-02 -7.2e-03 8.0e-03 -9.9e-01 -5.4e-02 9.9e-01 4.8e-04 -7.2e-03 -2.9e-01\n")
