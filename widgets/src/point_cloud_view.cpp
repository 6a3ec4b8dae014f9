#include "pretext/widgets/point_cloud_view.h"

#include <vtkActor.h>
#include <vtkCallbackCommand.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkFloatArray.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkIdTypeArray.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkLookupTable.h>
#include <vtkMatrix4x4.h>
#include <vtkNew.h>
#include <vtkOpenGLFramebufferObject.h>
#include <vtkOpenGLState.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkSmartPointer.h>
#include <vtkTextProperty.h>

#include <QKeyEvent>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLExtraFunctions>
#include <QSurfaceFormat>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "pretext/render/scene_pipeline.h"

using namespace pretext::render;

namespace pretext::widgets {

void setVtkSurfaceFormat() {
  QSurfaceFormat fmt;
  fmt.setRenderableType(QSurfaceFormat::OpenGL);
  fmt.setVersion(3, 2);
  fmt.setProfile(QSurfaceFormat::CoreProfile);
  fmt.setDepthBufferSize(24);
  fmt.setStencilBufferSize(8);
  fmt.setSamples(0);
  QSurfaceFormat::setDefaultFormat(fmt);
}

struct PointCloudView::Impl {
  vtkNew<vtkGenericOpenGLRenderWindow> window;
  vtkNew<vtkGenericRenderWindowInteractor> interactor;
  vtkNew<vtkInteractorStyleTrackballCamera> style;
  vtkNew<vtkRenderer> renderer;
  ScenePipeline pipeline;
  std::vector<unsigned long> observers;
  bool inPaint = false;
  bool fixedRange = false;
  double range[2] = {0, 1};
  bool cameraSet = false;
  bool warmed = false;  // the scalar-coloured point shaders have been compiled once
  QColor background{38, 41, 46};
  // What is shown, kept for exports (renderScene builds its own pipeline).
  std::vector<float> xyz, scalars, rgb;
  SceneOverlay overlay;
  double pointColor[3] = {1, 1, 1};
  std::string field;
  // The automatic colour range: the points' scalars, else the overlay segments'.
  void autoRange() {
    if (!fixedRange) colourRange(scalars.empty() ? overlay.segmentScalars : scalars, range);
  }
  CameraPreset preset = CameraPreset::Orbit;
  QPointF pressAt;  // where the mouse went down (a click that does not drag picks)
};

PointCloudView::PointCloudView(QWidget* parent)
    : QOpenGLWidget(parent), d(std::make_unique<Impl>()) {
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(200, 150);
  setToolTip(
      tr("3D view: drag to rotate, shift-drag or middle-drag to pan, wheel to zoom, "
         "R to reset the camera, +/- point size"));

  d->window->SetReadyForRendering(false);  // until Qt's context exists (initializeGL)
  d->window->SetFrameBlitModeToNoBlit();   // we blit into Qt's framebuffer ourselves
  d->window->SetMultiSamples(0);
  d->window->AddRenderer(d->renderer);
  d->interactor->SetRenderWindow(d->window);
  d->interactor->SetInteractorStyle(d->style);
  // Renders requested by the interactor (camera moves) become Qt repaints.
  d->interactor->EnableRenderOff();

  auto onEvent = [](vtkObject*, unsigned long id, void* client, void* call) {
    auto* self = static_cast<PointCloudView*>(client);
    switch (id) {
      case vtkCommand::WindowMakeCurrentEvent:
        // Not QOpenGLWidget::makeCurrent(): that also binds Qt's framebuffer, behind the
        // back of VTK's cached GL state (VTK would then attach its buffers to Qt's FBO).
        if (QOpenGLContext::currentContext() != self->context())
          self->context()->makeCurrent(self->context()->surface());
        break;
      case vtkCommand::WindowIsCurrentEvent:
        *static_cast<bool*>(call) = QOpenGLContext::currentContext() == self->context();
        break;
      case vtkCommand::WindowFrameEvent:
      case vtkCommand::RenderEvent:
        if (!self->d->inPaint) self->update();
        break;
      default:
        break;
    }
  };
  vtkNew<vtkCallbackCommand> cb;
  cb->SetCallback(onEvent);
  cb->SetClientData(this);
  for (auto ev : {vtkCommand::WindowMakeCurrentEvent, vtkCommand::WindowIsCurrentEvent,
                  vtkCommand::WindowFrameEvent})
    d->observers.push_back(d->window->AddObserver(ev, cb));
  d->interactor->AddObserver(vtkCommand::RenderEvent, cb);

  d->renderer->SetBackground(d->background.redF(), d->background.greenF(), d->background.blueF());
  d->pipeline.addTo(d->renderer);
  // Any camera move (mouse, presets, setCamera) is announced, e.g. to linked views.
  vtkNew<vtkCallbackCommand> cameraMoved;
  cameraMoved->SetClientData(this);
  cameraMoved->SetCallback([](vtkObject*, unsigned long, void* client, void*) {
    Q_EMIT static_cast<PointCloudView*>(client)->cameraChanged();
  });
  d->renderer->GetActiveCamera()->AddObserver(vtkCommand::ModifiedEvent, cameraMoved);
}

PointCloudView::~PointCloudView() {
  // The base class destroys the context after this body: nothing may reach `d` then.
  if (context()) disconnect(context(), nullptr, this, nullptr);
  makeCurrent();
  for (auto id : d->observers) d->window->RemoveObserver(id);
  d->window->Finalize();  // release GL resources while Qt's context is current
  doneCurrent();
}

vtkGenericOpenGLRenderWindow* PointCloudView::renderWindow() const { return d->window; }

void PointCloudView::initializeGL() {
  connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, &PointCloudView::releaseGraphics,
          Qt::UniqueConnection);
  d->window->SetOwnContext(false);
  d->window->SetReadyForRendering(true);
  d->window->OpenGLInitContext();
  d->window->GetState()->Reset();
  d->interactor->Initialize();
  resizeGL(width(), height());
}

