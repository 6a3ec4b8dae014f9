#include "pretext/widgets/run_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QStackedWidget>
#include <QVBoxLayout>

#include "pretext/session/point_fields.h"
#include "pretext/session/run_model.h"
#include "pretext/widgets/attention_view.h"
#include "pretext/widgets/elided_label.h"
#include "pretext/widgets/point_cloud_view.h"
#include "pretext/widgets/welcome_page.h"

namespace pretext::widgets {

RunView::RunView(session::RunModel* model, QWidget* parent) : QWidget(parent), m_model(model) {
  m_fieldBox = new QComboBox(this);
  m_fieldBox->setObjectName("field_box");
  m_fieldBox->setToolTip(tr("Per-point field that colours the cloud"));
  m_fieldBox->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_fieldBox->setMinimumContentsLength(10);  // "equiv_error", "features PCA (RGB)" elided
  m_caption = new ElidedLabel(tr("No run yet"), this);
  auto* resetCam = new QPushButton(tr("Reset camera"), this);
  resetCam->setToolTip(tr("Reset the 3D camera (R in the view)"));
  // Training axis: every point snapshot of the run; follows the newest unless moved back.
  m_slider = new QSlider(Qt::Horizontal, this);
  m_slider->setObjectName("snapshot_slider");
  m_slider->setToolTip(
      tr("Scrub through the run's point snapshots (training progress); at the right end the "
         "view follows the newest"));
  m_slider->setMaximumWidth(220);
  m_slider->hide();
  m_lockScale = new QCheckBox(tr("lock scale"), this);
  m_lockScale->setObjectName("lock_scale");
  m_lockScale->setToolTip(
      tr("Keep the colour bar's range while snapshots change, so colours compare across "
         "training (one absolute scale)"));
  auto* bar = new QHBoxLayout();
  auto* colourBy = new QLabel(tr("Colour by:"), this);
  bar->addWidget(colourBy);
  bar->addWidget(m_fieldBox);
  bar->addWidget(m_slider);
  bar->addWidget(m_lockScale);
  bar->addWidget(m_caption, 1);
  bar->addWidget(resetCam);
  m_view = new PointCloudView(this);
  m_welcome = new WelcomePage(this);
  m_attention = new AttentionView(this);
  m_stack = new QStackedWidget(this);
  m_stack->addWidget(m_welcome);
  m_stack->addWidget(m_view);
  m_stack->addWidget(m_attention);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addLayout(bar);
  layout->addWidget(m_stack, 1);

  m_pointControls = {colourBy, m_fieldBox, m_lockScale, resetCam};
  connect(resetCam, &QPushButton::clicked, m_view, &PointCloudView::resetCamera);
  connect(m_lockScale, &QCheckBox::toggled, this, [this](bool on) {
    if (on) {
      const auto [lo, hi] = m_view->scalarRange();
      m_view->setFixedRange(lo, hi);
    } else {
      m_view->clearFixedRange();
      showField();
    }
  });
  connect(m_slider, &QSlider::valueChanged, m_model, &session::RunModel::showSnapshot);
  connect(m_fieldBox, &QComboBox::currentTextChanged, this, [this] {
    m_lockScale->setChecked(false);  // another field: its own range
    showField();
  });
  // Clicking a point shows every per-point field of the snapshot at that point.
  connect(m_view, &PointCloudView::pointPicked, this, [this](int i) {
    QString text = m_view->describePoint(i);
    const auto snap = m_model->snapshot();
    if (snap && static_cast<std::size_t>(i) < snap->size()) {
      QStringList fields;
      for (const auto& [name, values] : snap->fields)
        fields << QString("%1 %2").arg(QString::fromStdString(name)).arg(values[i], 0, 'g', 4);
      text = tr("point %1 of step %2: %3").arg(i).arg(snap->step).arg(fields.join(", "));
    }
    m_caption->setText(text);
    Q_EMIT pointDescribed(text);
  });
  connect(m_model, &session::RunModel::reset, this, &RunView::onReset);
  connect(m_model, &session::RunModel::snapshotStepsChanged, this, &RunView::updateSlider);
  connect(m_model, &session::RunModel::snapshotShown, this, &RunView::showSnapshot);
  connect(m_model, &session::RunModel::attentionArrived, m_attention, &AttentionView::addSnapshot);
}

void RunView::showRunViews(bool languageModel) {
  m_stack->setCurrentWidget(languageModel ? static_cast<QWidget*>(m_attention) : m_view);
  // The 3D view's controls only where there is a 3D view.
  for (QWidget* w : m_pointControls) w->setVisible(!languageModel);
  if (!languageModel) updateSlider();
}

void RunView::setCaption(const QString& text) { m_caption->setText(text); }

void RunView::onReset() {
  m_attention->clear();
  updateSlider();
}

void RunView::updateSlider() {
  const QSignalBlocker block(m_slider);
  const int n = static_cast<int>(m_model->snapshotSteps().size());
  m_slider->setRange(0, std::max(0, n - 1));
  const int shown = m_model->shownIndex();
  m_slider->setValue(m_model->followingNewest() || shown < 0 ? n - 1 : shown);
  m_slider->setVisible(n > 1 && m_stack->currentWidget() != m_attention);
  updateCaption();  // "(snapshot k of n)" follows the index
}

void RunView::showSnapshot(const core::PointSnapshotPtr& snap) {
  updateSlider();
  const QString current = m_fieldBox->currentText();
  {
    const QSignalBlocker block(m_fieldBox);
    m_fieldBox->clear();
    m_fieldBox->addItems(session::pointFieldNames(*snap));
    m_fieldBox->setCurrentText(current.isEmpty() ? "equiv_error" : current);
  }
  showField();
}

void RunView::showField() {
  const auto snap = m_model->snapshot();
  if (!snap) return;
  const QString name = m_fieldBox->currentText();
  const auto colouring = session::pointColouring(*snap, name);
  if (colouring.rgb)
    m_view->setPointCloudRgb(snap->xyz, colouring.values, name);
  else
    m_view->setPointCloud(snap->xyz, colouring.values, name);
  updateCaption();
}

void RunView::updateCaption() {
  const auto snap = m_model->snapshot();
  if (!snap) return;
  const auto steps = m_model->snapshotSteps().size();
  m_caption->setText(tr("probe scan · %1 points · step %2%3")
                         .arg(snap->size())
                         .arg(snap->step)
                         .arg(steps > 1
                                  ? tr(" (snapshot %1 of %2)").arg(m_slider->value() + 1).arg(steps)
                                  : QString()));
}

}  // namespace pretext::widgets
