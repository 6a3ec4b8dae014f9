#include "pretext/widgets/flow_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QSlider>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QToolButton>
#include <QVBoxLayout>
#include <cmath>
#include <limits>

#include "pretext/data/datasets.h"
#include "pretext/widgets/point_cloud_view.h"

using namespace pretext::render;

namespace pretext::widgets {

namespace {

const QString kLoadLane = QStringLiteral("flow pair");

// A new pair larger than this many vectors starts with a stride that keeps it below.
constexpr std::size_t kDefaultMaxVectors = 20000;
const QColor kFirstColour(150, 160, 175);

double length3(const float* v) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }

// Appends segment a -> b with `value`, and with `arrow` two head strokes at b, 25 degrees
// off the shaft, a quarter of its length (at most 0.6 m), in the plane of the shaft and
// the vertical (the horizontal axis when the shaft is vertical).
void addVector(const float a[3], const float b[3], float value, bool arrow, SceneOverlay& o) {
  o.segments.insert(o.segments.end(), {a[0], a[1], a[2], b[0], b[1], b[2]});
  o.segmentScalars.push_back(value);
  const float d[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
  const double len = length3(d);
  if (!arrow || !(len > 1e-6)) return;
  const double u[3] = {d[0] / len, d[1] / len, d[2] / len};
  // w: perpendicular to u in the horizontal plane (u x z), or u x x for vertical shafts.
  double w[3] = {u[1], -u[0], 0};
  if (std::hypot(w[0], w[1]) < 1e-3) w[0] = 0, w[1] = u[2], w[2] = -u[1];
  const double wn = std::sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
  const double head = std::min(0.25 * len, 0.6);
  const double c = std::cos(25.0 * M_PI / 180), s = std::sin(25.0 * M_PI / 180);
  for (double sign : {1.0, -1.0}) {
    float tip[3];
    for (int k = 0; k < 3; ++k)
      tip[k] = static_cast<float>(b[k] - head * (c * u[k] + sign * s * w[k] / wn));
    o.segments.insert(o.segments.end(), {b[0], b[1], b[2], tip[0], tip[1], tip[2]});
    o.segmentScalars.push_back(value);
  }
}

// The 12 edges of a box (7 floats: centre, length, width, height, yaw) as segments with no
// value (NaN: drawn in the colour map's NaN colour, white, and ignored by the range).
void addBox(const float* b, SceneOverlay& o) {
  const double c = std::cos(b[6]), s = std::sin(b[6]);
  float corner[8][3];
  for (int k = 0; k < 8; ++k) {
    const double u = ((k & 1) ? 0.5 : -0.5) * b[3], v = ((k & 2) ? 0.5 : -0.5) * b[4];
    const double w = ((k & 4) ? 0.5 : -0.5) * b[5];
    corner[k][0] = static_cast<float>(b[0] + c * u - s * v);
    corner[k][1] = static_cast<float>(b[1] + s * u + c * v);
    corner[k][2] = static_cast<float>(b[2] + w);
  }
  // Edges join corners that differ in one bit.
  for (int k = 0; k < 8; ++k)
    for (int bit : {1, 2, 4})
      if (!(k & bit)) {
        const float* p = corner[k];
        const float* q = corner[k | bit];
        o.segments.insert(o.segments.end(), {p[0], p[1], p[2], q[0], q[1], q[2]});
        o.segmentScalars.push_back(std::numeric_limits<float>::quiet_NaN());
      }
}

}  // namespace

FlowView::FlowView(QWidget* parent) : QWidget(parent) {
  auto checked = [this](const QString& text, const QString& tip) {
    auto* box = new QCheckBox(text, this);
    box->setChecked(true);
    box->setToolTip(tip);
    return box;
  };
  m_view = new PointCloudView(this);
  m_view->setPointColor(kFirstColour);
  m_view->setCameraPreset(CameraPreset::BirdsEye);

  m_vectorsBox = new QComboBox(this);
  m_vectorsBox->addItem(tr("Ground truth"), int(Vectors::Truth));
  m_vectorsBox->addItem(tr("Predicted"), int(Vectors::Predicted));
  m_vectorsBox->addItem(tr("Residual"), int(Vectors::Residual));
  m_vectorsBox->setToolTip(
      tr("Which flow to draw: ground truth (p to p + flow), the run's prediction by feature "
         "matching, or the residual (from where the point truly goes to where the "
         "prediction puts it)"));
  m_colourBox = new QComboBox(this);
  m_colourBox->addItem(tr("Magnitude"), int(Colouring::Magnitude));
  m_colourBox->addItem(tr("End-point error"), int(Colouring::EndPointError));
  m_colourBox->setToolTip(
      tr("Colour each vector by its length, or by the end-point error |predicted - truth| "
         "of its point (m)"));
  m_arrows = checked(tr("Arrows"), tr("Draw arrow heads (off: plain segments)"));
  m_stride = new QSlider(Qt::Horizontal, this);
  m_stride->setRange(1, 100);
  m_stride->setValue(1);
  m_stride->setMaximumWidth(140);
  m_stride->setToolTip(tr("Subsampling: draw the flow of every n-th point of frame t"));
  m_strideLabel = new QLabel(this);
  m_showFirst = checked(tr("t"), tr("Show frame t (grey)"));
  m_showSecond = checked(tr("t+1"), tr("Show frame t+1 (orange)"));
  m_boxes =
      checked(tr("boxes"), tr("Labelled objects of frame t as white boxes (simulated pairs)"));
  m_follow = checked(tr("Follow run"), tr("Show the probe pair of the run's newest snapshot"));
  m_pairIndex = new QSpinBox(this);
  m_pairIndex->setRange(0, 1000000);
  m_pairIndex->setPrefix(tr("pair "));
  m_pairIndex->setToolTip(tr("Which pair of a sequence or folder to open"));
  QToolButton* open = buildOpenButton();
  m_caption = new QLabel(this);
  m_caption->setWordWrap(true);

  m_stride->setMinimumWidth(80);
  // What is drawn on the first row, what is shown and where it comes from on the second.
  auto* row = new QHBoxLayout();
  row->setContentsMargins(0, 0, 0, 0);
  for (QWidget* w : std::initializer_list<QWidget*>{m_vectorsBox, m_colourBox, m_arrows, m_stride,
                                                    m_strideLabel})
    row->addWidget(w);
  row->addStretch(1);
  auto* row2 = new QHBoxLayout();
  row2->setContentsMargins(0, 0, 0, 0);
  for (QWidget* w : std::initializer_list<QWidget*>{m_showFirst, m_showSecond, m_boxes, m_follow,
                                                    m_pairIndex, open})
    row2->addWidget(w);
  row2->addStretch(1);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(2, 2, 2, 2);
  lay->addLayout(row);
  lay->addLayout(row2);
  lay->addWidget(m_view, 1);
  lay->addWidget(m_caption);

  connectControls();
  rebuild();
}

// The Open button: a simulated pair, a scene-flow .npz file, or a folder.
QToolButton* FlowView::buildOpenButton() {
  auto* open = new QToolButton(this);
  open->setText(tr("Open"));
  open->setToolTip(
      tr("Show a pair from the simulator, a .npz flow file or folder, or a KITTI "
         "odometry folder"));
  open->setPopupMode(QToolButton::InstantPopup);
  auto* menu = new QMenu(open);
  menu->addAction(tr("Simulated pair"), this,
                  [this] { openPair(QStringLiteral("simulated"), m_pairIndex->value()); });
  menu->addAction(tr("Scene-flow .npz file…"), this, [this] { chooseFile(false); });
  menu->addAction(tr("Folder (KITTI odometry or .npz pairs)…"), this, [this] { chooseFile(true); });
  open->setMenu(menu);
  return open;
}

void FlowView::connectControls() {
  for (QComboBox* box : {m_vectorsBox, m_colourBox})
    connect(box, &QComboBox::currentIndexChanged, this, &FlowView::rebuild);
  for (QCheckBox* box : {m_arrows, m_showFirst, m_showSecond, m_boxes})
    connect(box, &QCheckBox::toggled, this, &FlowView::rebuild);
  // Scrubbing: another pair number re-reads the sequence last opened.
  connect(m_pairIndex, qOverload<int>(&QSpinBox::valueChanged), this, [this](int i) {
    if (!m_openedPath.isEmpty() && !followsRun()) openPair(m_openedPath, i);
  });
  connect(m_stride, &QSlider::valueChanged, this, [this] {
    m_userStride = true;  // programmatic changes block the signal
    rebuild();
  });
  // The load job reports its errors in its result (openPair's future); this catches the
  // rest (anything not a std::exception).
  connect(&m_jobs, &session::JobRunner::failed, this,
          [this](const QString&, const QString& error) { showLoadError(error); });
}

bool FlowView::followsRun() const { return m_follow->isChecked(); }

void FlowView::offerRunSample(core::FlowSamplePtr sample) {
  if (followsRun() && sample) setSample(std::move(sample));
}

void FlowView::setSample(core::FlowSamplePtr sample) {
  m_sample = std::move(sample);
  const bool predicted = m_sample && !m_sample->predicted.empty();
  // Without a prediction only ground truth by magnitude makes sense.
  for (auto [box, rows] : {std::pair{m_vectorsBox, std::vector<int>{1, 2}},
                           std::pair{m_colourBox, std::vector<int>{1}}}) {
    auto* model = qobject_cast<QStandardItemModel*>(box->model());
    for (int r : rows) model->item(r)->setEnabled(predicted);
    if (!predicted) {
      QSignalBlocker block(box);
      box->setCurrentIndex(0);
    }
  }
  if (m_sample) {
    const std::size_t n = m_sample->size();
    const int minStride = static_cast<int>((n + kDefaultMaxVectors - 1) / kDefaultMaxVectors);
    // Our own choice follows the pair (a small pair is drawn whole again); the user's
    // is kept unless it would draw too many.
    if (!m_userStride || m_stride->value() < minStride) {
      QSignalBlocker block(m_stride);
      m_stride->setValue(std::clamp(minStride, 1, m_stride->maximum()));
    }
  }
  rebuild();
  if (m_sample && !m_cameraFramed) {
    m_view->resetCamera();
    m_cameraFramed = true;
  }
}

void FlowView::setVectors(Vectors v) {
  m_vectorsBox->setCurrentIndex(m_vectorsBox->findData(int(v)));
}
FlowView::Vectors FlowView::vectors() const {
  return static_cast<Vectors>(m_vectorsBox->currentData().toInt());
}
void FlowView::setColouring(Colouring c) {
  m_colourBox->setCurrentIndex(m_colourBox->findData(int(c)));
}
FlowView::Colouring FlowView::colouring() const {
  return static_cast<Colouring>(m_colourBox->currentData().toInt());
}
void FlowView::setStride(int n) { m_stride->setValue(n); }
int FlowView::stride() const { return m_stride->value(); }
void FlowView::setArrows(bool on) { m_arrows->setChecked(on); }
void FlowView::setBoxesVisible(bool on) { m_boxes->setChecked(on); }

void FlowView::setFramesVisible(bool first, bool second) {
  m_showFirst->setChecked(first);
  m_showSecond->setChecked(second);
}

double FlowView::meanEndPointError() const {
  if (!m_sample || m_sample->predicted.empty() || m_sample->size() == 0)
    return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  const std::size_t n = m_sample->size();
  for (std::size_t i = 0; i < n; ++i) {
    float e[3];
    for (int k = 0; k < 3; ++k) e[k] = m_sample->predicted[3 * i + k] - m_sample->truth[3 * i + k];
    sum += length3(e);
  }
  return sum / static_cast<double>(n);
}

void FlowView::rebuild() {
  m_strideLabel->setText(tr("1/%1").arg(m_stride->value()));
  SceneOverlay o;
  m_vectorCount = 0;
  m_boxCount = 0;
  if (!m_sample) {
    m_view->setPointCloud({}, {}, QString());
    m_view->setOverlay(o);
    updateCaption();
    return;
  }
  const auto& f = *m_sample;
  const bool hasPred = f.predicted.size() == f.first.size();
  const Vectors mode = hasPred ? vectors() : Vectors::Truth;
  const Colouring colour = hasPred ? colouring() : Colouring::Magnitude;
  const bool arrows = m_arrows->isChecked();
  const auto step = static_cast<std::size_t>(std::max(1, m_stride->value()));
  const std::size_t n = std::min(f.size(), f.truth.size() / 3);
  o.segments.reserve(6 * (n / step + 1) * (arrows ? 3 : 1));
  for (std::size_t i = 0; i < n; i += step) {
    const float* p = &f.first[3 * i];
    const float* t = &f.truth[3 * i];
    const float* q = hasPred ? &f.predicted[3 * i] : t;
    float a[3], b[3], e[3];
    for (int k = 0; k < 3; ++k) {
      a[k] = mode == Vectors::Residual ? p[k] + t[k] : p[k];
      b[k] = p[k] + (mode == Vectors::Truth ? t[k] : q[k]);
      e[k] = q[k] - t[k];
    }
    float d[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    const auto value = static_cast<float>(colour == Colouring::Magnitude ? length3(d) : length3(e));
    if (!std::isfinite(value) || !std::isfinite(a[0] + a[1] + a[2] + b[0] + b[1] + b[2])) continue;
    addVector(a, b, value, arrows, o);
    ++m_vectorCount;
  }
  m_boxCount = 0;
  if (m_boxes->isChecked())
    for (std::size_t b = 0; b + 7 <= f.boxes.size(); b += 7, ++m_boxCount) addBox(&f.boxes[b], o);
  if (m_showSecond->isChecked()) o.xyz = f.second;
  const QString field = colour == Colouring::Magnitude ? tr("flow |v| (m)") : tr("EPE (m)");
  m_view->setPointCloud(m_showFirst->isChecked() ? f.first : std::vector<float>{}, {}, field);
  m_view->setOverlay(o);
  updateCaption();
}

void FlowView::updateCaption() {
  if (!m_sample) {
    m_caption->setText(
        tr("No flow pair: runs with a temporal branch show their probe pair "
           "here, or open one (simulated, .npz, KITTI odometry)."));
    return;
  }
  const auto& f = *m_sample;
  QString text = tr("%1 · %2 flow · %3 → %4 points · %5 vectors")
                     .arg(QString::fromStdString(f.source), QString::fromStdString(f.kind))
                     .arg(f.size())
                     .arg(f.second.size() / 3)
                     .arg(m_vectorCount);
  const double epe = meanEndPointError();
  if (std::isfinite(epe)) text += tr(" · mean EPE %1 m").arg(epe, 0, 'f', 3);
  if (m_boxCount) text += tr(" · %1 boxes").arg(m_boxCount);
  m_caption->setText(text);
}

QString FlowView::caption() const { return m_caption->text(); }

void FlowView::chooseFile(bool folder) {
  const QString path =
      folder ? QFileDialog::getExistingDirectory(this, tr("KITTI odometry or .npz folder"))
             : QFileDialog::getOpenFileName(this, tr("Scene-flow pair"), QString(),
                                            tr("Scene-flow pairs (*.npz)"));
  if (!path.isEmpty()) openPair(path, m_pairIndex->value());
}

QFuture<QString> FlowView::openPair(const QString& path, int index) {
  m_follow->setChecked(false);
  m_openedPath = path;
  if (m_pairIndex->value() != index) {
    const QSignalBlocker block(m_pairIndex);
    m_pairIndex->setValue(index);
  }
  m_caption->setText(tr("Reading %1 (pair %2)…").arg(path).arg(index));
  auto loaded = std::make_shared<core::FlowSamplePtr>();
  // The error is the job's result rather than thrown, so that the future carries it too.
  return m_jobs.run(
      kLoadLane,
      [path, index, loaded](const session::CancelToken&) -> QString {
        try {
          *loaded = std::make_shared<core::FlowSample>(
              core::loadFlowPair(path.toStdString(), static_cast<std::size_t>(std::max(0, index))));
          return {};
        } catch (const std::exception& e) {
          return QString::fromStdString(e.what());
        }
      },
      [this, loaded](const QString& error) {
        if (!error.isEmpty()) {
          showLoadError(error);
          return;
        }
        m_cameraFramed = false;
        setSample(*loaded);
        Q_EMIT message(0, tr("flow pair: %1").arg(caption()));
      });
}

void FlowView::showLoadError(const QString& error) {
  updateCaption();
  m_caption->setText(tr("Could not open: %1").arg(error) + "\n" + m_caption->text());
  Q_EMIT message(2, error);
}

}  // namespace pretext::widgets
