#pragma once
// A point-cloud scene rendered off screen: the same points, colours, colour bar and camera
// as the 3D view, at any resolution, into PNG (optionally with a transparent background) or
// through VTK's GL2PS into PDF/EPS with vector text. Used by PointCloudView::exportImage and by
// `pretext-export --render` (batch over a run's snapshots). No Qt; VTK stays in the .cpp.
// Needs an X display for OpenGL (xvfb-run on a headless machine).
#include <string>
#include <utility>
#include <vector>

namespace pretext::render {

// Camera presets shared by the view and the exporter, all framing the cloud's bounds:
// orbit (behind and above the sensor, looking along +x), bird's-eye (straight down, +x up
// the image), driver (from just behind the sensor at 1 m, looking along +x).
enum class CameraPreset { Orbit, BirdsEye, Driver };
bool parseCameraPreset(const std::string& name, CameraPreset& out);  // orbit|birdseye|driver

struct SceneCamera {
  double position[3] = {-1, 0, 0.8};
  double focal[3] = {0, 0, 0};
  double viewUp[3] = {0, 0, 1};
  double viewAngle = 30;  // degrees, vertical
};
SceneCamera presetCamera(CameraPreset preset, const std::vector<float>& xyz);

// A second layer over the cloud, for the flow view: another cloud in one colour (frame
// t+1) and line segments (flow vectors, arrow heads) coloured on the scene's colour scale.
struct SceneOverlay {
  std::vector<float> xyz;  // 3 floats per point
  double color[3] = {0.98, 0.55, 0.18};
  std::vector<float> segments;        // 6 floats per segment: from, to
  std::vector<float> segmentScalars;  // one per segment (empty: segments in `color`)
  double lineWidth = 1.5;             // pixels
  bool empty() const { return xyz.empty() && segments.empty(); }
};

struct Scene {
  std::vector<float> xyz;            // 3 floats per point
  std::vector<float> scalars;        // one per point, or empty (uniform colour, no colour bar)
  std::vector<float> rgb;            // 3 per point in [0, 1]: direct colours instead of scalars
  double pointColor[3] = {1, 1, 1};  // the uniform colour
  SceneOverlay overlay;     // its segment scalars share the colour bar when `scalars` is empty
  std::string field;        // the colour bar's title
  bool fixedRange = false;  // else the scalars' min and max
  double range[2] = {0, 1};
  double pointSize = 2;
  double background[3] = {38 / 255.0, 41 / 255.0, 46 / 255.0};
  bool colorBar = true;
};
// The smallest and largest finite value ({+inf, -inf} when there is none).
std::pair<double, double> finiteMinMax(const std::vector<float>& values);
// The automatic colour range of `values`: their finite min and max, widened by 1e-6 when
// they are equal, [0, 1e-6] when there is none.
void colourRange(const std::vector<float>& values, double range[2]);
// The colour range the scene shows (fixed, or colourRange of its scalars, or of the
// overlay's segment scalars when the points have none).
void sceneRange(const Scene& scene, double range[2]);

// Renders `scene` seen by `camera` into `file`, `width` x `height` pixels; the format
// follows the extension: .png (RGBA when `transparent`), or .pdf/.eps/.ps through VTK's
// GL2PS exporter, where it works: VTK's OpenGL2 backend gives GL2PS the 3D scene as one
// raster image at the requested size and the colour bar's labels and title as vector
// text (no SVG: Debian's gl2ps cannot embed that image; no transparency either). `textScale` scales
// fonts and point size (an export at N x the window's size passes N so the figure looks the same).
// False with `error` naming the problem.
bool renderScene(const Scene& scene, const SceneCamera& camera, int width, int height,
                 bool transparent, double textScale, const std::string& file, std::string& error);

}  // namespace pretext::render
