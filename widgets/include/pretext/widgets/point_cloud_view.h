#pragma once
// A VTK 3D view inside Qt 6: vtkGenericOpenGLRenderWindow rendered in a QOpenGLWidget's
// context and blitted into its framebuffer (Debian's VTK Qt module is Qt 5 only).
// Shows a point cloud colored by a scalar field with a color bar.
// Mouse: left rotate, middle/shift+left pan, right/wheel zoom. Keys: R reset camera,
// +/- point size. GUI thread only.
#include <QColor>
#include <QOpenGLWidget>
#include <QPointF>
#include <memory>
#include <optional>
#include <vector>

#include "pretext/render/scene.h"

class vtkGenericOpenGLRenderWindow;

namespace pretext::widgets {

// The view shows and exports the render library's scenes.
using render::CameraPreset;
using render::Scene;
using render::SceneCamera;
using render::SceneOverlay;

// Sets the default OpenGL surface format VTK 9 needs (3.2 core, depth, stencil). Call
// before constructing the QApplication.
void setVtkSurfaceFormat();

class PointCloudView : public QOpenGLWidget {
  Q_OBJECT
 public:
  explicit PointCloudView(QWidget* parent = nullptr);
  ~PointCloudView() override;

  // `xyz` holds 3 floats per point; `scalars` one per point (may be empty: uniform color).
  void setPointCloud(const std::vector<float>& xyz, const std::vector<float>& scalars,
                     const QString& fieldName);
  // A second layer (the flow view's frame t+1 and flow segments). With no point scalars
  // the segments' scalars set the automatic colour range and the colour bar (titled with
  // setPointCloud's field name). An empty overlay removes it.
  void setOverlay(const SceneOverlay& overlay);
  const SceneOverlay& overlay() const;
  // The colour of points without scalars.
  void setPointColor(const QColor& color);
  // Points with direct colours (3 floats in [0, 1] per point, e.g. the features' first three
  // principal components as RGB); no colour bar.
  void setPointCloudRgb(const std::vector<float>& xyz, const std::vector<float>& rgb,
                        const QString& name);
  // Fixes the color range (e.g. a shared scale across views); unset = automatic.
  void setFixedRange(double lo, double hi);
  void clearFixedRange();
  std::pair<double, double> scalarRange() const;  // what the color bar shows
  std::size_t pointCount() const;
  void setBackground(const QColor& color);
  QColor background() const;
  void setPointSize(double pixels);
  double pointSize() const;
  // Frames the cloud with the current preset (orbit unless set otherwise).
  void resetCamera();
  void setCameraPreset(CameraPreset preset);
  SceneCamera camera() const;
  void setCamera(const SceneCamera& camera);
  // What is on screen (points, field, colour range, point size, background), for exports.
  Scene scene() const;
  // The current view, camera-locked, at `scale` x the widget's pixel size, with the
  // colour bar: PNG (optionally transparent) or vector PDF/SVG/EPS through GL2PS.
  // Renders off screen, so the view itself does not change. False with `error` set.
  bool exportImage(const QString& file, double scale, bool transparent, QString& error);
  // While interacting (a mouse drag in the view, or on here), a cloud of more than 250 000
  // points is drawn as an even subset of at most that many, so orbiting stays fluid with
  // software OpenGL; the whole cloud is drawn again when the drag ends.
  void setInteracting(bool on);
  std::size_t drawnPointCount() const;
  // Rotates the camera about the focal point (degrees), as a mouse drag would.
  void orbit(double azimuthDeg, double elevationDeg);
  vtkGenericOpenGLRenderWindow* renderWindow() const;
  // The point drawn nearest to `pos` (widget coordinates) within `radius` pixels, the one
  // nearer the camera on a tie; -1 if none. A left click that does not drag emits
  // pointPicked with it.
  int pickPoint(const QPointF& pos, double radius = 6) const;
  // "point 12 at (x, y, z): field = value" for the log and tooltips.
  QString describePoint(int index) const;
  // Where point `index` is drawn (widget coordinates); nullopt when off screen or clipped.
  std::optional<QPointF> projectPoint(int index) const;
  // Where the world position `xyz` is drawn (widget coordinates), as projectPoint.
  std::optional<QPointF> projectPosition(const float xyz[3]) const;

 Q_SIGNALS:
  void pointPicked(int index);
  void cameraChanged();

 protected:
  void initializeGL() override;
  void resizeGL(int w, int h) override;
  void paintGL() override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;

 private:
  // Frees VTK's GL objects (buffers, shaders, framebuffers) of the context Qt is about to
  // destroy: a QOpenGLWidget gets a new context when it moves to another top-level window
  // (a dock floated or re-docked), and initializeGL then builds them again in the new one.
  void releaseGraphics();
  struct Impl;
  std::unique_ptr<Impl> d;
};

}  // namespace pretext::widgets