void PointCloudView::releaseGraphics() {
  makeCurrent();
  d->window->ReleaseGraphicsResources(d->window);
  d->window->SetReadyForRendering(false);  // until initializeGL in the new context
  d->warmed = false;                       // the new context compiles its shaders again
  doneCurrent();
}

void PointCloudView::resizeGL(int, int) {
  const qreal dpr = devicePixelRatioF();
  const int w = std::max(1, static_cast<int>(std::lround(width() * dpr)));
  const int h = std::max(1, static_cast<int>(std::lround(height() * dpr)));
  d->interactor->UpdateSize(w, h);  // also sizes the render window
  d->window->SetDPI(static_cast<int>(72 * dpr));
}

void PointCloudView::paintGL() {
  // Qt bound its own framebuffer behind VTK's back; VTK caches GL state (framebuffer
  // bindings included) and would otherwise attach its buffers to Qt's framebuffer.
  d->window->GetState()->Reset();
  d->window->GetState()->ResetFramebufferBindings();
  d->inPaint = true;
  if (!d->warmed) {
    // Compile the shaders for scalar-coloured points now, while the window opens, rather
    // than on the first snapshot during training: on llvmpipe that first render blocked the
    // GUI thread for ~30 ms. The scratch frame is overwritten by the render below.
    d->warmed = true;
    if (d->pipeline.poly->GetNumberOfPoints() == 0) {
      vtkNew<vtkPolyData> scratch;
      vtkNew<vtkPoints> p;
      p->InsertNextPoint(0, 0, 0);
      vtkNew<vtkCellArray> v;
      const vtkIdType id = 0;
      v->InsertNextCell(1, &id);
      vtkNew<vtkFloatArray> sc;
      sc->InsertNextValue(0.5f);
      scratch->SetPoints(p);
      scratch->SetVerts(v);
      scratch->GetPointData()->SetScalars(sc);
      auto* mapper = d->pipeline.mapper.GetPointer();
      mapper->SetInputData(scratch);
      mapper->ScalarVisibilityOn();
      d->window->Render();
      mapper->SetInputData(d->pipeline.poly);
      mapper->ScalarVisibilityOff();
    }
  }
  d->window->Render();
  d->inPaint = false;
  if (QOpenGLContext::currentContext() != context()) makeCurrent();  // a render may switch contexts
  auto* f = context()->extraFunctions();
  const qreal dpr = devicePixelRatioF();
  const int w = static_cast<int>(std::lround(width() * dpr));
  const int h = static_cast<int>(std::lround(height() * dpr));
  f->glBindFramebuffer(GL_DRAW_FRAMEBUFFER, defaultFramebufferObject());
  const GLenum buffer = GL_COLOR_ATTACHMENT0;
  f->glDrawBuffers(1, &buffer);
  // glBlitFramebuffer honours the scissor test, which Qt or VTK may have left enabled.
  const bool scissor = f->glIsEnabled(GL_SCISSOR_TEST);
  if (scissor) {
    d->window->GetState()->vtkglDisable(GL_SCISSOR_TEST);
    f->glDisable(GL_SCISSOR_TEST);
  }
  // Copy VTK's render framebuffer (where its renderers drew) into Qt's framebuffer.
  vtkOpenGLFramebufferObject* src = d->window->GetRenderFramebuffer();
  int* size = src->GetLastSize();
  f->glBindFramebuffer(GL_READ_FRAMEBUFFER, src->GetFBOIndex());
  f->glReadBuffer(GL_COLOR_ATTACHMENT0);
  f->glBlitFramebuffer(0, 0, size[0], size[1], 0, 0, w, h, GL_COLOR_BUFFER_BIT, GL_NEAREST);
  f->glBindFramebuffer(GL_FRAMEBUFFER, defaultFramebufferObject());
  d->window->GetState()->ResetFramebufferBindings();
  // VTK leaves alpha at the renderer's background alpha (0): make the result opaque, or
  // Qt composes (and grabs) it as transparent black.
  GLboolean mask[4];
  GLfloat clear[4];
  f->glGetBooleanv(GL_COLOR_WRITEMASK, mask);
  f->glGetFloatv(GL_COLOR_CLEAR_VALUE, clear);
  f->glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_TRUE);
  f->glClearColor(0, 0, 0, 1);
  f->glClear(GL_COLOR_BUFFER_BIT);
  f->glColorMask(mask[0], mask[1], mask[2], mask[3]);
  f->glClearColor(clear[0], clear[1], clear[2], clear[3]);
  if (scissor) {
    d->window->GetState()->vtkglEnable(GL_SCISSOR_TEST);
    f->glEnable(GL_SCISSOR_TEST);
  }
}

