#pragma once
// The render library's VTK pipeline (used by the 3D view and by renderScene): the pipeline that
// draws a point cloud coloured by a scalar field (viridis) with a colour bar. One instance per
// render window: the 3D view owns one, renderScene builds one per export.
#include <vtkActor.h>
#include <vtkCoordinate.h>
#include <vtkNew.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkScalarBarActor.h>
#include <vtkSmartPointer.h>

#include <string>
#include <vector>

class vtkLookupTable;
class vtkRenderer;
class vtkCamera;

namespace pretext::render {

struct SceneCamera;
struct SceneOverlay;

class ScenePipeline {
 public:
  ScenePipeline();
  void addTo(vtkRenderer* renderer);
  // New points and scalars (empty: uniform colour, no colour bar); colours span `range`.
  void setData(const std::vector<float>& xyz, const std::vector<float>& scalars,
               const std::string& field, const double range[2]);
  // New points with direct colours (3 floats in [0, 1] per point, e.g. feature PCA as RGB):
  // no colour map, no colour bar.
  void setRgbData(const std::vector<float>& xyz, const std::vector<float>& rgb);
  // The flow view's second cloud and coloured segments (empty: none).
  void setOverlay(const SceneOverlay& overlay, const double range[2]);
  void setPointColor(const double rgb[3]);
  // While on (a mouse drag), a cloud of more than kInteractivePoints points is drawn as
  // every k-th point so that at most that many are drawn; off draws all of them again.
  static constexpr vtkIdType kInteractivePoints = 250000;
  void setInteractive(bool on);
  vtkIdType drawnPoints() const;
  void setRange(const double range[2]);
  void setPointSize(double px);
  double pointSize() const;
  void setColorBarVisible(bool on);
  // Colour bar text in black on light backgrounds, white on dark ones.
  void matchTextTo(const double background[3]);
  // The colour bar's maximum width (90 px) times `scale`; its fonts are 12/11 pt, which
  // the render window's DPI turns into pixels.
  void setPixelScale(double scale);

  vtkNew<vtkPolyData> poly;
  vtkNew<vtkPolyDataMapper> mapper;
  vtkNew<vtkActor> actor;
  vtkNew<vtkScalarBarActor> colorBar;
  vtkNew<vtkCoordinate> colorBarAnchor;  // the right edge the colour bar hangs from
  vtkSmartPointer<vtkLookupTable> lut;
  vtkNew<vtkPolyData> overlayPoly, segmentPoly;
  vtkNew<vtkPolyDataMapper> overlayMapper, segmentMapper;
  vtkNew<vtkActor> overlayActor, segmentActor;
  // The strided subset drawn while interacting: same points and scalars, fewer vertices.
  vtkNew<vtkPolyData> sparsePoly;
  vtkNew<vtkPolyDataMapper> sparseMapper;
  vtkNew<vtkActor> sparseActor;

 private:
  void updateColorBar();
  void buildSparse(vtkIdType n);
  bool m_hasScalars = false;
  bool m_segmentScalars = false;
  bool m_interactive = false;
  vtkIdType m_sparseCount = 0;  // vertices of sparsePoly (0: the cloud is small enough)
  bool m_barWanted = true;
};

// Puts a SceneCamera into a VTK camera (and back).
void applyCamera(const SceneCamera& c, vtkCamera* cam);
SceneCamera readCamera(vtkCamera* cam);

}  // namespace pretext::render
