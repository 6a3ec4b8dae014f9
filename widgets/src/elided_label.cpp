#include "pretext/widgets/elided_label.h"

#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>
#include <algorithm>

namespace pretext::widgets {

ElidedLabel::ElidedLabel(const QString& text, QWidget* parent, Qt::TextElideMode mode)
    : QLabel(text, parent), m_mode(mode) {
  // Preferred: it asks for its text (at most ~60 characters) and shrinks to a few.
  setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
  setTextFormat(Qt::PlainText);
}

QSize ElidedLabel::minimumSizeHint() const {
  return {fontMetrics().averageCharWidth() * 6, QLabel::minimumSizeHint().height()};
}

QSize ElidedLabel::sizeHint() const {
  QSize s = QLabel::sizeHint();
  s.setWidth(std::min(s.width(), fontMetrics().averageCharWidth() * 60));
  return s;
}

bool ElidedLabel::elided() const {
  return fontMetrics().horizontalAdvance(text()) > contentsRect().width();
}

void ElidedLabel::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QRect r = contentsRect();
  p.drawText(r, static_cast<int>(alignment()) | Qt::TextSingleLine,
             fontMetrics().elidedText(text(), m_mode, r.width()));
}

bool ElidedLabel::event(QEvent* e) {
  // The whole text as the tooltip when it is cut (unless a tooltip of its own is set).
  if (e->type() == QEvent::ToolTip && toolTip().isEmpty()) {
    if (elided())
      QToolTip::showText(static_cast<QHelpEvent*>(e)->globalPos(), text(), this);
    else
      QToolTip::hideText();
    return true;
  }
  return QLabel::event(e);
}

}  // namespace pretext::widgets