void PointCloudView::setPointCloud(const std::vector<float>& xyz, const std::vector<float>& scalars,
                                   const QString& fieldName) {
  d->xyz = xyz;
  d->scalars = scalars;
  d->rgb.clear();
  d->field = fieldName.toStdString();
  d->autoRange();
  d->pipeline.setData(xyz, scalars, d->field, d->range);
  if (!d->cameraSet && !xyz.empty()) {
    resetCamera();
    d->cameraSet = true;
  }
  update();
}

void PointCloudView::setPointCloudRgb(const std::vector<float>& xyz, const std::vector<float>& rgb,
                                      const QString& name) {
  d->xyz = xyz;
  d->scalars.clear();
  d->rgb = rgb;
  d->field = name.toStdString();
  d->pipeline.setRgbData(xyz, rgb);
  if (!d->cameraSet && !xyz.empty()) {
    resetCamera();
    d->cameraSet = true;
  }
  update();
}

void PointCloudView::setOverlay(const SceneOverlay& overlay) {
  d->overlay = overlay;
  d->autoRange();
  d->pipeline.setOverlay(d->overlay, d->range);
  if (d->scalars.empty()) d->pipeline.setRange(d->range);
  update();
}

const SceneOverlay& PointCloudView::overlay() const { return d->overlay; }

void PointCloudView::setPointColor(const QColor& c) {
  d->pointColor[0] = c.redF();
  d->pointColor[1] = c.greenF();
  d->pointColor[2] = c.blueF();
  d->pipeline.setPointColor(d->pointColor);
  update();
}

void PointCloudView::setFixedRange(double lo, double hi) {
  d->fixedRange = true;
  d->range[0] = lo;
  d->range[1] = hi > lo ? hi : lo + 1e-6;
  d->pipeline.setRange(d->range);
  update();
}

void PointCloudView::clearFixedRange() { d->fixedRange = false; }

std::pair<double, double> PointCloudView::scalarRange() const { return {d->range[0], d->range[1]}; }

std::size_t PointCloudView::pointCount() const {
  return static_cast<std::size_t>(d->pipeline.poly->GetNumberOfPoints());
}

void PointCloudView::setBackground(const QColor& c) {
  d->background = c;
  d->renderer->SetBackground(c.redF(), c.greenF(), c.blueF());
  const double bg[3] = {c.redF(), c.greenF(), c.blueF()};
  d->pipeline.matchTextTo(bg);
  update();
}

QColor PointCloudView::background() const { return d->background; }

void PointCloudView::setPointSize(double px) {
  d->pipeline.setPointSize(std::clamp(px, 1.0, 20.0));
  update();
}

double PointCloudView::pointSize() const { return d->pipeline.pointSize(); }

void PointCloudView::setCameraPreset(CameraPreset preset) {
  d->preset = preset;
  resetCamera();
}

void PointCloudView::resetCamera() {
  // Frames the points, or the overlay when no points are shown (segments are point pairs).
  const auto& o = d->overlay;
  setCamera(presetCamera(d->preset, !d->xyz.empty()  ? d->xyz
                                    : !o.xyz.empty() ? o.xyz
                                                     : o.segments));
}

