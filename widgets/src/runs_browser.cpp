#include "pretext/widgets/runs_browser.h"

#include <QDateTime>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <map>
#include <stdexcept>

#include "pretext/runs/config.h"

namespace pretext::widgets {

namespace {
const QString kListLane = QStringLiteral("list runs"), kDiffLane = QStringLiteral("diff configs");

// Why a config cannot be compared: its first issue, else that it is unreadable.
std::string firstIssue(const std::vector<core::ConfigIssue>& issues, const std::string& file) {
  return issues.empty() ? file + ": cannot read the config" : issues[0].toString();
}

void addCannotCompare(QTreeWidget* tree, const QString& why) {
  auto* it = new QTreeWidgetItem(tree, {RunsBrowser::tr("cannot compare")});
  it->setText(1, why);
  it->setForeground(1, QColor(176, 0, 32));
}
}  // namespace

RunsBrowser::RunsBrowser(QWidget* parent) : QWidget(parent) {
  m_tree = new QTreeWidget(this);
  m_tree->setHeaderLabels({tr("Run"), tr("Status"), tr("Step"), tr("Updated")});
  m_tree->setRootIsDecorated(false);
  m_tree->header()->setSectionResizeMode(0, QHeaderView::Stretch);
  m_tree->setContextMenuPolicy(Qt::CustomContextMenu);
  m_tree->setSelectionMode(QAbstractItemView::ExtendedSelection);
  m_tree->setToolTip(
      tr("Double-click a run to open it; right-click to resume it. Select two runs to diff "
         "their configs, several to compare them in the plots"));
  m_rootLabel = new QLabel(this);
  m_rootLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_compare = new QPushButton(tr("Compare"), this);
  m_compare->setToolTip(tr("Overlay the selected runs in every plot"));
  m_diffButton = new QPushButton(tr("Diff"), this);
  m_diffButton->setToolTip(tr("The config values that differ between the two selected runs"));
  m_diff = new QTreeWidget(this);
  m_diff->setHeaderLabels({tr("Changed value"), tr("From → to")});
  m_diff->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  m_diff->hide();
  auto* buttons = new QHBoxLayout();
  buttons->addWidget(m_compare);
  buttons->addWidget(m_diffButton);
  buttons->addStretch(1);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(m_tree);
  split->addWidget(m_diff);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(4, 4, 4, 4);
  lay->addWidget(m_rootLabel);
  lay->addLayout(buttons);
  lay->addWidget(split, 1);
  connect(m_tree, &QTreeWidget::itemSelectionChanged, this, &RunsBrowser::updateButtons);
  connect(m_compare, &QPushButton::clicked, this, [this] { Q_EMIT compareRuns(selectedRuns()); });
  connect(m_diffButton, &QPushButton::clicked, this, [this] {
    const QStringList runs = selectedRuns();
    if (runs.size() == 2) showDiff(runs[0], runs[1]);
  });
  updateButtons();
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
  // A job that threw: a listing says so next to the root, a diff in its tree.
  connect(&m_jobs, &session::JobRunner::failed, this,
          [this](const QString& lane, const QString& message) {
            if (lane == kListLane) {
              m_rootLabel->setText(tr("Runs in %1 — cannot list them: %2").arg(m_root, message));
              return;
            }
            m_diff->clear();
            addCannotCompare(m_diff, message);
            Q_EMIT diffShown(false);
          });
  m_timer.setInterval(3000);
  connect(&m_timer, &QTimer::timeout, this, &RunsBrowser::refresh);
  m_timer.start();
}

void RunsBrowser::setRunsRoot(const QString& root) {
  m_root = root;
  m_rootLabel->setText(tr("Runs in %1").arg(root));
  m_jobs.cancel(kListLane);  // a listing of the previous root is not wanted
  refresh();
}

void RunsBrowser::refresh() {
  if (m_root.isEmpty() || m_jobs.busy(kListLane)) return;
  const std::string root = m_root.toStdString();
  m_jobs.run(
      kListLane, [root](const session::CancelToken&) { return core::listRuns(root); },
      [this](const std::vector<core::RunSummary>& runs) {
        m_rootLabel->setText(tr("Runs in %1").arg(m_root));  // clears a listing's error
        show(runs);
      });
}

int RunsBrowser::runCount() const { return m_tree->topLevelItemCount(); }

QStringList RunsBrowser::selectedRuns() const {
  QStringList out;  // in list order (newest first), whatever the order of clicks
  for (int i = 0; i < m_tree->topLevelItemCount(); ++i)
    if (m_tree->topLevelItem(i)->isSelected())
      out << m_tree->topLevelItem(i)->data(0, Qt::UserRole).toString();
  return out;
}

void RunsBrowser::selectRuns(const QStringList& dirs) {
  const QSignalBlocker block(m_tree);
  for (int i = 0; i < m_tree->topLevelItemCount(); ++i) {
    auto* it = m_tree->topLevelItem(i);
    it->setSelected(dirs.contains(it->data(0, Qt::UserRole).toString()));
  }
  updateButtons();
}

void RunsBrowser::updateButtons() {
  const auto n = selectedRuns().size();
  m_compare->setEnabled(n >= 2);
  m_diffButton->setEnabled(n == 2);
}

void RunsBrowser::showDiff(const QString& a, const QString& b) {
  m_diff->clear();
  m_diff->show();
  new QTreeWidgetItem(m_diff, {tr("reading the configs…")});
  const std::string fa = a.toStdString() + "/config.yaml", fb = b.toStdString() + "/config.yaml";
  m_jobs.run(
      kDiffLane,
      [fa, fb](const session::CancelToken&) {
        std::vector<core::ConfigIssue> issues;
        auto ca = core::Config::load(fa, {}, issues);
        if (!ca) throw std::runtime_error(firstIssue(issues, fa));  // to failed()
        auto cb = core::Config::load(fb, {}, issues);
        if (!cb) throw std::runtime_error(firstIssue(issues, fb));
        return core::diffConfigs(*ca, *cb);
      },
      [this, a, b](const std::vector<core::ConfigChange>& changes) {
        showChanges(a, b, changes);
        Q_EMIT diffShown(true);
      });
}

void RunsBrowser::showChanges(const QString& a, const QString& b,
                              const std::vector<core::ConfigChange>& changes) {
  m_diff->clear();
  m_diff->setHeaderLabels(
      {tr("%1 → %2").arg(QFileInfo(a).fileName(), QFileInfo(b).fileName()), tr("From → to")});
  if (changes.empty()) new QTreeWidgetItem(m_diff, {tr("the configs are identical")});
  // section > group > key, e.g. augment > rotation > range_deg: 90.0 → 180.0
  std::map<QString, QTreeWidgetItem*> nodes;
  for (const auto& c : changes) {
    const QStringList parts = QString::fromStdString(c.key).split('.');
    QTreeWidgetItem* parent = nullptr;
    QString path;
    for (int i = 0; i + 1 < parts.size(); ++i) {
      path += (i ? "." : "") + parts[i];
      auto& node = nodes[path];
      if (!node) {
        node = parent ? new QTreeWidgetItem(parent, {parts[i]})
                      : new QTreeWidgetItem(m_diff, {parts[i]});
        node->setExpanded(true);
      }
      parent = node;
    }
    auto* leaf = parent ? new QTreeWidgetItem(parent) : new QTreeWidgetItem(m_diff);
    leaf->setText(0, parts.last());
    leaf->setText(1, QString::fromStdString(c.from + " → " + c.to));
    leaf->setToolTip(0, QString::fromStdString(c.key));
    leaf->setData(0, Qt::UserRole, QString::fromStdString(c.key));
  }
  m_diff->expandAll();
}

void RunsBrowser::show(const std::vector<core::RunSummary>& runs) {
  const QStringList selected = selectedRuns();
  const QSignalBlocker block(m_tree);
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
    it->setSelected(selected.contains(QString::fromStdString(r.dir)));
  }
  updateButtons();
  Q_EMIT refreshed();
}

}  // namespace pretext::widgets
