#pragma once
// A one-line label that never asks for more width than it is given: its text is elided
// ("…") to fit, and the whole text shows as its tooltip when cut. For captions that grow
// with what they describe (a picked point's fields, a run's path, a checkpoint's error
// range), which as plain QLabels widened the main window past the screen. text() and
// setText() are QLabel's: the full text. GUI thread only.
#include <QLabel>

namespace pretext::widgets {

class ElidedLabel : public QLabel {
 public:
  explicit ElidedLabel(const QString& text = {}, QWidget* parent = nullptr,
                       Qt::TextElideMode mode = Qt::ElideRight);
  QSize minimumSizeHint() const override;  // a few characters wide, whatever the text
  QSize sizeHint() const override;         // the text's width, at most ~60 characters
  bool elided() const;                     // the text does not fit the width it has

 protected:
  void paintEvent(QPaintEvent* e) override;
  bool event(QEvent* e) override;

 private:
  Qt::TextElideMode m_mode;
};

}  // namespace pretext::widgets
