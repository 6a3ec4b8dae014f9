"""Peers of bench/data_bench.cpp on the same files: NumPy (np.fromfile, the augment +
voxelize step written with NumPy) and Open3D (PCD reading, voxel_down_sample) when
python3-open3d is installed. Same output format. Usage: data_bench.py SHARED_DATA_DIR [repeats]"""
import statistics
import sys
import time

import numpy as np

shared = sys.argv[1]
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 20
kitti = shared + "/kitti_object/training_000001.bin"
pcd = shared + "/semantickitti_seq00_pcd/000000.pcd"


def median_ms(f):
    f()
    t = []
    for _ in range(repeats):
        a = time.perf_counter()
        f()
        t.append((time.perf_counter() - a) * 1000)
    return statistics.median(t)


def report(task, points, ms):
    print(f"{task:<22} {points / (ms / 1000):12.0f} points/s {ms:9.3f} ms")


def read_kitti():
    # The same work as the C++ reader: load, then drop rows with NaN/Inf coordinates.
    a = np.fromfile(kitti, dtype="<f4").reshape(-1, 4)
    return a[np.isfinite(a[:, :3]).all(axis=1)]


n = len(read_kitti())
report("read_kitti_bin", n, median_ms(read_kitti))
report("read_kitti_bin_nocheck", n, median_ms(lambda: np.fromfile(kitti, dtype="<f4").reshape(-1, 4)))

frame = read_kitti()[:, :3].astype(np.float64)
rng = np.random.default_rng(1)


def augment_voxelize_numpy():
    a = rng.uniform(-np.pi / 2, np.pi / 2)
    s = rng.uniform(0.95, 1.05)
    f = -1.0 if rng.uniform() < 0.5 else 1.0
    c, si = np.cos(a) * s, np.sin(a) * s
    m = np.array([[c, -si * f, 0], [si, c * f, 0], [0, 0, s]])
    p = frame @ m.T + rng.uniform(-0.2, 0.2, 3)
    lo, hi = np.array([-40, -40, -4]), np.array([40, 40, 2])
    p = p[((p >= lo) & (p < hi)).all(axis=1)]
    ijk = np.floor((p - lo) / 0.2).astype(np.int64)
    key = (ijk[:, 2] * 400 + ijk[:, 1]) * 400 + ijk[:, 0]
    uniq, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    cent = np.zeros((len(uniq), 3))
    np.add.at(cent, inv, p)
    return cent / counts[:, None]


report("augment_voxelize_0.2m", len(frame), median_ms(augment_voxelize_numpy))

try:
    import open3d as o3d
except ImportError:
    print("# open3d not installed: no Open3D peers", file=sys.stderr)
    sys.exit(0)

cloud = o3d.io.read_point_cloud(pcd)
report("read_pcd_binary", len(cloud.points), median_ms(lambda: o3d.io.read_point_cloud(pcd)))
pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(frame))


def augment_voxelize_open3d():
    a = rng.uniform(-np.pi / 2, np.pi / 2)
    t = np.eye(4)
    t[:3, :3] = o3d.geometry.get_rotation_matrix_from_axis_angle([0, 0, a]) * rng.uniform(0.95, 1.05)
    t[:3, 3] = rng.uniform(-0.2, 0.2, 3)
    q = o3d.geometry.PointCloud(pc).transform(t)
    return q.voxel_down_sample(0.2)


report("augment_voxelize_o3d", len(frame), median_ms(augment_voxelize_open3d))