SceneCamera PointCloudView::camera() const { return readCamera(d->renderer->GetActiveCamera()); }

void PointCloudView::setCamera(const SceneCamera& c) {
  applyCamera(c, d->renderer->GetActiveCamera());
  d->renderer->ResetCameraClippingRange();
  update();
}

void PointCloudView::orbit(double az, double el) {
  vtkCamera* cam = d->renderer->GetActiveCamera();
  cam->Azimuth(az);
  cam->Elevation(el);
  cam->OrthogonalizeViewUp();
  d->renderer->ResetCameraClippingRange();
  update();
}

Scene PointCloudView::scene() const {
  Scene s;
  s.xyz = d->xyz;
  s.scalars = d->scalars;
  s.rgb = d->rgb;
  s.overlay = d->overlay;
  std::copy(d->pointColor, d->pointColor + 3, s.pointColor);
  s.field = d->field;
  s.fixedRange = true;  // exactly the range on screen
  s.range[0] = d->range[0];
  s.range[1] = d->range[1];
  s.pointSize = d->pipeline.pointSize();
  s.background[0] = d->background.redF();
  s.background[1] = d->background.greenF();
  s.background[2] = d->background.blueF();
  return s;
}

bool PointCloudView::exportImage(const QString& file, double scale, bool transparent,
                                 QString& error) {
  const double factor = scale * devicePixelRatioF();
  const int w = static_cast<int>(std::lround(width() * factor));
  const int h = static_cast<int>(std::lround(height() * factor));
  std::string err;
  if (!renderScene(scene(), camera(), w, h, transparent, factor, file.toStdString(), err)) {
    error = QString::fromStdString(err);
    return false;
  }
  return true;
}

namespace {
void setEventPosition(vtkGenericRenderWindowInteractor* iren, QWidget* w, const QPointF& p,
                      Qt::KeyboardModifiers mods) {
  const qreal dpr = w->devicePixelRatioF();
  iren->SetEventInformationFlipY(static_cast<int>(p.x() * dpr), static_cast<int>(p.y() * dpr),
                                 (mods & Qt::ControlModifier) ? 1 : 0,
                                 (mods & Qt::ShiftModifier) ? 1 : 0);
}
}  // namespace

namespace {
// The VTK event for a Qt mouse button going down or up; NoEvent for other buttons.
unsigned long buttonEvent(Qt::MouseButton button, bool press) {
  switch (button) {
    case Qt::LeftButton:
      return press ? vtkCommand::LeftButtonPressEvent : vtkCommand::LeftButtonReleaseEvent;
    case Qt::MiddleButton:
      return press ? vtkCommand::MiddleButtonPressEvent : vtkCommand::MiddleButtonReleaseEvent;
    case Qt::RightButton:
      return press ? vtkCommand::RightButtonPressEvent : vtkCommand::RightButtonReleaseEvent;
    default:
      return vtkCommand::NoEvent;
  }
}
}  // namespace

void PointCloudView::setInteracting(bool on) {
  d->pipeline.setInteractive(on);
  update();
}

std::size_t PointCloudView::drawnPointCount() const {
  return static_cast<std::size_t>(d->pipeline.drawnPoints());
}

void PointCloudView::mousePressEvent(QMouseEvent* e) {
  d->pressAt = e->position();
  setInteracting(true);
  setEventPosition(d->interactor, this, e->position(), e->modifiers());
  if (auto ev = buttonEvent(e->button(), true); ev != vtkCommand::NoEvent)
    d->interactor->InvokeEvent(ev);
}

void PointCloudView::mouseReleaseEvent(QMouseEvent* e) {
  setEventPosition(d->interactor, this, e->position(), e->modifiers());
  if (auto ev = buttonEvent(e->button(), false); ev != vtkCommand::NoEvent)
    d->interactor->InvokeEvent(ev);
  if (e->buttons() == Qt::NoButton) setInteracting(false);
  // A left click that did not drag picks the point under the mouse.
  if (e->button() == Qt::LeftButton && (e->position() - d->pressAt).manhattanLength() < 4) {
    const int i = pickPoint(e->position());
    if (i >= 0) Q_EMIT pointPicked(i);
  }
}

