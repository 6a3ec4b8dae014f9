#include "pretext/widgets/attention_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QSlider>
#include <QSpinBox>
#include <QToolTip>
#include <algorithm>
#include <cmath>

#include "pretext/render/colormap.h"

using namespace pretext::render;

namespace pretext::widgets {

namespace {
QColor colorOf(double v) {
  double rgb[3];
  viridis(v, rgb);
  return QColor::fromRgbF(static_cast<float>(rgb[0]), static_cast<float>(rgb[1]),
                          static_cast<float>(rgb[2]));
}
constexpr double kGap = 6;     // px between panels
constexpr double kTitle = 16;  // px of title text above each region
}  // namespace

AttentionView::AttentionView(QWidget* parent)
    : QWidget(parent),
      m_slider(new QSlider(Qt::Horizontal, this)),
      m_layer(new QSpinBox(this)),
      m_caption(new QLabel(tr("no attention snapshot yet"), this)) {
  setMouseTracking(true);
  setMinimumSize(320, 240);
  setObjectName("attention_view");
  m_slider->setRange(0, 0);
  m_slider->setToolTip(
      tr("Scrub through the attention snapshots of the run (alpha_1 over "
         "training)"));
  m_layer->setRange(0, 0);
  m_layer->setPrefix(tr("layer "));
  m_layer->setToolTip(tr("Layer whose per-head attention patterns are shown"));
  auto* bar = new QHBoxLayout();
  bar->setContentsMargins(4, 2, 4, 2);
  bar->addWidget(new QLabel(tr("Snapshot:"), this));
  bar->addWidget(m_slider, 1);
  bar->addWidget(m_caption);
  bar->addWidget(m_layer);
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  outer->addLayout(bar);
  outer->addStretch(1);
  connect(m_slider, &QSlider::valueChanged, this, [this](int v) {
    m_follow = v == m_slider->maximum();
    syncControls();
    update();
    Q_EMIT currentChanged(v);
  });
  connect(m_layer, qOverload<int>(&QSpinBox::valueChanged), this, [this] { update(); });
}

void AttentionView::addSnapshot(const core::AttentionSnapshotPtr& s) {
  if (!s) return;
  auto it = std::lower_bound(m_snaps.begin(), m_snaps.end(), s->step,
                             [](const auto& a, std::int64_t step) { return a->step < step; });
  if (it != m_snaps.end() && (*it)->step == s->step)
    *it = s;
  else
    m_snaps.insert(it, s);
  const bool follow = m_follow;
  {
    QSignalBlocker block(m_slider);
    m_slider->setRange(0, static_cast<int>(m_snaps.size()) - 1);
    if (follow) m_slider->setValue(m_slider->maximum());
  }
  m_follow = follow;
  syncControls();
  update();
}

void AttentionView::clear() {
  m_snaps.clear();
  m_follow = true;
  QSignalBlocker block(m_slider);
  m_slider->setRange(0, 0);
  syncControls();
  update();
}

void AttentionView::setCurrentIndex(int index) { m_slider->setValue(index); }
int AttentionView::currentIndex() const { return m_slider->value(); }
void AttentionView::setLayer(int layer) { m_layer->setValue(layer); }
int AttentionView::layer() const { return m_layer->value(); }

core::AttentionSnapshotPtr AttentionView::current() const {
  const int i = m_slider->value();
  return i >= 0 && i < snapshotCount() ? m_snaps[static_cast<std::size_t>(i)] : nullptr;
}

void AttentionView::syncControls() {
  auto s = current();
  if (!s) {
    m_caption->setText(tr("no attention snapshot yet"));
    return;
  }
  m_layer->setRange(0, std::max(0, s->layers - 1));
  m_caption->setText(
      tr("step %1 (%2 of %3)").arg(s->step).arg(m_slider->value() + 1).arg(snapshotCount()));
}

AttentionView::Regions AttentionView::regions() const {
  Regions r;
  auto s = current();
  if (!s) return r;
  const double top = m_slider->geometry().bottom() + 4;
  const QRectF area(kGap, top, width() - 2 * kGap, height() - top - kGap);
  const double upperH = area.height() * 0.68;
  const double alphaW = std::min(area.width() * 0.3, upperH * s->heads / std::max(1, s->layers));
  r.alpha = QRectF(area.left(), area.top() + kTitle, alphaW, upperH - kTitle);
  r.patterns = QRectF(r.alpha.right() + 3 * kGap, area.top() + kTitle,
                      area.right() - r.alpha.right() - 3 * kGap, upperH - kTitle);
  r.norms = QRectF(area.left(), area.top() + upperH + kTitle + kGap, area.width(),
                   area.height() - upperH - kTitle - kGap - 14);
  r.gridCols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(s->heads))));
  for (float v : s->hiddenNorm) r.maxNorm = std::max(r.maxNorm, static_cast<double>(v));
  return r;
}

