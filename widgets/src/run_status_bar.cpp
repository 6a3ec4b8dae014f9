#include "pretext/widgets/run_status_bar.h"

#include "pretext/widgets/elided_label.h"

#include <QLabel>
#include <QProgressBar>
#include <QStatusBar>
#include <QToolButton>

namespace pretext::widgets {

QString formatEta(double s) {
  if (s < 0) return "?";
  long t = static_cast<long>(s + 0.5);
  return t >= 3600 ? QString("%1:%2:%3")
                         .arg(t / 3600)
                         .arg((t / 60) % 60, 2, 10, QChar('0'))
                         .arg(t % 60, 2, 10, QChar('0'))
                   : QString("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QChar('0'));
}

RunStatusBar::RunStatusBar(QStatusBar* bar) : QObject(bar) {
  m_phase = new QLabel(tr("idle"));
  m_step = new QLabel();
  m_rate = new QLabel();
  m_dir = new ElidedLabel(QString(), nullptr, Qt::ElideMiddle);  // a long path never widens
  m_dir->setMinimumWidth(120);
  bar->addWidget(m_phase);
  bar->addWidget(m_step);
  bar->addWidget(m_rate);
  bar->addPermanentWidget(m_dir);
  // Reading a long metrics history: progress and a way out (Esc).
  m_loadBar = new QProgressBar();
  m_loadBar->setRange(0, 1000);
  m_loadBar->setMaximumWidth(160);
  m_loadBar->setFormat(tr("metrics %p%"));
  m_loadCancel = new QToolButton();
  m_loadCancel->setText(tr("Cancel"));
  m_loadCancel->setToolTip(
      tr("Stop reading this run's metrics; the plots keep what was read (Esc)"));
  m_loadCancel->setShortcut(QKeySequence(Qt::Key_Escape));
  bar->addPermanentWidget(m_loadBar);
  bar->addPermanentWidget(m_loadCancel);
  hideLoading();
  connect(m_loadCancel, &QToolButton::clicked, this, &RunStatusBar::cancelLoadingRequested);
}

void RunStatusBar::setStatus(const core::RunStatus& s) {
  // Honest about a run that stopped answering, and a rate and ETA only while it runs.
  m_phase->setText(s.stale ? tr("stale") : QString::fromStdString(core::toString(s.phase)));
  m_step->setText(tr("step %1 / %2").arg(s.step).arg(s.maxSteps));
  const bool running = s.phase == core::RunPhase::Running && !s.stale;
  m_rate->setText(
      running && s.stepsPerSec > 0
          ? tr("%1 steps/s · ETA %2").arg(s.stepsPerSec, 0, 'f', 2).arg(formatEta(s.etaSec))
          : QString());
  m_phase->setToolTip(
      s.stale ? tr("The run says %1, but the process writing it is gone (a crash or a kill). "
                   "Resume it from its last checkpoint in the Runs panel.")
                    .arg(QString::fromStdString(core::toString(s.phase)))
              : QString::fromStdString(s.error));
}

void RunStatusBar::setRunDir(const QString& dir) { m_dir->setText(dir); }

void RunStatusBar::setPhaseText(const QString& text) { m_phase->setText(text); }

void RunStatusBar::setLoadProgress(qint64 read, qint64 total) {
  const bool done = read >= total;
  m_loadBar->setValue(total > 0 ? static_cast<int>(1000 * read / total) : 1000);
  m_loadBar->setVisible(!done);
  m_loadCancel->setVisible(!done);
}

void RunStatusBar::hideLoading() {
  m_loadBar->hide();
  m_loadCancel->hide();
}

bool RunStatusBar::loading() const { return m_loadCancel->isVisible(); }

int RunStatusBar::loadPermille() const { return m_loadBar->value(); }

}  // namespace pretext::widgets