namespace {
// Screen positions as the GPU computes them: the camera's composite projection matrix, then
// the viewport (device pixels, y down as in Qt).
struct Projector {
  double e[4][4];
  double w, h;
  Projector(vtkRenderer* renderer, double width, double height) : w(width), h(height) {
    vtkMatrix4x4* m =
        renderer->GetActiveCamera()->GetCompositeProjectionTransformMatrix(w / h, -1, 1);
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) e[r][c] = m->GetElement(r, c);
  }
  // False when the point is behind the camera or outside the depth range.
  bool project(const float* p, double& sx, double& sy, double& depth) const {
    const double x = p[0], y = p[1], z = p[2];
    const double cw = e[3][0] * x + e[3][1] * y + e[3][2] * z + e[3][3];
    if (!(cw > 0)) return false;
    depth = (e[2][0] * x + e[2][1] * y + e[2][2] * z + e[2][3]) / cw;
    if (depth < -1 || depth > 1) return false;
    sx = ((e[0][0] * x + e[0][1] * y + e[0][2] * z + e[0][3]) / cw + 1) * 0.5 * w;
    sy = (1 - ((e[1][0] * x + e[1][1] * y + e[1][2] * z + e[1][3]) / cw + 1) * 0.5) * h;
    return true;
  }
};
}  // namespace

int PointCloudView::pickPoint(const QPointF& pos, double radius) const {
  // The nearest projected point within `radius` pixels, the one nearer the camera on a tie.
  const qreal dpr = devicePixelRatioF();
  if (d->xyz.empty() || width() < 1 || height() < 1) return -1;
  const Projector proj(d->renderer, width() * dpr, height() * dpr);
  const double px = pos.x() * dpr, py = pos.y() * dpr, r2 = radius * radius * dpr * dpr;
  int best = -1;
  double bestD = r2, bestZ = 2;
  const std::size_t n = d->xyz.size() / 3;
  for (std::size_t i = 0; i < n; ++i) {
    double sx, sy, depth;
    if (!proj.project(&d->xyz[3 * i], sx, sy, depth)) continue;
    const double dd = (sx - px) * (sx - px) + (sy - py) * (sy - py);
    if (dd < bestD - 1e-9 || (dd <= bestD + 1e-9 && best >= 0 && depth < bestZ)) {
      best = static_cast<int>(i);
      bestD = dd;
      bestZ = depth;
    }
  }
  return best;
}

std::optional<QPointF> PointCloudView::projectPoint(int index) const {
  if (index < 0 || static_cast<std::size_t>(index) * 3 + 2 >= d->xyz.size()) return std::nullopt;
  return projectPosition(&d->xyz[3 * static_cast<std::size_t>(index)]);
}

std::optional<QPointF> PointCloudView::projectPosition(const float xyz[3]) const {
  if (width() < 1 || height() < 1) return std::nullopt;
  const qreal dpr = devicePixelRatioF();
  const Projector proj(d->renderer, width() * dpr, height() * dpr);
  double sx, sy, depth;
  if (!proj.project(xyz, sx, sy, depth)) return std::nullopt;
  return QPointF(sx / dpr, sy / dpr);
}

QString PointCloudView::describePoint(int index) const {
  if (index < 0 || static_cast<std::size_t>(index) * 3 + 2 >= d->xyz.size()) return {};
  const float* p = &d->xyz[3 * static_cast<std::size_t>(index)];
  QString text = tr("point %1 at (%2, %3, %4)")
                     .arg(index)
                     .arg(p[0], 0, 'f', 2)
                     .arg(p[1], 0, 'f', 2)
                     .arg(p[2], 0, 'f', 2);
  if (static_cast<std::size_t>(index) < d->scalars.size())
    text += tr(": %1 = %2")
                .arg(QString::fromStdString(d->field))
                .arg(d->scalars[static_cast<std::size_t>(index)], 0, 'g', 4);
  return text;
}

void PointCloudView::mouseMoveEvent(QMouseEvent* e) {
  setEventPosition(d->interactor, this, e->position(), e->modifiers());
  d->interactor->InvokeEvent(vtkCommand::MouseMoveEvent);
}

void PointCloudView::wheelEvent(QWheelEvent* e) {
  setEventPosition(d->interactor, this, e->position(), e->modifiers());
  const int delta = e->angleDelta().y();
  if (delta > 0) d->interactor->InvokeEvent(vtkCommand::MouseWheelForwardEvent);
  if (delta < 0) d->interactor->InvokeEvent(vtkCommand::MouseWheelBackwardEvent);
  e->accept();
}

void PointCloudView::keyPressEvent(QKeyEvent* e) {
  switch (e->key()) {
    case Qt::Key_R:
      resetCamera();
      break;
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      setPointSize(pointSize() + 1);
      break;
    case Qt::Key_Minus:
      setPointSize(pointSize() - 1);
      break;
    default:
      QOpenGLWidget::keyPressEvent(e);
  }
}

}  // namespace pretext::widgets
