#include "pretext/widgets/runs_browser.h"

#include <QDateTime>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrent>

namespace pretext::widgets {

RunsBrowser::RunsBrowser(QWidget* parent) : QWidget(parent) {
  m_tree = new QTreeWidget(this);
  m_tree->setHeaderLabels({tr("Run"), tr("Status"), tr("Step"), tr("Updated")});
  m_tree->setRootIsDecorated(false);
  m_tree->header()->setSectionResizeMode(0, QHeaderView::Stretch);
  m_tree->setContextMenuPolicy(Qt::CustomContextMenu);
  m_tree->setToolTip(tr("Double-click a run to open it; right-click to resume it"));
  m_rootLabel = new QLabel(this);
  m_rootLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(4, 4, 4, 4);
  lay->addWidget(m_rootLabel);
  lay->addWidget(m_tree, 1);
  connect(m_tree, &QTreeWidget::itemDoubleClicked, this,
          [this](QTreeWidgetItem* it) { Q_EMIT openRun(it->data(0, Qt::UserRole).toString()); });
  connect(m_tree, &QTreeWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
    auto* it = m_tree->itemAt(pos);
    if (!it) return;
    const QString dir = it->data(0, Qt::UserRole).toString();
    QMenu menu;
    menu.addAction(tr("Open"), this, [this, dir] { Q_EMIT openRun(dir); });
    menu.addAction(tr("Resume training"), this, [this, dir] { Q_EMIT resumeRun(dir); });
    menu.exec(m_tree->viewport()->mapToGlobal(pos));
  });
  connect(&m_future, &QFutureWatcher<std::vector<core::RunSummary>>::finished, this,
          [this] { show(m_future.result()); });
  m_timer.setInterval(3000);
  connect(&m_timer, &QTimer::timeout, this, &RunsBrowser::refresh);
  m_timer.start();
}

void RunsBrowser::setRunsRoot(const QString& root) {
  m_root = root;
  m_rootLabel->setText(tr("Runs in %1").arg(root));
  refresh();
}

void RunsBrowser::refresh() {
  if (m_root.isEmpty() || m_future.isRunning()) return;
  const std::string root = m_root.toStdString();
  m_future.setFuture(QtConcurrent::run([root] { return core::listRuns(root); }));
}

int RunsBrowser::runCount() const { return m_tree->topLevelItemCount(); }

void RunsBrowser::show(const std::vector<core::RunSummary>& runs) {
  m_tree->clear();
  for (const auto& r : runs) {
    auto* it = new QTreeWidgetItem(m_tree);
    it->setText(0, QString::fromStdString(r.id));
    it->setData(0, Qt::UserRole, QString::fromStdString(r.dir));
    it->setText(1, QString::fromStdString(r.displayPhase()));
    it->setText(2, QString("%1 / %2").arg(r.status.step).arg(r.status.maxSteps));
    it->setText(3, QDateTime::fromSecsSinceEpoch(static_cast<qint64>(r.status.updatedAt))
                       .toString("yyyy-MM-dd hh:mm:ss"));
    QString tip = QString::fromStdString(r.dir);
    if (!r.status.error.empty()) tip += "\n" + QString::fromStdString(r.status.error);
    if (r.stale)
      tip += "\n" + tr("Its process is gone (crash or kill); resume it from the last checkpoint.");
    for (int c = 0; c < 4; ++c) it->setToolTip(c, tip);
    if (r.stale || r.status.phase == core::RunPhase::Failed)
      it->setForeground(1, QColor(176, 0, 32));
  }
  Q_EMIT refreshed();
}

}  // namespace pretext::widgets
