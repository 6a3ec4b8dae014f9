"""Open3D peer of render_bench.cpp: the same actions in Open3D's (legacy) visualizer, each
including the render and the read back of the frame (capture_screen_float_buffer):
update_120k (new points and colours of a 120 000-point cloud; the colours are mapped from
the scalar here, which the C++ side does in VTK's lookup table) and orbit_1M (one frame
while rotating a 1 000 000-point cloud). Prints "name median_ms" lines."""
import sys
import time

import numpy as np
import open3d as o3d


def cloud(n, seed):
    rng = np.random.default_rng(seed)
    out = np.empty((0, 3))
    while len(out) < n:
        xy = rng.uniform(-1, 1, size=(2 * n, 2))
        xy = xy[(xy ** 2).sum(1) <= 1][: n - len(out)]
        z = rng.uniform(-2, 3, size=(len(xy), 1))
        out = np.vstack([out, np.hstack([60 * xy, z])])
    return out


def colours(z):
    t = (z - z.min()) / max(z.max() - z.min(), 1e-6)
    # viridis' ends and middle, interpolated (a lookup as cheap as the C++ side's)
    stops = np.array([[0.267, 0.005, 0.329], [0.128, 0.567, 0.551], [0.993, 0.906, 0.144]])
    x = t * 2
    k = np.minimum(x.astype(int), 1)
    f = (x - k)[:, None]
    return stops[k] * (1 - f) + stops[k + 1] * f


def main():
    rounds = max(3, int(sys.argv[1])) if len(sys.argv) > 1 else 15
    vis = o3d.visualization.Visualizer()
    vis.create_window(width=1280, height=720, visible=True)
    clouds = [cloud(120000, 100 + i) for i in range(rounds + 1)]
    pc = o3d.geometry.PointCloud()
    pc.points = o3d.utility.Vector3dVector(clouds[0])
    pc.colors = o3d.utility.Vector3dVector(colours(clouds[0][:, 2]))
    vis.add_geometry(pc)
    vis.capture_screen_float_buffer(do_render=True)
    update = []
    for i in range(1, rounds + 1):
        t = time.perf_counter()
        pc.points = o3d.utility.Vector3dVector(clouds[i])
        pc.colors = o3d.utility.Vector3dVector(colours(clouds[i][:, 2]))
        vis.update_geometry(pc)
        vis.poll_events()
        vis.update_renderer()
        vis.capture_screen_float_buffer(do_render=True)
        update.append((time.perf_counter() - t) * 1e3)
    print(f"update_120k {np.median(update):.2f}")

    big = cloud(1000000, 7)
    vis.clear_geometries()
    pc = o3d.geometry.PointCloud()
    pc.points = o3d.utility.Vector3dVector(big)
    pc.colors = o3d.utility.Vector3dVector(colours(big[:, 2]))
    vis.add_geometry(pc)
    vis.capture_screen_float_buffer(do_render=True)
    ctr = vis.get_view_control()
    orbit = []
    for _ in range(rounds):
        t = time.perf_counter()
        ctr.rotate(10.0, 0.0)
        vis.poll_events()
        vis.update_renderer()
        vis.capture_screen_float_buffer(do_render=True)
        orbit.append((time.perf_counter() - t) * 1e3)
    print(f"orbit_1M {np.median(orbit):.2f}")
    vis.destroy_window()


if __name__ == "__main__":
    main()
