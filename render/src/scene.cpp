#include "pretext/render/scene.h"

#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkFloatArray.h>
#include <vtkGL2PSExporter.h>
#include <vtkIdTypeArray.h>
#include <vtkImageData.h>
#include <vtkLookupTable.h>
#include <vtkPNGWriter.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkProperty.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkTextProperty.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowToImageFilter.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "pretext/render/colormap.h"
#include "pretext/render/scene_pipeline.h"

// Last: Xlib defines macros (None, Bool, Status) that other headers use as names.
#include <X11/Xlib.h>

namespace pretext::render {

namespace {
constexpr double kPi = 3.14159265358979323846;

vtkSmartPointer<vtkLookupTable> makeViridis() {
  auto lut = vtkSmartPointer<vtkLookupTable>::New();
  const int n = 256;
  lut->SetNumberOfTableValues(n);
  for (int i = 0; i < n; ++i) {
    double rgb[3];
    viridis(static_cast<double>(i) / (n - 1), rgb);
    lut->SetTableValue(i, rgb[0], rgb[1], rgb[2], 1.0);
  }
  lut->SetNanColor(1, 1, 1, 1);  // segments without a value (boxes) are drawn white
  lut->Build();
  return lut;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

// ---- pipeline ------------------------------------------------------------------------------

namespace {
vtkSmartPointer<vtkPoints> makePoints(const std::vector<float>& xyz) {
  const vtkIdType n = static_cast<vtkIdType>(xyz.size() / 3);
  auto pts = vtkSmartPointer<vtkPoints>::New();
  pts->SetDataTypeToFloat();
  pts->SetNumberOfPoints(n);
  std::copy(xyz.begin(), xyz.begin() + 3 * n, static_cast<float*>(pts->GetVoidPointer(0)));
  return pts;
}

// `count` cells of `size` consecutive point ids each (vertices: 1, line segments: 2).
vtkSmartPointer<vtkCellArray> makeCells(vtkIdType count, vtkIdType size) {
  vtkNew<vtkIdTypeArray> offsets, conn;
  offsets->SetNumberOfValues(count + 1);
  conn->SetNumberOfValues(count * size);
  for (vtkIdType i = 0; i <= count; ++i) offsets->SetValue(i, i * size);
  for (vtkIdType i = 0; i < count * size; ++i) conn->SetValue(i, i);
  auto cells = vtkSmartPointer<vtkCellArray>::New();
  cells->SetData(offsets, conn);
  return cells;
}

vtkSmartPointer<vtkFloatArray> makeScalars(const std::vector<float>& values, const char* name) {
  auto s = vtkSmartPointer<vtkFloatArray>::New();
  s->SetName(name);
  s->SetNumberOfValues(static_cast<vtkIdType>(values.size()));
  std::copy(values.begin(), values.end(), s->GetPointer(0));
  return s;
}
}  // namespace

ScenePipeline::ScenePipeline() : lut(makeViridis()) {
  poly->SetPoints(vtkNew<vtkPoints>());
  poly->SetVerts(vtkNew<vtkCellArray>());
  mapper->SetInputData(poly);
  mapper->SetLookupTable(lut);
  mapper->SetScalarModeToUsePointData();
  mapper->SetColorModeToMapScalars();
  mapper->ScalarVisibilityOff();
  actor->SetMapper(mapper);
  actor->GetProperty()->SetPointSize(2.0);
  colorBar->SetLookupTable(lut);
  colorBar->SetNumberOfLabels(5);
  colorBar->SetBarRatio(0.25);
  // Anchored to the right edge: a reference point at the edge, and the bar's corner a
  // fixed number of pixels left of it (setPixelScale), so the box is always wide enough
  // for the title, which VTK centres over the box.
  colorBarAnchor->SetCoordinateSystemToNormalizedViewport();
  colorBarAnchor->SetValue(1.0, 0.08);
  colorBar->GetPositionCoordinate()->SetCoordinateSystemToViewport();
  colorBar->GetPositionCoordinate()->SetReferenceCoordinate(colorBarAnchor);
  colorBar->SetWidth(0.3);  // of the view, capped at the pixel width set in setPixelScale
  // Labels left of the bar, so the bar itself stays at the view's right edge.
  colorBar->SetTextPositionToPrecedeScalarBar();
  colorBar->SetHeight(0.84);
  // Font sizes in points: the render window's DPI turns them into pixels.
  colorBar->GetTitleTextProperty()->SetFontSize(12);
  colorBar->GetLabelTextProperty()->SetFontSize(11);
  // The sizes above as they are, not shrunk to the bar's width (VTK's default made the
  // title unreadably small), in upright text without VTK's default italic and shadow.
  colorBar->UnconstrainedFontSizeOn();
  for (auto* t : {colorBar->GetTitleTextProperty(), colorBar->GetLabelTextProperty()}) {
    t->ItalicOff();
    t->ShadowOff();
  }
  setPixelScale(1.0);
  colorBar->SetVisibility(false);
  for (auto* m : {overlayMapper.GetPointer(), segmentMapper.GetPointer()}) {
    m->SetLookupTable(lut);
    m->SetScalarModeToUsePointData();
    m->SetColorModeToMapScalars();
    m->ScalarVisibilityOff();
  }
  sparseMapper->SetInputData(sparsePoly);
  sparseMapper->SetLookupTable(lut);
  sparseMapper->SetScalarModeToUsePointData();
  sparseMapper->SetColorModeToMapScalars();
  sparseActor->SetMapper(sparseMapper);
  sparseActor->SetProperty(actor->GetProperty());  // one size and colour for both
  sparseActor->SetVisibility(false);
  overlayMapper->SetInputData(overlayPoly);
  overlayActor->SetMapper(overlayMapper);
  segmentMapper->SetInputData(segmentPoly);
  segmentActor->SetMapper(segmentMapper);
  overlayActor->SetVisibility(false);
  segmentActor->SetVisibility(false);
}

void ScenePipeline::addTo(vtkRenderer* renderer) {
  renderer->AddActor(actor);
  renderer->AddActor(sparseActor);
  renderer->AddActor(overlayActor);
  renderer->AddActor(segmentActor);
  renderer->AddActor2D(colorBar);
}

void ScenePipeline::setOverlay(const SceneOverlay& o, const double range[2]) {
  overlayPoly->SetPoints(makePoints(o.xyz));
  overlayPoly->SetVerts(makeCells(static_cast<vtkIdType>(o.xyz.size() / 3), 1));
  overlayPoly->Modified();
  overlayActor->GetProperty()->SetColor(o.color[0], o.color[1], o.color[2]);
  overlayActor->GetProperty()->SetPointSize(actor->GetProperty()->GetPointSize());
  overlayActor->SetVisibility(!o.xyz.empty());
  // Each segment has its own two points, so the scalar of the segment colours both ends.
  const auto n = static_cast<vtkIdType>(o.segments.size() / 6);
  segmentPoly->SetPoints(makePoints(o.segments));
  segmentPoly->SetLines(makeCells(n, 2));
  m_segmentScalars = n > 0 && static_cast<vtkIdType>(o.segmentScalars.size()) == n;
  if (m_segmentScalars) {
    std::vector<float> perPoint(2 * static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < perPoint.size(); ++i) perPoint[i] = o.segmentScalars[i / 2];
    segmentPoly->GetPointData()->SetScalars(makeScalars(perPoint, "segments"));
    segmentMapper->ScalarVisibilityOn();
  } else {
    segmentPoly->GetPointData()->SetScalars(nullptr);
    segmentMapper->ScalarVisibilityOff();
  }
  segmentPoly->Modified();
  segmentActor->GetProperty()->SetColor(o.color[0], o.color[1], o.color[2]);
  segmentActor->GetProperty()->SetLineWidth(static_cast<float>(o.lineWidth));
  segmentActor->SetVisibility(n > 0);
  if (m_segmentScalars) setRange(range);
  updateColorBar();
}

void ScenePipeline::setInteractive(bool on) {
  m_interactive = on;
  const bool sparse = on && m_sparseCount > 0;
  actor->SetVisibility(!sparse);
  sparseActor->SetVisibility(sparse);
}

vtkIdType ScenePipeline::drawnPoints() const {
  return sparseActor->GetVisibility() ? m_sparseCount : poly->GetNumberOfPoints();
}

void ScenePipeline::setPointColor(const double rgb[3]) {
  actor->GetProperty()->SetColor(rgb[0], rgb[1], rgb[2]);
}

void ScenePipeline::updateColorBar() {
  colorBar->SetVisibility((m_hasScalars || m_segmentScalars) && m_barWanted);
}

void ScenePipeline::setPixelScale(double scale) {
  colorBar->SetMaximumWidthInPixels(static_cast<int>(std::lround(90 * scale)));
  colorBar->GetPositionCoordinate()->SetValue(-95 * scale, 0);
  // The top label is centred on the bar's end, so half of it rises above the bar; the
  // title sits clear of it.
  colorBar->SetVerticalTitleSeparation(static_cast<int>(std::lround(10 * scale)));
}

void ScenePipeline::setData(const std::vector<float>& xyz, const std::vector<float>& scalars,
                            const std::string& field, const double range[2]) {
  const vtkIdType n = static_cast<vtkIdType>(xyz.size() / 3);
  poly->SetPoints(makePoints(xyz));
  poly->SetVerts(makeCells(n, 1));
  m_hasScalars = static_cast<vtkIdType>(scalars.size()) == n && n > 0;
  colorBar->SetTitle(field.c_str());
  mapper->SetColorModeToMapScalars();
  sparseMapper->SetColorModeToMapScalars();
  if (m_hasScalars) {
    poly->GetPointData()->SetScalars(makeScalars(scalars, field.c_str()));
    mapper->ScalarVisibilityOn();
    setRange(range);
  } else {
    poly->GetPointData()->SetScalars(nullptr);
    mapper->ScalarVisibilityOff();
  }
  updateColorBar();
  poly->Modified();
  buildSparse(n);
}

void ScenePipeline::setRgbData(const std::vector<float>& xyz, const std::vector<float>& rgb) {
  const vtkIdType n = static_cast<vtkIdType>(xyz.size() / 3);
  poly->SetPoints(makePoints(xyz));
  poly->SetVerts(makeCells(n, 1));
  m_hasScalars = false;  // no colour bar for direct colours
  vtkNew<vtkUnsignedCharArray> colours;
  colours->SetName("rgb");
  colours->SetNumberOfComponents(3);
  colours->SetNumberOfTuples(n);
  for (vtkIdType i = 0; i < 3 * n; ++i) {
    const float v =
        static_cast<std::size_t>(i) < rgb.size() ? rgb[static_cast<std::size_t>(i)] : 1.0f;
    colours->SetValue(i, static_cast<unsigned char>(std::lround(255 * std::clamp(v, 0.0f, 1.0f))));
  }
  poly->GetPointData()->SetScalars(colours);
  mapper->SetColorModeToDirectScalars();
  sparseMapper->SetColorModeToDirectScalars();
  mapper->ScalarVisibilityOn();
  updateColorBar();
  poly->Modified();
  buildSparse(n);
}

void ScenePipeline::buildSparse(vtkIdType n) {
  // The interactive subset shares the points and scalars.
  m_sparseCount = 0;
  if (n > kInteractivePoints) {
    const vtkIdType stride = (n + kInteractivePoints - 1) / kInteractivePoints;
    m_sparseCount = (n + stride - 1) / stride;
    vtkNew<vtkIdTypeArray> offsets, conn;
    offsets->SetNumberOfValues(m_sparseCount + 1);
    conn->SetNumberOfValues(m_sparseCount);
    for (vtkIdType i = 0; i < m_sparseCount; ++i) {
      offsets->SetValue(i, i);
      conn->SetValue(i, i * stride);
    }
    offsets->SetValue(m_sparseCount, m_sparseCount);
    vtkNew<vtkCellArray> verts;
    verts->SetData(offsets, conn);
    sparsePoly->SetPoints(poly->GetPoints());
    sparsePoly->SetVerts(verts);
    sparsePoly->GetPointData()->SetScalars(poly->GetPointData()->GetScalars());
    sparseMapper->SetScalarVisibility(mapper->GetScalarVisibility());
    sparsePoly->Modified();
  }
  setInteractive(m_interactive);
}

void ScenePipeline::setRange(const double range[2]) {
  const double r[2] = {range[0], range[1] > range[0] ? range[1] : range[0] + 1e-6};
  mapper->SetScalarRange(r[0], r[1]);
  sparseMapper->SetScalarRange(r[0], r[1]);
  segmentMapper->SetScalarRange(r[0], r[1]);
  lut->SetRange(r[0], r[1]);
}

void ScenePipeline::setPointSize(double px) {
  const auto size = static_cast<float>(std::clamp(px, 1.0, 40.0));
  actor->GetProperty()->SetPointSize(size);
  overlayActor->GetProperty()->SetPointSize(size);
}
double ScenePipeline::pointSize() const { return actor->GetProperty()->GetPointSize(); }

void ScenePipeline::setColorBarVisible(bool on) {
  m_barWanted = on;
  updateColorBar();
}

void ScenePipeline::matchTextTo(const double bg[3]) {
  const double luminance = 0.2126 * bg[0] + 0.7152 * bg[1] + 0.0722 * bg[2];
  const double v = luminance > 0.5 ? 0.0 : 1.0;
  colorBar->GetTitleTextProperty()->SetColor(v, v, v);
  colorBar->GetLabelTextProperty()->SetColor(v, v, v);
}

void applyCamera(const SceneCamera& c, vtkCamera* cam) {
  cam->SetFocalPoint(c.focal[0], c.focal[1], c.focal[2]);
  cam->SetPosition(c.position[0], c.position[1], c.position[2]);
  cam->SetViewUp(c.viewUp[0], c.viewUp[1], c.viewUp[2]);
  cam->SetViewAngle(c.viewAngle);
  cam->OrthogonalizeViewUp();
}

SceneCamera readCamera(vtkCamera* cam) {
  SceneCamera c;
  cam->GetPosition(c.position);
  cam->GetFocalPoint(c.focal);
  cam->GetViewUp(c.viewUp);
  c.viewAngle = cam->GetViewAngle();
  return c;
}

// ---- presets and ranges -------------------------------------------------------------------

bool parseCameraPreset(const std::string& name, CameraPreset& out) {
  const std::string n = lower(name);
  if (n == "orbit")
    out = CameraPreset::Orbit;
  else if (n == "birdseye" || n == "bev" || n == "bird's-eye")
    out = CameraPreset::BirdsEye;
  else if (n == "driver")
    out = CameraPreset::Driver;
  else
    return false;
  return true;
}

SceneCamera presetCamera(CameraPreset preset, const std::vector<float>& xyz) {
  double lo[3] = {-1, -1, -1}, hi[3] = {1, 1, 1};
  if (xyz.size() >= 3) {
    for (int d = 0; d < 3; ++d) lo[d] = hi[d] = xyz[static_cast<std::size_t>(d)];
    for (std::size_t i = 0; i + 2 < xyz.size(); i += 3)
      for (int d = 0; d < 3; ++d) {
        const double v = xyz[i + static_cast<std::size_t>(d)];
        if (std::isfinite(v)) {
          lo[d] = std::min(lo[d], v);
          hi[d] = std::max(hi[d], v);
        }
      }
  }
  double c[3], radius = 0;
  for (int d = 0; d < 3; ++d) {
    c[d] = 0.5 * (lo[d] + hi[d]);
    radius += 0.25 * (hi[d] - lo[d]) * (hi[d] - lo[d]);
  }
  radius = std::max(1e-3, std::sqrt(radius));
  SceneCamera cam;
  // Distance at which a sphere of `radius` fills the vertical view angle, brought closer by
  // `zoom` (the view's former ResetCamera + Zoom(1.6) framing).
  auto distance = [&](double angleDeg, double zoom) {
    return radius / std::sin(0.5 * angleDeg * kPi / 180.0) / zoom;
  };
  std::copy(c, c + 3, cam.focal);
  switch (preset) {
    case CameraPreset::Orbit: {
      const double dir[3] = {-1 / std::sqrt(1.64), 0, 0.8 / std::sqrt(1.64)};
      const double dist = distance(cam.viewAngle, 1.6);
      for (int d = 0; d < 3; ++d) cam.position[d] = c[d] + dist * dir[d];
      break;
    }
    case CameraPreset::BirdsEye: {
      const double dist = distance(cam.viewAngle, 1.5);
      cam.position[0] = c[0];
      cam.position[1] = c[1];
      cam.position[2] = c[2] + dist;
      cam.viewUp[0] = 1;  // forward (+x) points up the image
      cam.viewUp[1] = cam.viewUp[2] = 0;
      break;
    }
    case CameraPreset::Driver: {
      cam.viewAngle = 60;
      cam.position[0] = -2;
      cam.position[1] = 0;
      cam.position[2] = 1;
      cam.focal[0] = std::max(10.0, hi[0] * 0.5);
      cam.focal[1] = 0;
      cam.focal[2] = 0;
      break;
    }
  }
  return cam;
}

std::pair<double, double> finiteMinMax(const std::vector<float>& values) {
  double lo = INFINITY, hi = -INFINITY;
  for (float v : values)
    if (std::isfinite(v)) {
      lo = std::min(lo, static_cast<double>(v));
      hi = std::max(hi, static_cast<double>(v));
    }
  return {lo, hi};
}

void colourRange(const std::vector<float>& values, double range[2]) {
  auto [lo, hi] = finiteMinMax(values);
  if (!(lo <= hi)) lo = hi = 0;
  range[0] = lo;
  range[1] = hi > lo ? hi : lo + 1e-6;
}

void sceneRange(const Scene& scene, double range[2]) {
  const auto& values = scene.scalars.empty() ? scene.overlay.segmentScalars : scene.scalars;
  if (scene.fixedRange || values.empty()) {
    range[0] = scene.range[0];
    range[1] = scene.range[1];
    return;
  }
  colourRange(values, range);
}

// ---- rendering ----------------------------------------------------------------------------

namespace {

// What renderScene can write: a size in 16..16384 and .png (optionally transparent), .pdf,
// .eps or .ps into an existing folder, with an X display to render on.
bool checkRenderRequest(int width, int height, bool transparent, const std::string& file,
                        std::string& error) {
  namespace fs = std::filesystem;
  if (width < 16 || height < 16 || width > 16384 || height > 16384) {
    error = "image size " + std::to_string(width) + " x " + std::to_string(height) +
            " is outside 16..16384 pixels";
    return false;
  }
  const std::string ext = lower(fs::path(file).extension().string());
  const bool png = ext == ".png";
  const bool vector = ext == ".pdf" || ext == ".eps" || ext == ".ps";
  if (ext == ".svg") {
    // Debian's gl2ps is built without PNG support and so drops raster images from SVG, and
    // the OpenGL2 backend hands GL2PS the 3D scene as a raster image: nothing but the
    // labels would remain.
    error = file +
            ": 3D figures cannot be written as SVG here (GL2PS lacks PNG support for "
            "the rasterised 3D scene); use .pdf, .eps or .png";
    return false;
  }
  if (!png && !vector) {
    error = file + ": unknown 3D figure format '" + ext + "' (use .png, .pdf, .eps or .ps)";
    return false;
  }
  if (vector && transparent) {
    error = file +
            ": a transparent background needs .png (VTK's GL2PS export always draws "
            "the background)";
    return false;
  }
  const char* display = std::getenv("DISPLAY");
  if (!display || !*display) {
    error =
        "3D rendering needs an X display (OpenGL); on a headless machine run under "
        "xvfb-run";
    return false;
  }
  std::error_code ec;
  const auto parent = fs::path(file).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    error = file + ": folder " + parent.string() + " does not exist";
    return false;
  }
  return true;
}

// Xvfb refuses a connection now and then (EAGAIN when connections come quickly: 743 of
// 3 000 XOpenDisplay calls in a tight loop), and VTK aborts the whole process when its own
// XOpenDisplay fails. So the display is opened here, with retries, and handed to the
// window; it is closed after the window is gone (declared first, destroyed last).
struct XConnection {
  Display* display = nullptr;
  explicit XConnection(std::string& error) {
    for (int attempt = 0; attempt < 40 && !display; ++attempt) {
      display = XOpenDisplay(nullptr);
      if (!display) std::this_thread::sleep_for(std::chrono::milliseconds(5 * (attempt + 1)));
    }
    if (!display)
      error = std::string("cannot connect to the X display ") + std::getenv("DISPLAY") +
              " (40 attempts over 4 s); is the X server (or xvfb-run) still running?";
  }
  ~XConnection() {
    if (display) XCloseDisplay(display);
  }
};

// The rendered window into `file`: PNG through the frame buffer, PDF/EPS/PS through GL2PS.
bool writeRendered(vtkRenderWindow* window, bool transparent, const std::string& file,
                   std::string& error) {
  namespace fs = std::filesystem;
  const std::string ext = lower(fs::path(file).extension().string());
  std::error_code ec;
  if (ext == ".png") {
    vtkNew<vtkWindowToImageFilter> grab;
    grab->SetInput(window);
    if (transparent)
      grab->SetInputBufferTypeToRGBA();
    else
      grab->SetInputBufferTypeToRGB();
    grab->ReadFrontBufferOff();
    grab->Update();
    vtkNew<vtkPNGWriter> writer;
    writer->SetFileName(file.c_str());
    writer->SetInputConnection(grab->GetOutputPort());
    writer->Write();
    if (writer->GetErrorCode() != 0) {
      error = file + ": could not write the PNG";
      return false;
    }
  } else {
    vtkNew<vtkGL2PSExporter> exporter;
    exporter->SetRenderWindow(window);
    const std::string prefix = (fs::path(file).parent_path() / fs::path(file).stem()).string();
    exporter->SetFilePrefix(prefix.c_str());
    if (ext == ".pdf") exporter->SetFileFormatToPDF();
    if (ext == ".eps") exporter->SetFileFormatToEPS();
    if (ext == ".ps") exporter->SetFileFormatToPS();
    // With the OpenGL2 backend GL2PS receives the 3D scene (points, colour bar's gradient)
    // as one raster image and the 2D annotations (colour bar labels, title) as vector text.
    exporter->CompressOn();
    exporter->SetSortToOff();
    exporter->TextAsPathOff();
    fs::remove(file, ec);
    exporter->Write();
    // GL2PS appends the extension to the prefix; .ps/.eps keep the case of `ext`.
    if (fs::path(prefix + ext) != fs::path(file) && fs::exists(prefix + ext, ec))
      fs::rename(prefix + ext, file, ec);
  }
  if (!fs::exists(file, ec) || fs::file_size(file, ec) == 0) {
    error = file + ": the renderer wrote nothing";
    return false;
  }
  return true;
}

}  // namespace

bool renderScene(const Scene& scene, const SceneCamera& camera, int width, int height,
                 bool transparent, double textScale, const std::string& file, std::string& error) {
  if (!checkRenderRequest(width, height, transparent, file, error)) return false;
  XConnection x(error);
  if (!x.display) return false;
  vtkNew<vtkRenderWindow> window;
  window->SetDisplayId(x.display);
  window->SetOffScreenRendering(1);
  window->SetMultiSamples(0);
  window->SetAlphaBitPlanes(transparent ? 1 : 0);
  window->SetSize(width, height);
  window->SetDPI(static_cast<int>(std::lround(72 * textScale)));
  vtkNew<vtkRenderer> renderer;
  renderer->SetBackground(scene.background);
  renderer->SetBackgroundAlpha(transparent ? 0.0 : 1.0);
  window->AddRenderer(renderer);
  ScenePipeline pipeline;
  pipeline.addTo(renderer);
  double range[2];
  sceneRange(scene, range);
  pipeline.setColorBarVisible(scene.colorBar);
  pipeline.matchTextTo(scene.background);
  if (scene.rgb.size() == scene.xyz.size() && !scene.rgb.empty())
    pipeline.setRgbData(scene.xyz, scene.rgb);
  else
    pipeline.setData(scene.xyz, scene.scalars, scene.field, range);
  pipeline.setPointColor(scene.pointColor);
  SceneOverlay overlay = scene.overlay;
  overlay.lineWidth *= textScale;
  pipeline.setOverlay(overlay, range);
  pipeline.setPixelScale(textScale);  // fonts follow the window's DPI
  pipeline.setPointSize(scene.pointSize * textScale);
  applyCamera(camera, renderer->GetActiveCamera());
  renderer->ResetCameraClippingRange();
  window->Render();
  return writeRendered(window, transparent, file, error);
}

}  // namespace pretext::render
