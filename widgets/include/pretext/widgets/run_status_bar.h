#pragma once
// The window's status bar: the run's phase, step, speed and folder, and while a long
// metrics history is read its progress with a Cancel button (Esc). GUI thread only.
#include <QObject>
#include <QString>

#include "pretext/runs/run_types.h"

class QLabel;
class QProgressBar;
class QStatusBar;
class QToolButton;

namespace pretext::widgets {

class ElidedLabel;

// "m:ss" or "h:mm:ss"; "?" when unknown (negative).
QString formatEta(double seconds);

class RunStatusBar : public QObject {
  Q_OBJECT
 public:
  explicit RunStatusBar(QStatusBar* bar);
  void setStatus(const core::RunStatus& status);
  void setRunDir(const QString& dir);
  void setPhaseText(const QString& text);  // e.g. "stopping…"
  // Bytes of the history read so far; hidden once read == total.
  void setLoadProgress(qint64 read, qint64 total);
  void hideLoading();
  bool loading() const;
  int loadPermille() const;

 Q_SIGNALS:
  void cancelLoadingRequested();

 private:
  QLabel* m_phase = nullptr;
  QLabel* m_step = nullptr;
  QLabel* m_rate = nullptr;
  ElidedLabel* m_dir = nullptr;
  QProgressBar* m_loadBar = nullptr;
  QToolButton* m_loadCancel = nullptr;
};

}  // namespace pretext::widgets