QRectF AttentionView::patternRect(const Regions& r, int head) const {
  // Square query rows x (keys / queries as wide) per head, in a grid of gridCols columns.
  auto s = current();
  const int cols = r.gridCols, rows = (s->heads + cols - 1) / cols;
  const double aspect = static_cast<double>(s->keys) / std::max(1, s->queries);
  const double cw = (r.patterns.width() - (cols - 1) * kGap) / cols;
  const double ch = (r.patterns.height() - (rows - 1) * (kGap + 12)) / rows;
  const double side = std::max(1.0, std::min(cw / aspect, ch));
  const int c = head % cols, row = head / cols;
  return QRectF(r.patterns.left() + c * (side * aspect + kGap),
                r.patterns.top() + row * (side + kGap + 12), side * aspect, side);
}

QRectF AttentionView::alphaCellRect(int layer, int head) const {
  auto s = current();
  if (!s || layer < 0 || layer >= s->layers || head < 0 || head >= s->heads) return {};
  const Regions r = regions();
  const double w = r.alpha.width() / s->heads, h = r.alpha.height() / s->layers;
  return QRectF(r.alpha.left() + head * w, r.alpha.top() + layer * h, w, h);
}

QRectF AttentionView::patternCellRect(int head, int query, int key) const {
  auto s = current();
  if (!s || head < 0 || head >= s->heads || query < 0 || query >= s->queries || key < 0 ||
      key >= s->keys)
    return {};
  const QRectF p = patternRect(regions(), head);
  const double w = p.width() / s->keys, h = p.height() / s->queries;
  return QRectF(p.left() + key * w, p.top() + query * h, w, h);
}

QRectF AttentionView::normBarRect(int position) const {
  auto s = current();
  if (!s || position < 0 || position >= static_cast<int>(s->hiddenNorm.size())) return {};
  const Regions r = regions();
  const double w = r.norms.width() / s->hiddenNorm.size();
  const double h = r.norms.height() * s->hiddenNorm[static_cast<std::size_t>(position)] / r.maxNorm;
  return QRectF(r.norms.left() + position * w, r.norms.bottom() - h, std::max(1.0, w - 1), h);
}

QString AttentionView::describeAt(const QPointF& pos) const {
  auto s = current();
  if (!s) return {};
  auto token = [&](int t) {
    return t < 0 ? QStringLiteral("<sink>")
                 : QString::fromStdString(s->tokens[static_cast<std::size_t>(t)]);
  };
  for (int l = 0; l < s->layers; ++l)
    for (int h = 0; h < s->heads; ++h)
      if (alphaCellRect(l, h).contains(pos))
        return tr("layer %1, head %2: alpha_1 = %3")
            .arg(l)
            .arg(h)
            .arg(s->alpha1[static_cast<std::size_t>(l * s->heads + h)], 0, 'f', 3);
  const Regions r = regions();
  const int L = std::clamp(layer(), 0, s->layers - 1);
  for (int h = 0; h < s->heads; ++h) {
    const QRectF p = patternRect(r, h);
    if (!p.contains(pos)) continue;
    const int k =
        std::clamp(static_cast<int>((pos.x() - p.left()) / p.width() * s->keys), 0, s->keys - 1);
    const int q = std::clamp(static_cast<int>((pos.y() - p.top()) / p.height() * s->queries), 0,
                             s->queries - 1);
    const std::size_t i =
        ((static_cast<std::size_t>(L) * s->heads + h) * s->queries + q) * s->keys + k;
    return tr("layer %1, head %2: query %3 '%4' -> key %5 '%6' = %7")
        .arg(L)
        .arg(h)
        .arg(q)
        .arg(token(q))
        .arg(k)
        .arg(token(s->hasSinkSlot ? k - 1 : k))
        .arg(s->maps[i], 0, 'f', 3);
  }
  for (int t = 0; t < static_cast<int>(s->hiddenNorm.size()); ++t) {
    QRectF bar = normBarRect(t);
    bar.setTop(r.norms.top());
    if (bar.contains(pos))
      return tr("position %1 '%2': |h| = %3").arg(t).arg(token(t)).arg(s->hiddenNorm[t], 0, 'g', 4);
  }
  return {};
}

void AttentionView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  auto s = current();
  if (!s) {
    p.drawText(rect(), Qt::AlignCenter,
               tr("Attention maps appear here at the first snapshot of a language-model run"));
    return;
  }
  const Regions r = regions();
  const int L = std::clamp(layer(), 0, s->layers - 1);
  p.setPen(palette().windowText().color());
  p.drawText(QPointF(r.alpha.left(), r.alpha.top() - 4), tr("alpha_1 (layer x head)"));
  p.drawText(QPointF(r.patterns.left(), r.patterns.top() - 4),
             tr("attention of the probe sequence, layer %1%2")
                 .arg(L)
                 .arg(s->hasSinkSlot ? tr(" (key 0: sink slot)") : QString()));
  p.drawText(QPointF(r.norms.left(), r.norms.top() - 4),
             tr("|h| per position (massive activations)"));
  for (int l = 0; l < s->layers; ++l)
    for (int h = 0; h < s->heads; ++h) {
      const QRectF c = alphaCellRect(l, h);
      const double v = s->alpha1[static_cast<std::size_t>(l * s->heads + h)];
      p.fillRect(c, colorOf(v));
      if (c.width() > 28 && c.height() > 14) {
        p.setPen(v > 0.6 ? Qt::black : Qt::white);
        p.drawText(c, Qt::AlignCenter, QString::number(v, 'f', 2));
      }
    }
  for (int h = 0; h < s->heads; ++h) {
    const QRectF box = patternRect(r, h);
    const double w = box.width() / s->keys, hh = box.height() / s->queries;
    const float* m = s->maps.data() + (static_cast<std::size_t>(L) * s->heads + h) *
                                          static_cast<std::size_t>(s->queries) * s->keys;
    for (int q = 0; q < s->queries; ++q)
      for (int k = 0; k < s->keys; ++k)
        p.fillRect(QRectF(box.left() + k * w, box.top() + q * hh, w + 0.5, hh + 0.5),
                   colorOf(m[static_cast<std::size_t>(q) * s->keys + k]));
    p.setPen(palette().windowText().color());
    p.drawText(QPointF(box.left(), box.bottom() + 11), tr("head %1").arg(h));
  }
  p.setPen(Qt::NoPen);
  for (int t = 0; t < static_cast<int>(s->hiddenNorm.size()); ++t)
    p.fillRect(normBarRect(t), t == 0 ? QColor("#d55e00") : QColor("#0072b2"));
  p.setPen(palette().windowText().color());
  const int n = static_cast<int>(s->hiddenNorm.size());
  const int every =
      std::max(1, static_cast<int>(std::ceil(n * 40.0 / std::max(1.0, r.norms.width()))));
  for (int t = 0; t < n; t += every) {
    const QRectF b = normBarRect(t);
    p.drawText(QPointF(b.left(), r.norms.bottom() + 12), QString::fromStdString(s->tokens[t]));
  }
}

void AttentionView::mouseMoveEvent(QMouseEvent* e) {
  const QString text = describeAt(e->position());
  if (text.isEmpty())
    QToolTip::hideText();
  else
    QToolTip::showText(e->globalPosition().toPoint(), text, this);
}

}  // namespace pretext::widgets
